"""Once a show has started, nobody can hold or pay for its seats."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, hold, order
from ticketing.bootstrap import Resources


async def test_holds_and_payments_are_refused_after_starts_at(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, starts_in=timedelta(seconds=2))
    passes = await admit(client, auth, app_res, schedule.id, ["early", "late"])
    early = await hold(client, auth, schedule.id, "early", passes["early"], ["A-1"])
    assert early.status_code == 201
    await asyncio.sleep(2.1)
    r = await hold(client, auth, schedule.id, "late", passes["late"], ["A-2"])
    assert (r.status_code, r.json()["code"]) == (409, "SALE_CLOSED")
    r = await order(client, auth, "early", early.json()["hold_id"])
    assert (r.status_code, r.json()["code"]) == (409, "SALE_CLOSED")
    assert (await client.get(f"/api/v1/schedules/{schedule.id}/seats")).json()  # the map still answers
    mine = (await client.get("/api/v1/me/reservations", headers=auth("late"))).json()
    assert [x for x in mine if x["schedule_id"] == schedule.id] == []  # (users are shared across tests)
