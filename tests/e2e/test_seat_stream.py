"""The live seat map over Server-Sent Events, across two API server instances."""

import asyncio

import httpx
from fastapi import FastAPI

from tests.conftest import make_schedule
from tests.e2e.flows import next_event, serve
from ticketing.bootstrap import Resources
from ticketing.domain.identity import Role
from ticketing.settings import Settings


async def test_stream_says_hello_then_carries_changes_made_by_another_api_process(
    two_servers: tuple[tuple[str, FastAPI], tuple[str, FastAPI]],
) -> None:
    (url_a, app_a), (url_b, app_b) = two_servers
    res_a: Resources = app_a.state.resources
    res_b: Resources = app_b.state.resources
    schedule = await make_schedule(res_a, capacity=5)
    token = res_a.access_tokens.issue("watcher", Role.USER)
    headers = {"Authorization": f"Bearer {token}"}

    async with (
        httpx.AsyncClient(base_url=url_a, headers=headers, timeout=10) as a,
        httpx.AsyncClient(timeout=10) as b,
        b.stream("GET", f"{url_b}/api/v1/schedules/{schedule.id}/seats/stream") as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        event, hello = await asyncio.wait_for(next_event(lines), 5)
        assert event == "hello"
        assert hello["seats"]["A-1"] == "AVAILABLE"
        assert len(hello["seats"]) == 10
        assert res_b.seat_events.listener_count == 1

        # A buyer holds through server A; the stream on server B sees it.
        await a.post(f"/api/v1/schedules/{schedule.id}/queue")
        from ticketing.workers.queue_advancer import QueueAdvancer

        await QueueAdvancer(res_a).tick()
        pass_token = (await a.get(f"/api/v1/schedules/{schedule.id}/queue")).json()["pass_token"]
        r = await a.post(
            f"/api/v1/schedules/{schedule.id}/holds",
            json={"seat_nos": ["A-1", "A-2"]},
            headers={"X-Queue-Pass": pass_token},
        )
        assert r.status_code == 201
        event, change = await asyncio.wait_for(next_event(lines), 5)
        assert (event, change) == ("seats", {"seats": {"A-1": "HELD", "A-2": "HELD"}})

        assert (await a.delete(f"/api/v1/holds/{r.json()['hold_id']}")).status_code == 204
        event, change = await asyncio.wait_for(next_event(lines), 5)
        assert (event, change) == ("seats", {"seats": {"A-1": "AVAILABLE", "A-2": "AVAILABLE"}})

    # The client went away: the server lets go of its subscription.
    for _ in range(100):
        if res_b.seat_events.listener_count == 0:
            break
        await asyncio.sleep(0.05)
    assert res_b.seat_events.listener_count == 0


async def test_stream_of_unknown_schedule_is_404(settings: Settings) -> None:
    async with serve(settings) as (url, _), httpx.AsyncClient(timeout=5) as c:
        r = await c.get(f"{url}/api/v1/schedules/987654321/seats/stream")
    assert (r.status_code, r.json()["code"]) == (404, "SCHEDULE_NOT_FOUND")
