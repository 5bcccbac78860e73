"""Live seat-map streams are capped per client address and per process, with a clear refusal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx

from tests.conftest import make_schedule
from tests.e2e.flows import next_event, serve
from ticketing.bootstrap import open_resources
from ticketing.settings import Settings


@contextlib.asynccontextmanager
async def stream_from(source: str, url: str) -> AsyncIterator[httpx.Response]:
    """A seat stream opened from a loopback address of its own (another "client")."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    async with httpx.AsyncClient(transport=transport, timeout=10) as c, c.stream("GET", url) as response:
        yield response


async def test_streams_are_capped_per_client_and_per_process(settings: Settings) -> None:
    capped = settings.model_copy(update={"sse_max_per_client": 2, "sse_max_per_process": 3})
    async with open_resources(capped) as res:
        schedule = await make_schedule(res)
    async with serve(capped) as (base, _), contextlib.AsyncExitStack() as streams:
        url = f"{base}/api/v1/schedules/{schedule.id}/seats/stream"
        readers = []  # kept: a dropped line iterator closes its response
        for _ in range(2):
            s = await streams.enter_async_context(stream_from("127.0.0.1", url))
            assert s.status_code == 200
            readers.append(s.aiter_lines())
            assert (await next_event(readers[-1]))[0] == "hello"
        async with stream_from("127.0.0.1", url) as third:
            await third.aread()
            assert (third.status_code, third.json()["code"]) == (429, "TOO_MANY_STREAMS")
            assert third.headers["retry-after"]
        other = await streams.enter_async_context(stream_from("127.0.0.2", url))
        assert other.status_code == 200
        async with stream_from("127.0.0.3", url) as full:
            await full.aread()
            assert (full.status_code, full.json()["code"]) == (503, "STREAM_CAPACITY_REACHED")
            assert full.headers["retry-after"]
        await streams.aclose()  # every stream closed: their slots come back once the server notices
        for _ in range(50):
            async with stream_from("127.0.0.3", url) as again:
                if again.status_code == 200:
                    break
            await asyncio.sleep(0.1)
        assert again.status_code == 200
