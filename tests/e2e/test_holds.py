"""Seat holds: one winner per seat, all-or-nothing, behind a live pass, within the per-user limit."""

import asyncio
import itertools

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, hold, seat_states
from ticketing.adapters.sql import tables
from ticketing.bootstrap import Resources
from ticketing.domain.errors import SeatTaken
from ticketing.domain.holds import hold_id_for
from ticketing.domain.ids import SeatNo, UserId


async def reservation_rows(res: Resources, schedule_id: int) -> list[tuple[str, str, str]]:
    r = tables.reservation
    async with res.engine.connect() as conn:
        rows = await conn.execute(sa.select(r.c.hold_id, r.c.seat_no, r.c.status).where(r.c.schedule_id == schedule_id))
        return [(row.hold_id, row.seat_no, row.status) for row in rows]


async def test_80_buyers_on_one_seat_exactly_one_wins_and_79_get_seat_taken(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=100, admit_per_tick=100)
    users = [f"fan{i}" for i in range(80)]
    passes = await admit(client, auth, app_res, schedule.id, users)
    start = asyncio.Event()

    async def attempt(user: str) -> httpx.Response:
        await start.wait()
        return await hold(client, auth, schedule.id, user, passes[user], ["A-1"])

    tasks = [asyncio.create_task(attempt(u)) for u in users]
    await asyncio.sleep(0.01)
    start.set()
    responses = await asyncio.gather(*tasks)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 79
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"SEAT_TAKEN"}
    assert all(r.json()["seat_nos"] == ["A-1"] for r in responses if r.status_code == 409)
    rows = await reservation_rows(app_res, schedule.id)
    assert len(rows) == 1  # losers never touched the database
    assert (await seat_states(client, schedule.id))["A-1"] == "HELD"


async def test_overlapping_multi_seat_holds_never_leave_a_partial_hold(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=100, admit_per_tick=100, rows=1, cols=6, max_seats_per_user=3)
    seats = [f"A-{i}" for i in range(1, 7)]
    requests = [list(c) for c in itertools.combinations(seats, 3)]  # 20 overlapping triples
    users = [f"grp{i}" for i in range(len(requests))]
    passes = await admit(client, auth, app_res, schedule.id, users)
    responses = await asyncio.gather(
        *(hold(client, auth, schedule.id, u, passes[u], req) for u, req in zip(users, requests, strict=True))
    )
    winners = [r.json() for r in responses if r.status_code == 201]
    assert {r.status_code for r in responses} <= {201, 409}
    assert 1 <= len(winners) <= 2
    held = [s for w in winners for s in w["seat_nos"]]
    assert len(held) == len(set(held))  # no seat in two holds
    rows = await reservation_rows(app_res, schedule.id)
    assert sorted(seat for _, seat, _ in rows) == sorted(held)  # every winner whole, no loser partially
    for w in winners:
        assert sorted(seat for hid, seat, _ in rows if hid == w["hold_id"]) == sorted(w["seat_nos"])
    states = await seat_states(client, schedule.id)
    assert sorted(s for s, st in states.items() if st == "HELD") == sorted(held)


