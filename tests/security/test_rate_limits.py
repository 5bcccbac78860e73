"""Rate limits per identity, shared by every API replica through Redis, and the poll pace.

These tests run the default limits (the rest of the suite lifts them: tests/conftest.py),
except where a test sets a smaller one to stay quick."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import make_schedule, pace_passes
from tests.e2e.flows import admit, hold, seat_states, serve
from ticketing.api.app import create_app
from ticketing.bootstrap import Resources
from ticketing.domain.identity import Role
from ticketing.domain.rate_limits import Action
from ticketing.settings import Settings

Auth = Callable[[str], dict[str, str]]


def with_default_limits(settings: Settings, **update: object) -> Settings:
    defaults = {f"rate_limit_{a.value}": Settings.model_fields[f"rate_limit_{a.value}"].default for a in Action}
    return settings.model_copy(update={**defaults, **update})


@contextlib.asynccontextmanager
async def limited_app(settings: Settings, **update: object) -> AsyncIterator[tuple[FastAPI, Resources, Auth]]:
    application = create_app(with_default_limits(settings, **update))
    async with application.router.lifespan_context(application):
        res: Resources = application.state.resources

        def auth(user: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {res.access_tokens.issue(user, Role.USER)}"}

        yield application, res, auth


def client_of(application: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def refused(r: httpx.Response, code: str = "RATE_LIMITED") -> bool:
    if r.status_code != 429:
        return False
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    assert int(r.headers["retry-after"]) >= 1
    return True


async def test_holds_past_the_per_user_limit_are_refused_429_and_take_nothing(settings: Settings) -> None:
    async with limited_app(settings) as (application, res, auth), client_of(application) as client:
        schedule = await make_schedule(res, cols=10, max_seats_per_user=10)
        passes = await admit(client, auth, res, schedule.id, ["greedy", "other"])
        answers = [await hold(client, auth, schedule.id, "greedy", passes["greedy"], [f"A-{n}"]) for n in range(1, 9)]
        statuses = [a.status_code for a in answers]
        assert statuses[:5] == [201] * 5  # the default: 5 holds per second per user
        assert all(refused(a) for a in answers[5:]), statuses
        assert answers[5].json()["action"] == "hold"
        states = await seat_states(client, schedule.id)
        assert [states[f"A-{n}"] for n in range(6, 9)] == ["AVAILABLE"] * 3  # the refused took nothing
        # Another user is counted apart.
        assert (await hold(client, auth, schedule.id, "other", passes["other"], ["B-1"])).status_code == 201
        assert res.metrics.requests_refused_total.labels("hold", "rate")._value.get() == 3


async def test_every_api_replica_counts_against_the_same_limit(settings: Settings) -> None:
    one_limit = {"rate_limit_enter": "4/minute"}
    async with (
        serve(with_default_limits(settings, **one_limit)) as (url_a, app_a),
        serve(with_default_limits(settings, **one_limit)) as (url_b, _),
        httpx.AsyncClient() as http,
    ):
        res: Resources = app_a.state.resources
        schedule = await make_schedule(res)
        headers = {"Authorization": f"Bearer {res.access_tokens.issue('bot', Role.USER)}"}
        codes = []
        for url in (url_a, url_b, url_a, url_b, url_a, url_b):
            await pace_passes(res, schedule.id)  # the pace is not what is tested here
            r = await http.post(f"{url}/api/v1/schedules/{schedule.id}/queue", headers=headers)
            codes.append(r.status_code)
        assert codes == [202, 202, 202, 202, 429, 429]
        assert 1 <= int(r.headers["retry-after"]) <= 60


async def test_a_status_poll_before_poll_after_ms_gets_429_and_no_fresh_answer(settings: Settings) -> None:
    async with limited_app(settings) as (application, res, auth), client_of(application) as client:
        schedule = await make_schedule(res)
        path = f"/api/v1/schedules/{schedule.id}/queue"
        await client.post(path, headers=auth("first"))
        entered = (await client.post(path, headers=auth("me"))).json()
        early = await client.get(path, headers=auth("me"))
        assert refused(early, "POLL_TOO_EARLY")
        wait_ms = early.json()["retry_after_ms"]
        assert 0 < wait_ms <= entered["poll_after_ms"]
        assert "position" not in early.json()
        assert refused(await client.post(path, headers=auth("me")), "POLL_TOO_EARLY")  # nor by entering again
        await asyncio.sleep(wait_ms / 1000 + 0.02)
        on_time = await client.get(path, headers=auth("me"))
        assert on_time.status_code == 200
        assert on_time.json()["position"] == entered["position"] == 2
        assert res.metrics.requests_refused_total.labels("status", "pace")._value.get() == 1


async def test_payment_orders_are_limited_per_user(settings: Settings) -> None:
    limited = limited_app(settings, rate_limit_payment="2/minute")
    async with limited as (application, res, auth), client_of(application) as client:
        schedule = await make_schedule(res)
        passes = await admit(client, auth, res, schedule.id, ["payer"])
        hold_id = (await hold(client, auth, schedule.id, "payer", passes["payer"], ["A-1"])).json()["hold_id"]

        async def order() -> httpx.Response:
            headers = auth("payer") | {"Idempotency-Key": uuid.uuid4().hex}
            return await client.post("/api/v1/payments", json={"hold_id": hold_id}, headers=headers)

        first, second, third = [await order() for _ in range(3)]
        assert (first.status_code, second.status_code) == (201, 200)  # one order per hold: the same one
        assert refused(third)


async def test_the_anonymous_seat_map_is_counted_per_client_address(settings: Settings) -> None:
    async with limited_app(settings, rate_limit_seat_map_anonymous="3/minute") as (application, res, auth):
        schedule = await make_schedule(res)
        path = f"/api/v1/schedules/{schedule.id}/seats"
        async with client_of(application, "10.0.0.1") as one, client_of(application, "10.0.0.2") as two:
            codes = [(await one.get(path)).status_code for _ in range(4)]
            assert codes == [200, 200, 200, 429]
            assert (await two.get(path)).status_code == 200  # another address
            assert (await one.get(path, headers=auth("signed-in"))).status_code == 200  # counted per user
            forged = await one.get(path, headers={"X-Forwarded-For": "10.9.9.9"})  # not a trusted proxy
            assert refused(forged)


async def test_behind_a_trusted_balancer_each_forwarded_client_is_counted_apart(settings: Settings) -> None:
    update = {"rate_limit_seat_map_anonymous": "2/minute", "trusted_proxies": ["10.1.0.0/16"]}
    async with limited_app(settings, **update) as (application, res, _):
        schedule = await make_schedule(res)
        path = f"/api/v1/schedules/{schedule.id}/seats"
        async with client_of(application, "10.1.0.5") as balancer:

            async def via(chain: str) -> int:
                return (await balancer.get(path, headers={"X-Forwarded-For": chain})).status_code

            assert [await via("203.0.113.7") for _ in range(3)] == [200, 200, 429]
            assert await via("203.0.113.8") == 200
            # Entries left of the balancer's own are the client's to write: only the last counts.
            assert await via("198.51.100.1, 203.0.113.7") == 429


async def test_limits_off_count_nothing(settings: Settings) -> None:
    async with limited_app(settings, rate_limits_enabled=False) as (application, res, _):
        schedule = await make_schedule(res)
        async with client_of(application) as client:
            codes = {(await client.get(f"/api/v1/schedules/{schedule.id}/seats")).status_code for _ in range(30)}
        assert codes == {200}


@pytest.mark.parametrize("rate", ["10", "0/second", "5/fortnight", "many per second"])
def test_a_rate_setting_that_does_not_read_stops_the_process(settings: Settings, rate: str) -> None:
    with pytest.raises(ValueError, match="a rate is"):
        Settings(**{**settings.model_dump(), "rate_limit_hold": rate})
