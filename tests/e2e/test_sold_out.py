"""Sold out, told at once: when every seat is SOLD the line closes itself -- enter and status
answer SOLD_OUT, the advancer admits nobody more, waiting pages are told -- and the count
survives Redis losing the sale (the reconciler's rebuild counts the sold seats again)."""

import asyncio

import httpx
import pytest

from tests.conftest import delete_keys, make_schedule, pace_passes
from tests.e2e.flows import Auth, admit, eventually, hold, next_event, order, serve, webhook
from ticketing.bootstrap import Resources
from ticketing.domain.ids import SeatNo
from ticketing.settings import Settings
from ticketing.workers.queue_advancer import QueueAdvancer


async def status_of(client: httpx.AsyncClient, auth: Auth, res: Resources, schedule_id: int, user: str) -> str:
    await pace_passes(res, schedule_id)
    answer = await client.get(f"/api/v1/schedules/{schedule_id}/queue", headers=auth(user))
    return str(answer.json()["status"])


async def test_the_line_closes_itself_when_the_last_seat_is_sold_and_stays_closed_after_a_rebuild(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, workers: dict[str, object]
) -> None:
    schedule = await make_schedule(app_res, rows=1, cols=2, capacity=1, admit_per_tick=1)
    passes = await admit(client, auth, app_res, schedule.id, ["fan"])
    waiting = await client.post(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("waiter"))
    assert waiting.json()["status"] == "WAITING"
    r = await hold(client, auth, schedule.id, "fan", passes["fan"], ["A-1", "A-2"])
    assert r.status_code == 201, r.text
    order_no = (await order(client, auth, "fan", r.json()["hold_id"])).json()["order_no"]
    assert (await webhook(client, app_res, order_no, "PAID")).status_code == 200

    async def closed() -> bool:
        return await status_of(client, auth, app_res, schedule.id, "waiter") == "SOLD_OUT"

    assert await eventually(closed, timeout_s=20)
    newcomer = await client.post(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("newcomer"))
    assert (newcomer.status_code, newcomer.json()) == (200, {"status": "SOLD_OUT"})
    assert await app_res.waiting_room.live_pass_count(schedule.id) == 0  # the fan's pass came back...
    await asyncio.sleep(0.5)  # ...and several advancer ticks later
    assert await app_res.waiting_room.waiting_count(schedule.id) == 1  # the waiter was not let in

    # Redis forgets the sale: until the reconciler rebuilds it nothing is known to be sold
    # (holds answer 503 meanwhile); the rebuild counts the sold seats again.
    await delete_keys(app_res.settings.redis_url, app_res.settings.redis_key_prefix)
    await app_res.waiting_room.register(schedule)

    async def closed_again() -> bool:
        return await status_of(client, auth, app_res, schedule.id, "someone") == "SOLD_OUT"

    assert await eventually(closed_again, timeout_s=20)


async def test_waiting_pages_are_told_once_when_the_last_seat_is_sold(settings: Settings) -> None:
    async with serve(settings) as (url, app), httpx.AsyncClient(base_url=url, timeout=10) as c:
        res: Resources = app.state.resources
        schedule = await make_schedule(res, rows=1, cols=2)
        async with c.stream("GET", f"/api/v1/schedules/{schedule.id}/queue/stream") as stream:
            lines = stream.aiter_lines()
            _, hello = await asyncio.wait_for(next_event(lines), 5)
            assert hello["sold_out"] is False
            await res.seat_locks.mark_sold(schedule.id, [SeatNo("A-1")])
            assert (await QueueAdvancer(res).tick()).admitted == 0
            await res.seat_locks.mark_sold(schedule.id, [SeatNo("A-2")])  # the last seat
            await QueueAdvancer(res).tick()
            _, told = await asyncio.wait_for(next_event(lines), 5)
            assert told["sold_out"] is True
            await QueueAdvancer(res).tick()  # told once, not every tick
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(next_event(lines), 1)


async def test_the_line_reopens_for_those_still_waiting_when_a_seat_comes_back(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    """Nothing un-sells a seat today (SOLD is final); a cancellation would lower the sold count.
    The line follows the count: the waiter keeps its place, and is admitted when it reopens."""
    schedule = await make_schedule(app_res, rows=1, cols=1, capacity=1)
    await client.post(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("patient"))
    await app_res.seat_locks.mark_sold(schedule.id, [SeatNo("A-1")])
    assert (await QueueAdvancer(app_res).tick()).admitted == 0
    assert await status_of(client, auth, app_res, schedule.id, "patient") == "SOLD_OUT"

    await app_res.redis.decr(app_res.keys.seats_sold(schedule.id))  # as a cancellation would

    assert (await QueueAdvancer(app_res).tick()).admitted == 1
    assert await status_of(client, auth, app_res, schedule.id, "patient") == "ADMITTED"
    assert not (await app_res.waiting_room.line(schedule.id)).sold_out
