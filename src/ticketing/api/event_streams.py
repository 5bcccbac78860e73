"""Server-Sent Events of one schedule (seat changes, queue admissions): the framing, the
keep-alives, the stream caps and the open-stream gauge every live stream shares."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

from ticketing.api.rate_limits import client_address
from ticketing.api.stream_slots import StreamSlots
from ticketing.bootstrap import Resources

KEEP_ALIVE_S = 15.0


def event(name: str, data: str | object) -> str:
    """One event; ``data`` is sent as it is when text, else as compact JSON."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"event: {name}\ndata: {payload}\n\n"


async def relay(messages: asyncio.Queue[bytes | None], name: str, resync: str | None = None) -> AsyncIterator[str]:
    """Each published message as an event ``name``; a keep-alive comment after KEEP_ALIVE_S of
    quiet. A listener that fell behind (``None``) is sent ``resync`` and the stream ends, so
    the client reloads the whole state; without ``resync`` it goes on (when the next message
    says all a client needs)."""
    while True:
        try:
            raw = await asyncio.wait_for(messages.get(), timeout=KEEP_ALIVE_S)
        except TimeoutError:
            yield ": keep-alive\n\n"
            continue
        if raw is None:
            if resync is None:
                continue
            yield event("resync", resync)
            return
        yield event(name, raw.decode())


def event_stream(request: Request, res: Resources, events: AsyncGenerator[str]) -> StreamingResponse:
    """The response for ``events``: a slot taken for the client first (429 TOO_MANY_STREAMS,
    503 STREAM_CAPACITY_REACHED past the caps), given back however the stream ends."""
    slots: StreamSlots = request.app.state.stream_slots
    release = slots.take(client_address(request))
    return StreamingResponse(
        slots.hold_for(_counted(res, events), release),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _counted(res: Resources, events: AsyncGenerator[str]) -> AsyncIterator[str]:
    res.metrics.sse_connections.inc()
    try:
        async for chunk in events:
            yield chunk
    finally:
        await events.aclose()  # its subscription goes now, not when collected
        res.metrics.sse_connections.dec()
