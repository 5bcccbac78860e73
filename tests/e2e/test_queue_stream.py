"""The waiting room pushed: each advancer tick that admits someone publishes the last ticket
admitted; every API process streams it to its waiters, who count their own place from it."""

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_schedule
from tests.e2e.flows import next_event, serve
from ticketing.bootstrap import Resources
from ticketing.domain.identity import Role
from ticketing.domain.waiting_room import LineProgress
from ticketing.settings import Settings
from ticketing.workers.queue_advancer import QueueAdvancer


async def test_a_waiter_follows_its_place_from_the_pushed_admission_number(
    two_servers: tuple[tuple[str, FastAPI], tuple[str, FastAPI]],
) -> None:
    (url_a, app_a), (url_b, _) = two_servers
    res: Resources = app_a.state.resources
    schedule = await make_schedule(res, capacity=10, admit_per_tick=2)
    users = ["u1", "u2", "u3", "u4", "u5"]
    tickets = {}
    async with httpx.AsyncClient(base_url=url_a, timeout=10) as a:
        for user in users:
            headers = {"Authorization": f"Bearer {res.access_tokens.issue(user, Role.USER)}"}
            answer = (await a.post(f"/api/v1/schedules/{schedule.id}/queue", headers=headers)).json()
            tickets[user] = answer["ticket"]
            assert answer["position"] == len(tickets)
    assert sorted(tickets.values()) == list(tickets.values())

    async with (
        httpx.AsyncClient(timeout=10) as b,
        b.stream("GET", f"{url_b}/api/v1/schedules/{schedule.id}/queue/stream") as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        event, hello = await asyncio.wait_for(next_event(lines), 5)
        assert (event, hello["served"]) == ("admission", 0)

        await QueueAdvancer(res).tick()  # admits u1 and u2
        event, tick = await asyncio.wait_for(next_event(lines), 5)
        assert (event, tick["served"]) == ("admission", tickets["u2"])
        line = LineProgress(tick["served"], tick["per_s"])
        assert [line.ahead_of(tickets[u]) for u in ("u3", "u4", "u5")] == [0, 1, 2]

        await QueueAdvancer(res).tick()
        event, tick = await asyncio.wait_for(next_event(lines), 5)
        assert tick["served"] == tickets["u4"]


async def test_a_tick_that_admits_nobody_publishes_nothing_and_a_late_listener_gets_the_number(
    settings: Settings,
) -> None:
    async with serve(settings) as (url, app), httpx.AsyncClient(base_url=url, timeout=10) as c:
        res: Resources = app.state.resources
        schedule = await make_schedule(res, capacity=1, admit_per_tick=5)
        for user in ("first", "second"):
            headers = {"Authorization": f"Bearer {res.access_tokens.issue(user, Role.USER)}"}
            await c.post(f"/api/v1/schedules/{schedule.id}/queue", headers=headers)
        await QueueAdvancer(res).tick()  # capacity 1: only "first"
        async with c.stream("GET", f"/api/v1/schedules/{schedule.id}/queue/stream") as stream:
            lines = stream.aiter_lines()
            _, hello = await asyncio.wait_for(next_event(lines), 5)
            assert hello["served"] == 1
            await QueueAdvancer(res).tick()  # full: admits nobody
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(next_event(lines), 1)


async def test_the_stream_of_an_unknown_schedule_is_404(settings: Settings) -> None:
    async with serve(settings) as (url, _), httpx.AsyncClient(timeout=5) as c:
        r = await c.get(f"{url}/api/v1/schedules/987654321/queue/stream")
    assert (r.status_code, r.json()["code"]) == (404, "SCHEDULE_NOT_FOUND")
