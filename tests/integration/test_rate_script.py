"""The rate limit counted in Redis (lua/lib/rate.lua), on its own and inside the hot scripts."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import make_schedule
from ticketing.adapters.redis.rate_limits import RateArgs, RedisRateLimiter
from ticketing.adapters.redis.waiting_room import RedisWaitingRoom
from ticketing.bootstrap import Resources
from ticketing.domain.errors import RateLimited
from ticketing.domain.ids import UserId
from ticketing.domain.rate_limits import Action, Rate


async def test_a_burst_of_amount_then_one_per_interval_and_refusals_count_nothing(res: Resources) -> None:
    limiter = RedisRateLimiter(res.keys, res.scripts, RateArgs({Action.PAYMENT: Rate(4, 1)}))  # 250 ms apart
    answers = [await limiter.hit(Action.PAYMENT, "user:a") for _ in range(6)]
    assert answers[:4] == [0] * 4
    assert all(200 < w <= 250 for w in answers[4:])  # the refused one was not counted
    assert await limiter.hit(Action.PAYMENT, "user:b") == 0  # another identity
    await asyncio.sleep(answers[5] / 1000 + 0.01)
    assert await limiter.hit(Action.PAYMENT, "user:a") == 0
    assert await limiter.hit(Action.PAYMENT, "user:a") > 0


async def test_an_action_without_a_limit_reads_and_writes_nothing(res: Resources) -> None:
    limiter = RedisRateLimiter(res.keys, res.scripts, RateArgs({}))
    assert {await limiter.hit(Action.SEAT_MAP, "addr:x") for _ in range(50)} == {0}
    assert await res.redis.exists(res.keys.rate(Action.SEAT_MAP, "addr:x")) == 0


async def test_the_state_lapses_once_the_window_is_over(res: Resources) -> None:
    limiter = RedisRateLimiter(res.keys, res.scripts, RateArgs({Action.PAYMENT: Rate(2, 1)}))
    await limiter.hit(Action.PAYMENT, "user:a")
    ttl_ms = await res.redis.pttl(res.keys.rate(Action.PAYMENT, "user:a"))
    assert 0 < ttl_ms <= 500


@pytest.mark.parametrize("action", [Action.ENTER, Action.STATUS])
async def test_the_waiting_room_scripts_count_before_anything_else(res: Resources, action: Action) -> None:
    room = RedisWaitingRoom(res.redis, res.keys, res.scripts, RateArgs({action: Rate(2, 60)}))
    schedule = await make_schedule(res)
    call = room.enter if action is Action.ENTER else room.status
    await call(schedule, UserId("u"))
    await call(schedule, UserId("u"))
    with pytest.raises(RateLimited) as refused:
        await call(schedule, UserId("u"))
    assert refused.value.retry_after_s == 30
    if action is Action.STATUS:
        assert await res.redis.zcard(res.keys.queue(schedule.id)) == 0  # status never entered anyone
