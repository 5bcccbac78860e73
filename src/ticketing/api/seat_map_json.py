"""The seat map's body, its hottest large answer, without a thousand models per read.

A sellout profile (docs/decisions/0005) put ~9 ms of CPU in each read of a 1,000-seat map,
half of it building one pydantic ``SeatOut`` per seat. Seats never change after creation;
only their statuses do. So each seat's JSON is rendered once, by ``SeatOut`` itself (the
response model stays the one shape), up to the status's opening quote; a read splices the
statuses in. The bytes are exactly what ``SeatMapOut`` would serialise (tested).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence

from ticketing.api.schemas import SeatOut
from ticketing.domain.catalog import SeatSpec
from ticketing.services.catalog import SeatView

CACHED_SCHEDULES = 256
SEAT_TAIL = b'"}'


def _head(seat: SeatSpec) -> bytes:
    """The seat's JSON up to and including its status's opening quote."""
    out = SeatOut(seat_no=seat.seat_no, section=seat.section, row_label=seat.row_label, price=seat.price, status="")
    rendered = out.__pydantic_serializer__.to_json(out)
    assert rendered.endswith(b'"status":""}')
    return rendered[: -len(SEAT_TAIL)]


def _status(status: str) -> bytes:
    return json.dumps(status, ensure_ascii=False)[1:-1].encode()


class SeatMapJson:
    """Per process: the rendered seats of the schedules read lately."""

    def __init__(self, max_schedules: int = CACHED_SCHEDULES) -> None:
        self._max = max_schedules
        self._heads: OrderedDict[int, tuple[tuple[SeatSpec, ...], list[bytes]]] = OrderedDict()
        self._statuses: dict[str, bytes] = {}

    def body(self, schedule_id: int, views: Sequence[SeatView]) -> bytes:
        heads = self._heads_of(schedule_id, views)
        seats = []
        for head, view in zip(heads, views, strict=True):
            status = self._statuses.get(view.status)
            if status is None:
                status = self._statuses.setdefault(view.status, _status(view.status))
            seats.append(head + status + SEAT_TAIL)
        return b'{"schedule_id":%d,"seats":[%b]}' % (schedule_id, b",".join(seats))

    def _heads_of(self, schedule_id: int, views: Sequence[SeatView]) -> list[bytes]:
        cached = self._heads.get(schedule_id)
        if cached is not None:
            seats, heads = cached
            if len(seats) == len(views) and all(a is v.seat for a, v in zip(seats, views, strict=True)):
                self._heads.move_to_end(schedule_id)
                return heads
        heads = [_head(v.seat) for v in views]
        self._heads[schedule_id] = (tuple(v.seat for v in views), heads)
        while len(self._heads) > self._max:
            self._heads.popitem(last=False)
        return heads
