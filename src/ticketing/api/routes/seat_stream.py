"""Live seat map as Server-Sent Events: a hello with every seat's state, then changes."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from ticketing.api.dependencies import Res, ScheduleIdPath
from ticketing.api.event_streams import event, event_stream, relay
from ticketing.bootstrap import Resources
from ticketing.domain.ids import ScheduleId
from ticketing.services.catalog import get_schedule, seat_map

router = APIRouter(prefix="/api/v1", tags=["catalog"])


async def _events(res: Resources, schedule_id: ScheduleId) -> AsyncGenerator[str]:
    # Subscribe first, then read the full state: a change in between shows up twice
    # (harmless, states are absolute) but never goes missing.
    async with res.seat_events.listen(schedule_id) as changes:
        views = await seat_map(res.catalog, res.seat_map, res.seat_truth, res.clock, schedule_id)
        yield event("hello", {"schedule_id": schedule_id, "seats": {v.seat.seat_no: v.status for v in views}})
        async for chunk in relay(changes, "seats", resync='{"reason":"client fell behind"}'):
            yield chunk


@router.get(
    "/schedules/{schedule_id}/seats/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def seat_stream(schedule_id: ScheduleIdPath, res: Res, request: Request) -> StreamingResponse:
    """``hello`` (every seat's state), then ``seats`` events with changes, and a keep-alive
    comment every 15 s. Changes made by any API process or worker arrive here. At most
    ``TICKETING_SSE_MAX_PER_CLIENT`` streams per client address (429 TOO_MANY_STREAMS) and
    ``TICKETING_SSE_MAX_PER_PROCESS`` per API process (503 STREAM_CAPACITY_REACHED)."""
    await get_schedule(res.catalog, ScheduleId(schedule_id))  # 404 before the stream starts
    return event_stream(request, res, _events(res, ScheduleId(schedule_id)))
