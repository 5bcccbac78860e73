"""The organiser steers a running sale: pause and resume admission, change its pace, close
it, and read its numbers. Each control acts at the advancer's next tick."""

import asyncio

import httpx

from tests.conftest import make_schedule, pace_passes
from tests.e2e.flows import Auth, admit, hold, next_event, serve
from ticketing.bootstrap import Resources
from ticketing.domain.identity import Role
from ticketing.settings import Settings
from ticketing.workers.queue_advancer import QueueAdvancer


async def enter_all(client: httpx.AsyncClient, auth: Auth, schedule_id: int, users: list[str]) -> None:
    for user in users:
        r = await client.post(f"/api/v1/schedules/{schedule_id}/queue", headers=auth(user))
        assert r.status_code == 202, r.text


async def statuses(
    client: httpx.AsyncClient, auth: Auth, res: Resources, schedule_id: int, users: list[str]
) -> list[str]:
    await pace_passes(res, schedule_id)
    answers = [await client.get(f"/api/v1/schedules/{schedule_id}/queue", headers=auth(u)) for u in users]
    return [a.json().get("status") or a.json()["code"] for a in answers]


async def test_a_paused_waiting_room_admits_nobody_until_resumed(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=10, admit_per_tick=10)
    users = ["w1", "w2", "w3"]
    await enter_all(client, auth, schedule.id, users)
    paused = await client.patch(
        f"/api/v1/admin/schedules/{schedule.id}/queue", json={"paused": True}, headers=auth("boss", admin=True)
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True

    assert (await QueueAdvancer(app_res).tick()).admitted == 0
    assert await statuses(client, auth, app_res, schedule.id, users) == ["WAITING"] * 3

    resumed = await client.patch(
        f"/api/v1/admin/schedules/{schedule.id}/queue", json={"paused": False}, headers=auth("boss", admin=True)
    )
    assert resumed.json()["paused"] is False
    assert (await QueueAdvancer(app_res).tick()).admitted == 3
    assert await statuses(client, auth, app_res, schedule.id, users) == ["ADMITTED"] * 3


async def test_capacity_and_rate_changes_act_at_the_next_tick(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=1, admit_per_tick=1)
    await enter_all(client, auth, schedule.id, ["c1", "c2", "c3", "c4"])
    assert (await QueueAdvancer(app_res).tick()).admitted == 1
    assert (await QueueAdvancer(app_res).tick()).admitted == 0  # capacity 1, taken
    steered = await client.patch(
        f"/api/v1/admin/schedules/{schedule.id}/queue",
        json={"capacity": 4, "admit_per_tick": 2},
        headers=auth("boss", admin=True),
    )
    assert (steered.json()["capacity"], steered.json()["admit_per_tick"]) == (4, 2)
    assert (await QueueAdvancer(app_res).tick()).admitted == 2
    assert (await QueueAdvancer(app_res).tick()).admitted == 1
    public = (await client.get(f"/api/v1/schedules/{schedule.id}")).json()["queue"]
    assert (public["capacity"], public["admit_per_tick"], public["paused"]) == (4, 2, False)


async def test_closing_the_sale_withdraws_every_pass_and_refuses_entering_and_holding(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=10)
    passes = await admit(client, auth, app_res, schedule.id, ["early", "late"])
    held = await hold(client, auth, schedule.id, "early", passes["early"], ["A-1"])
    assert held.status_code == 201

    closed = await client.post(f"/api/v1/admin/schedules/{schedule.id}/close", headers=auth("boss", admin=True))
    assert closed.status_code == 200, closed.text
    assert (closed.json()["closed"], closed.json()["live_passes"]) == (True, 0)

    refused = await hold(client, auth, schedule.id, "late", passes["late"], ["A-2"])
    assert (refused.status_code, refused.json()["code"]) == (409, "SALE_CLOSED")
    entering = await client.post(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("newcomer"))
    assert (entering.status_code, entering.json()["code"]) == (409, "SALE_CLOSED")
    asking = await client.get(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("late"))
    assert asking.json()["code"] == "SALE_CLOSED"
    # A hold made before the close may still be paid for.
    order = await client.post(
        "/api/v1/payments", json={"hold_id": held.json()["hold_id"]}, headers=auth("early") | {"Idempotency-Key": "k"}
    )
    assert order.status_code == 201, order.text
    again = await client.patch(
        f"/api/v1/admin/schedules/{schedule.id}/queue", json={"paused": False}, headers=auth("boss", admin=True)
    )
    assert (again.status_code, again.json()["code"]) == (409, "SALE_CLOSED")


async def test_the_dashboard_counts_the_line_the_passes_and_the_seats(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=2, admit_per_tick=2)
    passes = await admit(client, auth, app_res, schedule.id, ["d1", "d2"])
    await enter_all(client, auth, schedule.id, ["d3", "d4", "d5"])
    assert (await hold(client, auth, schedule.id, "d1", passes["d1"], ["A-1", "A-2"])).status_code == 201

    r = await client.get(f"/api/v1/admin/schedules/{schedule.id}/dashboard", headers=auth("boss", admin=True))

    d = r.json()
    assert (d["waiting"], d["live_passes"], d["admitted"], d["capacity"]) == (3, 2, 2, 2)
    assert d["seats"] == {"available": 8, "held": 2, "sold": 0}
    assert (d["confirmed_seats"], d["refunds"], d["paused"], d["closed"]) == (0, 0, False, False)
    assert (d["guard_conflicts"], d["refunds_done"]) == (0, 0)


async def test_the_controls_are_the_organisers_and_refuse_bad_input(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    base = f"/api/v1/admin/schedules/{schedule.id}"
    assert (await client.patch(f"{base}/queue", json={"paused": True}, headers=auth("fan"))).status_code == 403
    assert (await client.post(f"{base}/close", headers=auth("fan"))).status_code == 403
    assert (await client.get(f"{base}/dashboard", headers=auth("fan"))).status_code == 403
    admin = auth("boss", admin=True)
    for body in ({}, {"capacity": 0}, {"admit_per_tick": -1}, {"paused": "maybe"}, {"pace": 3}):
        r = await client.patch(f"{base}/queue", json=body, headers=admin)
        assert (r.status_code, r.headers["content-type"]) == (422, "application/problem+json"), body
    unchanged = (await client.get(f"/api/v1/schedules/{schedule.id}")).json()["queue"]
    assert (unchanged["capacity"], unchanged["paused"]) == (10, False)
    missing = await client.post("/api/v1/admin/schedules/987654321/close", headers=admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "SCHEDULE_NOT_FOUND")


async def test_waiting_pages_are_told_of_a_pause_at_once(settings: Settings) -> None:
    async with serve(settings) as (url, app), httpx.AsyncClient(base_url=url, timeout=10) as c:
        res: Resources = app.state.resources
        schedule = await make_schedule(res)
        admin = {"Authorization": f"Bearer {res.access_tokens.issue('boss', Role.ADMIN)}"}
        async with c.stream("GET", f"/api/v1/schedules/{schedule.id}/queue/stream") as stream:
            lines = stream.aiter_lines()
            _, hello = await asyncio.wait_for(next_event(lines), 5)
            assert (hello["paused"], hello["closed"]) == (False, False)
            await c.patch(f"/api/v1/admin/schedules/{schedule.id}/queue", json={"paused": True}, headers=admin)
            _, told = await asyncio.wait_for(next_event(lines), 5)
            assert told["paused"] is True
            await c.post(f"/api/v1/admin/schedules/{schedule.id}/close", headers=admin)
            _, told = await asyncio.wait_for(next_event(lines), 5)
            assert told["closed"] is True
