"""The waiting room through the HTTP API with the queue advancer running or ticked."""

import asyncio
from collections.abc import Callable

import httpx

from tests.conftest import make_schedule, pace_passes
from ticketing.bootstrap import Resources
from ticketing.workers.queue_advancer import QueueAdvancer

Auth = Callable[..., dict[str, str]]


async def enter(client: httpx.AsyncClient, auth: Auth, schedule_id: int, user: str) -> httpx.Response:
    return await client.post(f"/api/v1/schedules/{schedule_id}/queue", headers=auth(user))


async def status(client: httpx.AsyncClient, auth: Auth, schedule_id: int, user: str) -> dict[str, object]:
    r = await client.get(f"/api/v1/schedules/{schedule_id}/queue", headers=auth(user))
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


async def test_500_concurrent_entrants_get_unique_tickets_and_are_admitted_in_ticket_order(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=1000, admit_per_tick=37)
    users = [f"buyer{i}" for i in range(500)]
    responses = await asyncio.gather(*(enter(client, auth, schedule.id, u) for u in users))
    assert {r.status_code for r in responses} == {202}
    assert sorted(r.json()["position"] for r in responses) != []

    queue = await app_res.redis.zrange(app_res.keys.queue(schedule.id), 0, -1, withscores=True)
    tickets = {member.decode(): int(score) for member, score in queue}
    assert set(tickets) == set(users)
    assert sorted(tickets.values()) == list(range(1, 501))  # unique, gapless, from the counter

    by_ticket = sorted(users, key=tickets.__getitem__)
    advancer = QueueAdvancer(app_res)
    admitted_so_far = 0
    while admitted_so_far < 500:
        admitted_so_far += (await advancer.tick()).admitted
        passes = await app_res.redis.zrange(app_res.keys.passes(schedule.id), 0, -1)
        assert {p.decode() for p in passes} == set(by_ticket[:admitted_so_far])
    assert (await status(client, auth, schedule.id, by_ticket[-1]))["status"] == "ADMITTED"


async def test_three_concurrent_advancers_never_exceed_capacity(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=10, admit_per_tick=7, pass_ttl_s=1)
    await asyncio.gather(*(enter(client, auth, schedule.id, f"u{i}") for i in range(40)))
    advancers = [QueueAdvancer(app_res) for _ in range(3)]
    peak = 0
    stop = asyncio.Event()

    async def watch() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, await app_res.waiting_room.live_pass_count(schedule.id))
            await asyncio.sleep(0)

    watcher = asyncio.create_task(watch())
    deadline = asyncio.get_running_loop().time() + 15
    while await app_res.waiting_room.waiting_count(schedule.id) and asyncio.get_running_loop().time() < deadline:
        await asyncio.gather(*(a.tick() for a in advancers))
        peak = max(peak, await app_res.waiting_room.live_pass_count(schedule.id))
        await asyncio.sleep(0.05)
    stop.set()
    await watcher
    assert peak == 10
    assert await app_res.waiting_room.waiting_count(schedule.id) == 0  # expiring passes let everyone through


async def test_expired_passes_are_redistributed_without_anyone_acting(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=2, pass_ttl_s=1, admit_per_tick=10)
    for user in ("u1", "u2", "u3"):
        assert (await enter(client, auth, schedule.id, user)).status_code == 202
    advancer = QueueAdvancer(app_res)
    await advancer.tick()
    await pace_passes(app_res, schedule.id)
    assert [(await status(client, auth, schedule.id, u))["status"] for u in ("u1", "u2", "u3")] == [
        "ADMITTED",
        "ADMITTED",
        "WAITING",
    ]
    stop = asyncio.Event()
    worker = asyncio.create_task(advancer.run(stop))  # the scheduled advancer, as in production
    try:
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            await pace_passes(app_res, schedule.id)  # u3 polls every 50 ms, faster than its pace
            if (await status(client, auth, schedule.id, "u3"))["status"] == "ADMITTED":
                break
            assert asyncio.get_running_loop().time() < deadline, "u3 was never admitted"
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await worker
    assert (await status(client, auth, schedule.id, "u1"))["status"] == "NOT_IN_QUEUE"


async def test_entering_twice_keeps_the_same_place(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    await enter(client, auth, schedule.id, "first")
    once = (await enter(client, auth, schedule.id, "second")).json()
    await enter(client, auth, schedule.id, "third")
    await pace_passes(app_res, schedule.id)
    twice = (await enter(client, auth, schedule.id, "second")).json()
    assert once["position"] == twice["position"] == 2
    assert twice["ahead"] == 1


async def test_waiting_answer_carries_position_eta_and_server_paced_polling(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=5, pass_ttl_s=60)
    for i in range(30):
        await enter(client, auth, schedule.id, f"w{i}")
    await pace_passes(app_res, schedule.id)
    front = await status(client, auth, schedule.id, "w0")
    back = await status(client, auth, schedule.id, "w29")
    assert {k: v for k, v in front.items() if k != "poll_after_ms"} == {
        "status": "WAITING",
        "ticket": 1,
        "position": 1,
        "ahead": 0,
        "eta_s": 0,
    }
    assert 800 <= front["poll_after_ms"] <= 1200  # type: ignore[operator]
    assert (back["position"], back["ticket"]) == (30, 30)
    assert back["eta_s"] == 29 * 60 // 5 + (1 if 29 * 60 % 5 else 0)
    assert back["poll_after_ms"] > front["poll_after_ms"]  # type: ignore[operator]


async def test_leaving_with_a_pass_frees_the_slot_for_the_next_in_line(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, capacity=1)
    await enter(client, auth, schedule.id, "holder")
    await enter(client, auth, schedule.id, "next")
    advancer = QueueAdvancer(app_res)
    await advancer.tick()
    await pace_passes(app_res, schedule.id)
    assert (await status(client, auth, schedule.id, "next"))["status"] == "WAITING"
    r = await client.delete(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("holder"))
    assert r.status_code == 204
    assert (await status(client, auth, schedule.id, "holder"))["status"] == "NOT_IN_QUEUE"
    await advancer.tick()
    assert (await status(client, auth, schedule.id, "next"))["status"] == "ADMITTED"


async def test_leaving_the_line_gives_up_the_place(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    await enter(client, auth, schedule.id, "a")
    await enter(client, auth, schedule.id, "b")
    assert (await client.delete(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("a"))).status_code == 204
    await pace_passes(app_res, schedule.id)
    assert (await status(client, auth, schedule.id, "b"))["position"] == 1
    assert (await client.delete(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("a"))).status_code == 204


async def test_admitted_user_entering_again_gets_200_with_the_pass(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    await enter(client, auth, schedule.id, "a")
    await QueueAdvancer(app_res).tick()
    r = await enter(client, auth, schedule.id, "a")
    assert r.status_code == 200
    assert r.json()["status"] == "ADMITTED"
    assert r.json()["pass_token"]


async def test_entering_before_the_sale_opens_is_sale_not_open(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    from datetime import timedelta

    schedule = await make_schedule(app_res, opens_in=timedelta(hours=1))
    r = await enter(client, auth, schedule.id, "eager")
    assert r.status_code == 409
    assert r.json()["code"] == "SALE_NOT_OPEN"
    assert await app_res.waiting_room.waiting_count(schedule.id) == 0
