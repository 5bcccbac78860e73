"""Nobody reaches another buyer's hold, order, pass or reservations, nor the admin routes;
odd input is refused. Each probe gets its 4xx problem+json and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import httpx
import sqlalchemy as sa

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, hold, order, seat_states
from ticketing.adapters.sql import tables
from ticketing.bootstrap import Resources


def problem(r: httpx.Response) -> tuple[int, str]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return r.status_code, r.json()["code"]


async def rows(res: Resources) -> tuple[int, int, int]:
    async with res.engine.connect() as conn:
        counts = []
        for table in (tables.reservation, tables.payment_order, tables.event):
            counts.append(int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()))
        return counts[0], counts[1], counts[2]


async def test_another_buyers_hold_order_and_reservations_are_out_of_reach(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["owner"])
    hold_id = (await hold(client, auth, schedule.id, "owner", passes["owner"], ["A-1"])).json()["hold_id"]
    order_no = (await order(client, auth, "owner", hold_id)).json()["order_no"]
    before = await rows(app_res)
    mallory = auth("mallory")
    assert problem(await client.delete(f"/api/v1/holds/{hold_id}", headers=mallory)) == (403, "NOT_OWNER")
    assert problem(await client.get(f"/api/v1/payments/{order_no}", headers=mallory)) == (403, "NOT_OWNER")
    r = await order(client, auth, "mallory", hold_id)
    assert problem(r) == (403, "NOT_OWNER")
    mine = (await client.get("/api/v1/me/reservations", headers=mallory)).json()
    assert hold_id not in {x["hold_id"] for x in mine}
    assert await rows(app_res) == before
    assert (await seat_states(client, schedule.id))["A-1"] == "HELD"


async def test_a_hold_needs_my_own_live_pass_for_this_schedule(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    other_schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["me", "you"])
    elsewhere = await admit(client, auth, app_res, other_schedule.id, ["me"])
    expired = app_res.pass_tokens.issue("me", schedule.id, app_res.clock.now() - timedelta(seconds=1))
    before = await rows(app_res)
    cases = {
        None: "PASS_REQUIRED",
        passes["you"]: "PASS_INVALID",  # someone else's pass
        elsewhere["me"]: "PASS_INVALID",  # my pass, for another schedule
        expired: "PASS_EXPIRED",
        passes["me"][:-4] + "AAAA": "PASS_INVALID",  # tampered
    }
    for pass_token, code in cases.items():
        assert problem(await hold(client, auth, schedule.id, "me", pass_token, ["A-1"])) == (403, code), code
    assert await rows(app_res) == before
    assert (await seat_states(client, schedule.id))["A-1"] == "AVAILABLE"


async def test_admin_routes_refuse_a_user_token(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    before = await rows(app_res)
    r = await client.post("/api/v1/admin/events", json={"title": "mine"}, headers=auth("user"))
    assert problem(r) == (403, "ADMIN_REQUIRED")
    r = await client.post(f"/api/v1/admin/events/{schedule.event_id}/schedules", json={}, headers=auth("user"))
    assert problem(r)[0] in (403, 422)
    assert problem(await client.post("/api/v1/admin/events", json={"title": "x"})) == (401, "NOT_AUTHENTICATED")
    assert await rows(app_res) == before


async def test_oversized_headers_are_refused(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    huge = "x" * 10_000
    r = await client.get("/api/v1/me/reservations", headers={"Authorization": f"Bearer {huge}"})
    assert problem(r) == (401, "NOT_AUTHENTICATED")
    r = await hold(client, auth, schedule.id, "me", huge, ["A-1"])
    assert problem(r)[0] in (403, 422)
    r = await client.post("/api/v1/payments", json={"hold_id": "h_x"}, headers=auth("me") | {"Idempotency-Key": huge})
    assert problem(r)[0] in (400, 422)


async def test_sql_ish_and_unicode_seat_numbers_hold_nothing(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["me"])
    before = await rows(app_res)
    for seats in (
        ["A-1' OR '1'='1"],
        ["A-1; DROP TABLE reservation;--"],
        ["\uff21-\uff11"],  # full-width look-alike of A-1
        ["A-1", "\u202eA-2"],  # right-to-left override
        ["💺"],
        ["A-1\x00"],
    ):
        r = await hold(client, auth, schedule.id, "me", passes["me"], seats)
        assert problem(r) in ((422, "UNKNOWN_SEAT"), (422, "VALIDATION_FAILED")), (seats, r.text)
    assert await rows(app_res) == before
    assert set((await seat_states(client, schedule.id)).values()) == {"AVAILABLE"}
