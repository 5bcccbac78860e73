"""A backing service that is down is a 503 with Retry-After (clients retry), never a 500."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import make_schedule
from ticketing.api.app import create_app
from ticketing.bootstrap import Resources, open_resources
from ticketing.devtools.broker import free_port
from ticketing.domain.identity import Role
from ticketing.settings import Settings


async def test_redis_unreachable_answers_503_dependency_unavailable_with_retry_after(res: Resources) -> None:
    schedule = await make_schedule(res)
    cut_off = res.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    app = create_app(cut_off)
    # No lifespan: its warm-up needs Redis. The process runs on as it would after Redis died.
    async with open_resources(cut_off) as broken:
        app.state.resources = broken
        token = broken.access_tokens.issue("alice", Role.USER)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post(
                f"/api/v1/schedules/{schedule.id}/queue", headers={"Authorization": f"Bearer {token}"}
            )
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (r.json()["code"], r.headers["retry-after"]) == ("DEPENDENCY_UNAVAILABLE", "2")


async def test_waiting_for_a_free_redis_connection_is_not_an_outage(settings: Settings) -> None:
    # Every pooled connection busy for longer than the network timeout, as in a poll wave
    # on a saturated process: the request waits its turn and is answered, not a 503.
    busy = settings.model_copy(update={"redis_max_connections": 2, "network_timeout_s": 0.5})
    app = create_app(busy)
    async with app.router.lifespan_context(app):
        res: Resources = app.state.resources
        schedule = await make_schedule(res)
        token = res.access_tokens.issue("alice", Role.USER)
        pool = res.redis.connection_pool
        taken = [await pool.get_connection(), await pool.get_connection()]

        async def give_back_later() -> None:
            await asyncio.sleep(1.5)
            for connection in taken:
                await pool.release(connection)

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            released = asyncio.create_task(give_back_later())
            r = await client.post(
                f"/api/v1/schedules/{schedule.id}/queue", headers={"Authorization": f"Bearer {token}"}
            )
            await released
    assert r.status_code == 202, r.text
