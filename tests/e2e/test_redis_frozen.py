"""A hold request that timed out while Redis was frozen must not take seats later.

The lock script was already on its way when the API gave up (503): Redis runs it once it
answers again. Without more care its locks belong to a hold the database never heard of,
and the buyer's own retry is refused SEAT_TAKEN until they lapse (the hold TTL).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_schedule
from tests.e2e.flows import admit, hold, seat_states
from tests.faults.instances import PrivateRedis
from ticketing.api.app import create_app
from ticketing.bootstrap import Resources
from ticketing.domain.identity import Role
from ticketing.settings import Settings


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    try:
        yield redis
    finally:
        redis.close()


Auth = Callable[..., dict[str, str]]


@contextlib.asynccontextmanager
async def admitted(app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, Auth, int, str]]:
    """A client, and user "u" admitted to a fresh schedule (holds live 300 s) with its pass."""
    res: Resources = app.state.resources
    schedule = await make_schedule(res, hold_ttl_s=300)

    def auth(user: str = "u") -> dict[str, str]:
        return {"Authorization": f"Bearer {res.access_tokens.issue(user, Role.USER)}"}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        passes = await admit(client, auth, res, schedule.id, ["u"])
        yield client, auth, schedule.id, passes["u"]


@pytest.fixture
async def frozen_app(settings: Settings, private_redis: PrivateRedis) -> AsyncIterator[FastAPI]:
    own = settings.model_copy(update={"redis_url": private_redis.url, "network_timeout_s": 0.5})
    application = create_app(own)
    async with application.router.lifespan_context(application):
        yield application


async def test_a_hold_that_timed_out_in_a_frozen_redis_leaves_the_seats_to_its_retry(
    frozen_app: FastAPI, private_redis: PrivateRedis
) -> None:
    async with admitted(frozen_app) as (client, auth, schedule_id, pass_token):
        private_redis.pause()
        try:
            r = await hold(client, auth, schedule_id, "u", pass_token, ["A-1", "A-2"])
        finally:
            private_redis.resume()
        assert (r.status_code, r.json()["code"]) == (503, "DEPENDENCY_UNAVAILABLE")
        # The buyer retries as told (Retry-After); a few tries within seconds, not minutes.
        for _ in range(20):
            await asyncio.sleep(0.25)
            r = await hold(client, auth, schedule_id, "u", pass_token, ["A-1", "A-2"])
            if r.status_code != 409:
                break
        assert r.status_code == 201, r.text
        states = await seat_states(client, schedule_id)
        assert (states["A-1"], states["A-2"], states["A-3"]) == ("HELD", "HELD", "AVAILABLE")


async def test_the_first_retry_after_a_long_freeze_gets_the_seats(
    frozen_app: FastAPI, private_redis: PrivateRedis
) -> None:
    """Frozen long enough for the void's retries to back off: the buyer's retry once Redis
    answers must not find the seats taken by its own abandoned request."""
    async with admitted(frozen_app) as (client, auth, schedule_id, pass_token):
        private_redis.pause()
        try:
            r = await hold(client, auth, schedule_id, "u", pass_token, ["A-1"])
            assert r.status_code == 503
            await asyncio.sleep(4.0)
        finally:
            private_redis.resume()
        r = await hold(client, auth, schedule_id, "u", pass_token, ["A-1"])
        assert r.status_code == 201, r.text
        assert (await seat_states(client, schedule_id))["A-1"] == "HELD"
