"""Waiting room: enter, status, leave, and checking a pass."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from ticketing.api.dependencies import Res, ScheduleIdPath, User
from ticketing.api.schemas import AdmittedOut, NotInQueueOut, PassOut, WaitingOut
from ticketing.domain.ids import ScheduleId
from ticketing.domain.waiting_room import Waiting
from ticketing.services import waiting_room as use
from ticketing.services.waiting_room import AdmittedWithPass, QueueAnswer

router = APIRouter(prefix="/api/v1/schedules/{schedule_id}/queue", tags=["waiting room"])

QueueOut = WaitingOut | AdmittedOut | NotInQueueOut


def queue_out(answer: QueueAnswer) -> QueueOut:
    if isinstance(answer, AdmittedWithPass):
        return AdmittedOut(pass_token=answer.pass_token, pass_expires_at=answer.pass_expires_at)
    if isinstance(answer, Waiting):
        return WaitingOut(
            position=answer.position, ahead=answer.ahead, eta_s=answer.eta_s, poll_after_ms=answer.poll_after_ms
        )
    return NotInQueueOut()


@router.post(
    "",
    response_model=QueueOut,
    status_code=202,
    responses={200: {"model": AdmittedOut, "description": "already admitted: the pass"}},
)
async def enter(schedule_id: ScheduleIdPath, res: Res, user: User, response: Response) -> QueueOut:
    """Join the line (idempotent): 202 with the place in line, or 200 with the pass if admitted."""
    answer = await use.enter_queue(
        res.catalog, res.waiting_room, res.pass_tokens, res.clock, ScheduleId(schedule_id), user.user_id
    )
    admitted = isinstance(answer, AdmittedWithPass)
    res.metrics.queue_entered_total.labels("admitted" if admitted else "waiting").inc()
    if admitted:
        response.status_code = 200
    return queue_out(answer)


@router.get("", response_model=QueueOut)
async def status(schedule_id: ScheduleIdPath, res: Res, user: User) -> QueueOut:
    """My status; poll again after ``poll_after_ms``."""
    answer = await use.queue_status(
        res.catalog, res.waiting_room, res.pass_tokens, ScheduleId(schedule_id), user.user_id
    )
    return queue_out(answer)


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
