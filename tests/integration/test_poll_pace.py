"""The poll pace, applied by the enter and status scripts in Redis (lua/lib/pace.lua)."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import make_schedule
from ticketing.bootstrap import Resources
from ticketing.domain.ids import UserId
from ticketing.domain.waiting_room import (
    Admitted,
    AskedTooEarly,
    Waiting,
    estimate_wait_s,
    poll_after_ms,
)


async def redis_now_ms(res: Resources) -> int:
    seconds, micros = await res.redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def test_asking_again_before_the_pace_is_refused_without_a_rank_and_answered_after_it(res: Resources) -> None:
    schedule = await make_schedule(res)
    await res.waiting_room.enter(schedule, UserId("a"))
    first = await res.waiting_room.enter(schedule, UserId("b"))
    assert isinstance(first, Waiting)
    early = await res.waiting_room.status(schedule, UserId("b"))
    assert isinstance(early, AskedTooEarly)
    assert 0 < early.wait_ms <= first.poll_after_ms
    again = await res.waiting_room.enter(schedule, UserId("b"))  # entering again is no way around it
    assert isinstance(again, AskedTooEarly)
    await asyncio.sleep(early.wait_ms / 1000 + 0.01)
    later = await res.waiting_room.status(schedule, UserId("b"))
    assert isinstance(later, Waiting)
    assert (later.ticket, later.position) == (first.ticket, 2)
    assert isinstance(await res.waiting_room.status(schedule, UserId("b")), AskedTooEarly)


@pytest.mark.parametrize(("ahead", "rate"), [(0, 0.0), (3, 0.0), (40, 2.5), (500, 3.0), (10_000, 1.0), (7, 0.4)])
async def test_the_scripts_floor_is_the_domains_pace_with_the_least_jitter(
    res: Resources, ahead: int, rate: float
) -> None:
    schedule = await make_schedule(res, capacity=20, pass_ttl_s=120)
    if rate:
        await res.redis.hset(res.keys.queue_rate(schedule.id), "per_s", str(rate))
    for i in range(ahead):
        await res.redis.zadd(res.keys.queue(schedule.id), {f"x{i}": i + 1})
    await res.redis.set(res.keys.queue_seq(schedule.id), ahead)
    before = await redis_now_ms(res)
    answer = await res.waiting_room.enter(schedule, UserId("me"))
    after = await redis_now_ms(res)
    assert isinstance(answer, Waiting)
    assert answer.ahead == ahead
    not_before = int(await res.redis.hget(res.keys.queue_pace(schedule.id, "me"), "me") or 0)
    floor = poll_after_ms(estimate_wait_s(ahead, rate, schedule.queue), schedule.queue.pass_ttl_s, spread=0.0)
    assert before + floor <= not_before <= after + floor
    assert answer.poll_after_ms >= floor  # an obedient client is never early


async def test_an_admitted_user_is_never_paced_and_leaving_forgets_the_pace(res: Resources) -> None:
    schedule = await make_schedule(res, capacity=1)
    await res.waiting_room.enter(schedule, UserId("a"))
    await res.waiting_room.enter(schedule, UserId("b"))
    await res.waiting_room.advance(schedule.id, schedule.queue)
    assert isinstance(await res.waiting_room.status(schedule, UserId("a")), Admitted)
    assert isinstance(await res.waiting_room.status(schedule, UserId("a")), Admitted)
    assert not await res.redis.hexists(res.keys.queue_pace(schedule.id, "a"), "a")
    assert await res.redis.hexists(res.keys.queue_pace(schedule.id, "b"), "b")
    await res.waiting_room.leave(schedule.id, UserId("b"))
    assert not await res.redis.hexists(res.keys.queue_pace(schedule.id, "b"), "b")
