"""Hold expiry is decided by one clock (the database's), never by a worker's own.

An expirer whose host clock runs 20 s fast must not expire a live hold, and one whose
clock runs 20 s slow must not keep a dead hold.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import httpx

from tests.conftest import SkewedClock, make_schedule
from tests.e2e.flows import Auth, admit, hold, seat_states
from tests.e2e.test_confirmation import hold_statuses
from ticketing.bootstrap import Resources
from ticketing.workers.hold_expirer import HoldExpirer


def expirer_with_clock(res: Resources, offset_s: float) -> HoldExpirer:
    return HoldExpirer(dataclasses.replace(res, clock=SkewedClock(timedelta(seconds=offset_s))))


async def test_an_expirer_whose_clock_runs_20_s_fast_leaves_a_live_hold_alone(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, hold_ttl_s=10)
    passes = await admit(client, auth, app_res, schedule.id, ["buyer"])
    hold_id = (await hold(client, auth, schedule.id, "buyer", passes["buyer"], ["A-1"])).json()["hold_id"]
    assert await expirer_with_clock(app_res, +20).tick() == 0
    assert await hold_statuses(client, auth, "buyer", hold_id) == {"HELD"}
    assert (await seat_states(client, schedule.id))["A-1"] == "HELD"


async def test_an_expirer_whose_clock_runs_20_s_slow_still_expires_a_dead_hold(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, hold_ttl_s=1)
    passes = await admit(client, auth, app_res, schedule.id, ["buyer"])
    hold_id = (await hold(client, auth, schedule.id, "buyer", passes["buyer"], ["A-1"])).json()["hold_id"]
    await asyncio.sleep(1.3)
    assert await expirer_with_clock(app_res, -20).tick() == 1
    assert await hold_statuses(client, auth, "buyer", hold_id) == {"EXPIRED"}
    assert (await seat_states(client, schedule.id))["A-1"] == "AVAILABLE"
