"""Waiting room: enter, status, leave, and checking a pass."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from ticketing.api import rate_limits, requests
from ticketing.api.dependencies import Res, ScheduleIdPath, User
from ticketing.api.hot_routes import HotRoutes
from ticketing.api.responses import json_response
from ticketing.api.schemas import AdmittedOut, NotInQueueOut, PassOut, SoldOutOut, WaitingOut
from ticketing.domain.ids import ScheduleId
from ticketing.domain.rate_limits import Action
from ticketing.domain.waiting_room import SoldOut, Waiting
from ticketing.services import waiting_room as use
from ticketing.services.waiting_room import AdmittedWithPass, QueueAnswer

router = APIRouter(prefix="/api/v1/schedules/{schedule_id}/queue", tags=["waiting room"])
hot = HotRoutes(router)  # enter and status: the two calls every waiting buyer repeats

QueueOut = WaitingOut | AdmittedOut | NotInQueueOut | SoldOutOut


def queue_out(answer: QueueAnswer) -> QueueOut:
    if isinstance(answer, AdmittedWithPass):
        return AdmittedOut(pass_token=answer.pass_token, pass_expires_at=answer.pass_expires_at)
    if isinstance(answer, Waiting):
        return WaitingOut(
            ticket=answer.ticket,
            position=answer.position,
            ahead=answer.ahead,
            eta_s=answer.eta_s,
            poll_after_ms=answer.poll_after_ms,
        )
    if isinstance(answer, SoldOut):
        return SoldOutOut()
    return NotInQueueOut()


@hot.route(
    "POST",
    "",
    status_code=202,
    responses={
        202: {"model": WaitingOut, "description": "waiting: place in line and when to ask again"},
        200: {"model": AdmittedOut | SoldOutOut, "description": "already admitted: the pass; or sold out"},
    },
    path_ids=("schedule_id",),
)
async def enter(request: Request) -> Response:
    """Join the line (idempotent): 202 with the place in line, 200 with the pass if admitted,
    or 200 SOLD_OUT when every seat is sold (no place is given then)."""
    res = requests.resources(request)
    user = requests.principal(request)
    schedule_id = ScheduleId(requests.path_id(request, "schedule_id"))
    with rate_limits.refusals(res, Action.ENTER):
        answer = await use.enter_queue(
            res.catalog, res.waiting_room, res.pass_tokens, res.clock, schedule_id, user.user_id
        )
    outcome = "waiting" if isinstance(answer, Waiting) else "sold_out" if isinstance(answer, SoldOut) else "admitted"
    res.metrics.queue_entered_total.labels(outcome).inc()
    return json_response(queue_out(answer), 202 if outcome == "waiting" else 200)


@hot.route("GET", "", responses={200: {"model": QueueOut}}, path_ids=("schedule_id",))
async def status(request: Request) -> Response:
    """My status: WAITING (poll again after ``poll_after_ms``), ADMITTED with the pass,
    NOT_IN_QUEUE, or SOLD_OUT (every seat sold; my place is kept should one come back)."""
    res = requests.resources(request)
    user = requests.principal(request)
    schedule_id = ScheduleId(requests.path_id(request, "schedule_id"))
    with rate_limits.refusals(res, Action.STATUS):
        answer = await use.queue_status(res.catalog, res.waiting_room, res.pass_tokens, schedule_id, user.user_id)
    return json_response(queue_out(answer))


@router.delete("", status_code=204)
async def leave(schedule_id: ScheduleIdPath, res: Res, user: User) -> Response:
    """Give back my place or my pass (idempotent)."""
    await use.leave_queue(res.catalog, res.waiting_room, ScheduleId(schedule_id), user.user_id)
    return Response(status_code=204)


@router.get("/pass", response_model=PassOut)
async def check_pass(
    schedule_id: ScheduleIdPath,
    res: Res,
    user: User,
    x_queue_pass: Annotated[str | None, Header(max_length=2048)] = None,
) -> PassOut:
    """Is this pass (header ``X-Queue-Pass``) valid for me and this schedule right now?"""
    try:
        expiry = await use.verify_pass(
            res.waiting_room, res.pass_tokens, ScheduleId(schedule_id), user.user_id, x_queue_pass
        )
    except Exception:
        res.metrics.pass_checks_total.labels("refused").inc()
        raise
    res.metrics.pass_checks_total.labels("valid").inc()
    return PassOut(schedule_id=schedule_id, user_id=user.user_id, pass_expires_at=expiry)