async def test_holding_without_a_pass_is_refused(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    r = await hold(client, auth, schedule.id, "nopass", None, ["A-1"])
    assert (r.status_code, r.json()["code"]) == (403, "PASS_REQUIRED")
    assert await reservation_rows(app_res, schedule.id) == []


async def test_holding_with_someone_elses_pass_is_refused(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["owner"])
    r = await hold(client, auth, schedule.id, "thief", passes["owner"], ["A-1"])
    assert (r.status_code, r.json()["code"]) == (403, "PASS_INVALID")


async def test_holding_after_giving_back_the_pass_is_refused(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["leaver"])
    await client.delete(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("leaver"))
    r = await hold(client, auth, schedule.id, "leaver", passes["leaver"], ["A-1"])
    assert (r.status_code, r.json()["code"]) == (403, "PASS_EXPIRED")
    assert (await seat_states(client, schedule.id))["A-1"] == "AVAILABLE"


async def test_holding_more_than_the_per_user_limit_is_refused(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, max_seats_per_user=3)
    passes = await admit(client, auth, app_res, schedule.id, ["greedy"])
    r = await hold(client, auth, schedule.id, "greedy", passes["greedy"], ["A-1", "A-2", "A-3", "A-4"])
    assert (r.status_code, r.json()["code"]) == (422, "TOO_MANY_SEATS")
    assert (await hold(client, auth, schedule.id, "greedy", passes["greedy"], ["A-1", "A-2"])).status_code == 201
    r = await hold(client, auth, schedule.id, "greedy", passes["greedy"], ["B-1", "B-2"])
    assert (r.status_code, r.json()["code"]) == (422, "TOO_MANY_SEATS")
    assert r.json()["already_held"] == 2
    assert (await hold(client, auth, schedule.id, "greedy", passes["greedy"], ["B-1"])).status_code == 201
    assert len(await reservation_rows(app_res, schedule.id)) == 3


async def test_unknown_or_repeated_seats_are_422_and_lock_nothing(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["u"])
    r = await hold(client, auth, schedule.id, "u", passes["u"], ["A-1", "Z-99"])
    assert (r.status_code, r.json()["code"]) == (422, "UNKNOWN_SEAT")
    r = await hold(client, auth, schedule.id, "u", passes["u"], ["A-1", "A-1"])
    assert (r.status_code, r.json()["code"]) == (422, "INVALID_INPUT")
    r = await client.post(
        f"/api/v1/schedules/{schedule.id}/holds",
        json={"seat_nos": []},
        headers=auth("u") | {"X-Queue-Pass": passes["u"]},
    )
    assert (r.status_code, r.json()["code"]) == (422, "VALIDATION_FAILED")
    assert set((await seat_states(client, schedule.id)).values()) == {"AVAILABLE"}


async def test_owner_releases_a_hold_and_the_seat_is_available_again(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["a", "b"])
    hold_id = (await hold(client, auth, schedule.id, "a", passes["a"], ["A-1"])).json()["hold_id"]
    r = await client.delete(f"/api/v1/holds/{hold_id}", headers=auth("b"))
    assert (r.status_code, r.json()["code"]) == (403, "NOT_OWNER")
    assert (await client.delete(f"/api/v1/holds/{hold_id}", headers=auth("a"))).status_code == 204
    assert (await client.delete(f"/api/v1/holds/{hold_id}", headers=auth("a"))).status_code == 204  # idempotent
    assert (await seat_states(client, schedule.id))["A-1"] == "AVAILABLE"
    assert (await hold(client, auth, schedule.id, "b", passes["b"], ["A-1"])).status_code == 201
    r = await client.delete("/api/v1/holds/h_doesnotexist", headers=auth("a"))
    assert (r.status_code, r.json()["code"]) == (404, "HOLD_NOT_FOUND")


async def test_a_failed_reservation_write_gives_the_locks_back(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["u"])
    # Make the database refuse one of the rows, after Redis granted every lock.
    async with app_res.engine.begin() as conn:
        await conn.execute(tables.seat.insert().values(schedule_id=schedule.id, seat_no="W-1", price=1, ordinal=999))
        await conn.execute(sa.text("ALTER TABLE reservation ADD CONSTRAINT chk_no_w CHECK (seat_no <> 'W-1')"))
    app_res.catalog._seats.clear()
    app_res.catalog._prices.clear()
    try:
        r = await hold(client, auth, schedule.id, "u", passes["u"], ["A-1", "W-1"])
        assert r.status_code == 500
    finally:
        async with app_res.engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE reservation DROP CONSTRAINT chk_no_w"))
    states = await seat_states(client, schedule.id)
    assert (states["A-1"], states["W-1"]) == ("AVAILABLE", "AVAILABLE")
    assert await app_res.redis.exists(app_res.keys.seat_lock(schedule.id, "A-1")) == 0
    assert (await hold(client, auth, schedule.id, "u", passes["u"], ["A-1", "W-1"])).status_code == 201


async def test_the_hold_script_replayed_with_the_same_hold_id_answers_as_the_first_call(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    """A Redis client retries a script whose answer was lost (a broken connection, a slot that
    moved in a failover): the replay must not call the request's own seats taken."""
    schedule = await make_schedule(app_res, hold_ttl_s=600)
    await admit(client, auth, app_res, schedule.id, ["buyer"])
    seats = [SeatNo("A-1"), SeatNo("A-2")]
    first = await app_res.seat_locks.acquire(schedule.id, UserId("buyer"), "h_replayed", seats, 600_000, 4)
    again = await app_res.seat_locks.acquire(schedule.id, UserId("buyer"), "h_replayed", seats, 600_000, 4)
    assert again[1] == first[1], "the same hold, the same expiry"
    with pytest.raises(SeatTaken):
        await app_res.seat_locks.acquire(schedule.id, UserId("buyer"), "h_other", seats, 600_000, 4)


async def test_a_hold_retried_with_its_key_after_the_process_died_mid_hold_gets_the_seats(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    """An API process killed between the lock script and the insert: the locks stay, no row
    is written, the answer never comes. The buyer's retry, with the same Idempotency-Key,
    reaches another process and must get those very seats, not 409 for its own locks."""
    schedule = await make_schedule(app_res, hold_ttl_s=600)
    passes = await admit(client, auth, app_res, schedule.id, ["buyer"])
    seats = (SeatNo("A-1"), SeatNo("A-2"))
    first_call = hold_id_for(schedule.id, UserId("buyer"), seats, "k-1")
    await app_res.seat_locks.acquire(schedule.id, UserId("buyer"), first_call, seats, 600_000, 4)

    retry = await hold(client, auth, schedule.id, "buyer", passes["buyer"], ["A-2", "A-1"], key="k-1")

    assert retry.status_code == 201, retry.text
    assert retry.json()["hold_id"] == first_call
    assert sorted(await reservation_rows(app_res, schedule.id)) == [
        (first_call, "A-1", "HELD"),
        (first_call, "A-2", "HELD"),
    ]


async def test_a_hold_retried_with_its_key_after_a_lost_answer_is_the_same_hold(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["buyer"])
    first = await hold(client, auth, schedule.id, "buyer", passes["buyer"], ["B-1"], key="k-2")
    again = await hold(client, auth, schedule.id, "buyer", passes["buyer"], ["B-1"], key="k-2")
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert len(await reservation_rows(app_res, schedule.id)) == 1


async def test_a_key_whose_hold_was_released_is_spent_and_takes_nothing(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["buyer"])
    first = await hold(client, auth, schedule.id, "buyer", passes["buyer"], ["B-3"], key="k-3")
    released = await client.delete(f"/api/v1/holds/{first.json()['hold_id']}", headers=auth("buyer"))
    assert released.status_code == 204

    again = await hold(client, auth, schedule.id, "buyer", passes["buyer"], ["B-3"], key="k-3")

    assert again.status_code == 409
    assert again.json()["code"] == "IDEMPOTENCY_KEY_SPENT"
    assert (await seat_states(client, schedule.id))["B-3"] == "AVAILABLE"
    assert await app_res.redis.exists(app_res.keys.seat_lock(schedule.id, "B-3")) == 0
    fresh = await hold(client, auth, schedule.id, "buyer", passes["buyer"], ["B-3"], key="k-4")
    assert fresh.status_code == 201
