"""The waiting room pushed: one admission number per advancer tick serves every waiter.

Each waiter knows its own ticket number (from enter). The stream says how far the line has
been served (the last ticket admitted) and how fast; the page counts the people still ahead
of it by itself, and asks for its pass when the served number reaches its ticket. One small
message per tick per schedule, whatever the number of waiters.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from ticketing.api.dependencies import Res, ScheduleIdPath
from ticketing.api.rate_limits import client_address
from ticketing.api.stream_slots import StreamSlots
from ticketing.bootstrap import Resources
from ticketing.domain.ids import ScheduleId
from ticketing.services.catalog import get_schedule

router = APIRouter(prefix="/api/v1", tags=["waiting room"])

KEEP_ALIVE_S = 15.0


async def _admissions(res: Resources, schedule_id: ScheduleId) -> AsyncIterator[str]:
    res.metrics.sse_connections.inc()
    try:
        # Subscribed before the first read, so no tick falls between the two.
        async with res.queue_events.listen(schedule_id) as ticks:
            line = await res.waiting_room.line(schedule_id)
            schedule = await get_schedule(res.catalog, schedule_id)
            hello = {
                "served": line.served,
                "per_s": line.per_s,
                "paused": schedule.queue.paused,
                "closed": schedule.sale_closed_at is not None,
            }
            yield f"event: admission\ndata: {json.dumps(hello, separators=(',', ':'))}\n\n"
            while True:
                try:
                    raw = await asyncio.wait_for(ticks.get(), timeout=KEEP_ALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if raw is None:  # fell behind: the next tick's number is all it needs anyway
                    continue
                yield f"event: admission\ndata: {raw.decode()}\n\n"
    finally:
        res.metrics.sse_connections.dec()


@router.get(
    "/schedules/{schedule_id}/queue/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def queue_stream(schedule_id: ScheduleIdPath, res: Res, request: Request) -> StreamingResponse:
    """``admission`` events: ``{"served": last ticket admitted, "per_s": admissions per second}``,
    at once (with ``paused`` and ``closed``) and after every advancer tick that admitted
    someone; with ``paused``/``closed`` again whenever the organiser changes them; a
    keep-alive comment every 15 s. A waiter whose ticket is at most ``served`` has its pass
    waiting in the status answer.
    Counted with the seat streams against the per-client and per-process stream caps."""
    await get_schedule(res.catalog, ScheduleId(schedule_id))  # 404 before the stream starts
    slots: StreamSlots = request.app.state.stream_slots
    release = slots.take(client_address(request))
    return StreamingResponse(
        slots.hold_for(_admissions(res, ScheduleId(schedule_id)), release),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
