"""Waiting room: enter, status, leave, and checking a pass."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from ticketing.api import lean, rate_limits
from ticketing.api.dependencies import Res, ScheduleIdPath, User
from ticketing.api.schemas import AdmittedOut, NotInQueueOut, PassOut, WaitingOut
from ticketing.domain.ids import ScheduleId
from ticketing.domain.rate_limits import Action
from ticketing.domain.waiting_room import Waiting
from ticketing.services import waiting_room as use
from ticketing.services.waiting_room import AdmittedWithPass, QueueAnswer

PREFIX = "/api/v1/schedules/{schedule_id}/queue"
router = APIRouter(prefix=PREFIX, tags=["waiting room"])

QueueOut = WaitingOut | AdmittedOut | NotInQueueOut
QUEUE_DOCS = lean.openapi(path_ids=("schedule_id",))


def queue_out(answer: QueueAnswer) -> dict[str, Any]:
    if isinstance(answer, AdmittedWithPass):
        return {
            "status": "ADMITTED",
            "pass_token": answer.pass_token,
            "pass_expires_at": lean.iso_utc(answer.pass_expires_at),
        }
    if isinstance(answer, Waiting):
        return {
            "status": "WAITING",
            "position": answer.position,
            "ahead": answer.ahead,
            "eta_s": answer.eta_s,
            "poll_after_ms": answer.poll_after_ms,
        }
    return {"status": "NOT_IN_QUEUE"}


# Enter and status are the two calls every waiting buyer repeats: lean handlers (see api/lean.py).


@router.post(
    "",
    status_code=202,
    responses={
        202: {"model": WaitingOut, "description": "waiting: place in line and when to ask again"},
        200: {"model": AdmittedOut, "description": "already admitted: the pass"},
    },
    openapi_extra=QUEUE_DOCS,
)
async def enter(request: Request) -> Response:
    """Join the line (idempotent): 202 with the place in line, or 200 with the pass if admitted."""
    res = lean.resources(request)
    user = lean.principal(request)
    schedule_id = ScheduleId(lean.path_id(request, "schedule_id"))
    with rate_limits.refusals(res, Action.ENTER):
        answer = await use.enter_queue(
            res.catalog, res.waiting_room, res.pass_tokens, res.clock, schedule_id, user.user_id
        )
    admitted = isinstance(answer, AdmittedWithPass)
    res.metrics.queue_entered_total.labels("admitted" if admitted else "waiting").inc()
    return lean.respond(queue_out(answer), 200 if admitted else 202)


@router.get("", responses={200: {"model": QueueOut}}, openapi_extra=QUEUE_DOCS)
async def status(request: Request) -> Response:
    """My status: WAITING (poll again after ``poll_after_ms``), ADMITTED with the pass, or NOT_IN_QUEUE."""
    res = lean.resources(request)
    user = lean.principal(request)
    schedule_id = ScheduleId(lean.path_id(request, "schedule_id"))
    with rate_limits.refusals(res, Action.STATUS):
        answer = await use.queue_status(res.catalog, res.waiting_room, res.pass_tokens, schedule_id, user.user_id)
    return lean.respond(queue_out(answer))


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


# Served ahead of FastAPI's router (see api/lean.py); the routes above document them.
FRONT = [lean.front(PREFIX, enter, "POST"), lean.front(PREFIX, status, "GET")]
