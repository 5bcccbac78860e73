"""The waiting room pushed: one admission number per advancer tick serves every waiter.

Each waiter knows its own ticket number (from enter). The stream says how far the line has
been served (the last ticket admitted) and how fast; the page counts the people still ahead
of it by itself, and asks for its pass when the served number reaches its ticket. One small
message per tick per schedule, whatever the number of waiters.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from ticketing.api.dependencies import Res, ScheduleIdPath
from ticketing.api.event_streams import event, event_stream, relay
from ticketing.bootstrap import Resources
from ticketing.domain.ids import ScheduleId
from ticketing.services.catalog import get_schedule

router = APIRouter(prefix="/api/v1", tags=["waiting room"])


async def _admissions(res: Resources, schedule_id: ScheduleId) -> AsyncGenerator[str]:
    # Subscribed before the first read, so no tick falls between the two. A listener that
    # fell behind goes on: the next tick's number is all a page needs.
    async with res.queue_events.listen(schedule_id) as ticks:
        line = await res.waiting_room.line(schedule_id)
        schedule = await get_schedule(res.catalog, schedule_id)
        hello = line.news(schedule)
        yield event("admission", hello)
        async for chunk in relay(ticks, "admission"):
            yield chunk


@router.get(
    "/schedules/{schedule_id}/queue/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def queue_stream(schedule_id: ScheduleIdPath, res: Res, request: Request) -> StreamingResponse:
    """``admission`` events: ``{"served": last ticket admitted, "per_s": admissions per second}``,
    at once (with ``paused``, ``closed`` and ``sold_out``) and after every advancer tick that
    admitted someone; again whenever the organiser pauses, resumes or closes the sale, and
    once when the last seat is sold (``sold_out``); a keep-alive comment every 15 s. A waiter
    whose ticket is at most ``served`` has its pass waiting in the status answer. Counted
    with the seat streams against the per-client and per-process stream caps."""
    await get_schedule(res.catalog, ScheduleId(schedule_id))  # 404 before the stream starts
    return event_stream(request, res, _admissions(res, ScheduleId(schedule_id)))
