"""Seat holds: take seats behind a waiting-room pass, and give them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Response

from ticketing.api.dependencies import Res, ScheduleIdPath, User
from ticketing.api.schemas import HoldIn, HoldOut
from ticketing.domain.errors import TicketingError
from ticketing.domain.ids import ScheduleId
from ticketing.services import holds as use

router = APIRouter(prefix="/api/v1", tags=["holds"])

HoldIdPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]


@router.post("/schedules/{schedule_id}/holds", status_code=201, response_model=HoldOut)
async def hold_seats(
    schedule_id: ScheduleIdPath,
    body: HoldIn,
    res: Res,
    user: User,
    x_queue_pass: Annotated[str | None, Header(max_length=2048)] = None,
) -> HoldOut:
    """All requested seats or none. 409 SEAT_TAKEN names the seats already held or sold."""
    try:
        hold = await use.hold_seats(
            res.catalog,
            res.catalog,
            res.pass_tokens,
            res.seat_locks,
            res.reservations,
            res.clock,
            ScheduleId(schedule_id),
            user.user_id,
            body.seat_nos,
            x_queue_pass,
        )
    except TicketingError as exc:
        res.metrics.holds_total.labels(exc.code.lower()).inc()
        raise
    res.metrics.holds_total.labels("won").inc()
    return HoldOut(
        hold_id=hold.hold_id, schedule_id=hold.schedule_id, seat_nos=list(hold.seat_nos), expires_at=hold.expires_at
    )


@router.delete("/holds/{hold_id}", status_code=204)
async def release_hold(hold_id: HoldIdPath, res: Res, user: User) -> Response:
    """Release my hold (owner only; idempotent once released or expired)."""
    await use.release_hold(res.reservations, res.seat_locks, res.clock, hold_id, user.user_id)
    return Response(status_code=204)
