"""Seat holds: take seats behind a waiting-room pass, and give them back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from ticketing.api import rate_limits, requests
from ticketing.api.dependencies import Res, User
from ticketing.api.hot_routes import HotRoutes
from ticketing.api.responses import json_response
from ticketing.api.schemas import HoldIn, HoldOut
from ticketing.domain.errors import TicketingError
from ticketing.domain.ids import ScheduleId
from ticketing.domain.rate_limits import Action
from ticketing.services import holds as use

router = APIRouter(prefix="/api/v1", tags=["holds"])
hot = HotRoutes(router)  # the hold is the stampede endpoint

HoldIdPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]


@hot.route(
    "POST",
    "/schedules/{schedule_id}/holds",
    status_code=201,
    responses={201: {"model": HoldOut, "description": "every requested seat is held"}},
    path_ids=("schedule_id",),
    headers=("X-Queue-Pass", "Idempotency-Key"),
    request_body=HoldIn,
)
async def hold_seats(request: Request) -> Response:
    """All requested seats or none. 409 SEAT_TAKEN names the seats already held or sold.
    With an Idempotency-Key, a retry of the same seats is the same hold (a lost answer is
    safe to ask again); 409 IDEMPOTENCY_KEY_SPENT once that hold is over."""
    res = requests.resources(request)
    user = requests.principal(request)
    schedule_id = ScheduleId(requests.path_id(request, "schedule_id"))
    pass_token = requests.header(request, "x-queue-pass", 2048)
    request_key = requests.header(request, "idempotency-key", 128) or None
    body = await requests.body(request, HoldIn)
    try:
        with rate_limits.refusals(res, Action.HOLD):
            hold = await use.hold_seats(
                res.catalog,
                res.catalog,
                res.pass_tokens,
                res.seat_locks,
                res.abandoned_holds,
                res.reservations,
                res.clock,
                schedule_id,
                user.user_id,
                body.seat_nos,
                pass_token,
                request_key,
            )
    except TicketingError as exc:
        res.metrics.holds_total.labels(exc.code.lower()).inc()
        raise
    res.metrics.holds_total.labels("won").inc()
    out = HoldOut(
        hold_id=hold.hold_id, schedule_id=hold.schedule_id, seat_nos=hold.seat_nos, expires_at=hold.expires_at
    )
    return json_response(out, 201)


@router.delete("/holds/{hold_id}", status_code=204)
async def release_hold(hold_id: HoldIdPath, res: Res, user: User) -> Response:
    """Release my hold (owner only; idempotent once released or expired)."""
    await use.release_hold(res.reservations, res.seat_locks, res.clock, hold_id, user.user_id)
    return Response(status_code=204)
