"""Script calls of one event-loop turn share one round trip (adapters/redis/round_trips.py),
on the test Redis, with each caller getting its own reply or its own error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from ticketing.adapters.redis.round_trips import RoundTrips
from ticketing.devtools.broker import free_port
from ticketing.settings import Settings

ECHO = """
if ARGV[1] == 'fail' then return redis.error_reply('asked to fail') end
return {redis.call('INCR', KEYS[1]), ARGV[1]}
"""


class CountedRedis(Redis):
    """The real client, counting the pipelines it opens (each one a round trip)."""

    pipelines = 0

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        CountedRedis.pipelines += 1
        return super().pipeline(transaction, shard_hint)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[CountedRedis]:
    client = CountedRedis.from_url(settings.redis_url)
    CountedRedis.pipelines = 0
    yield client
    await client.aclose()


def key(settings: Settings, name: str) -> str:
    return f"{settings.redis_key_prefix}trips:{name}"


async def test_the_calls_of_a_turn_go_in_one_round_trip_each_with_its_own_reply(
    redis: CountedRedis, settings: Settings
) -> None:
    trips, echo = RoundTrips(redis), redis.register_script(ECHO)
    replies = await asyncio.gather(*(trips.call(echo, [key(settings, "n")], [f"c{i}"]) for i in range(50)))
    assert [r[1] for r in replies] == [f"c{i}".encode() for i in range(50)]
    assert sorted(r[0] for r in replies) == list(range(1, 51))  # each ran once
    assert CountedRedis.pipelines == 1


async def test_a_call_alone_in_its_turn_is_a_plain_call(redis: CountedRedis, settings: Settings) -> None:
    trips, echo = RoundTrips(redis), redis.register_script(ECHO)
    assert await trips.call(echo, [key(settings, "n")], ["one"]) == [1, b"one"]
    assert await trips.call(echo, [key(settings, "n")], ["two"]) == [2, b"two"]
    assert CountedRedis.pipelines == 0


async def test_a_script_error_is_its_callers_alone(redis: CountedRedis, settings: Settings) -> None:
    trips, echo = RoundTrips(redis), redis.register_script(ECHO)
    answers = await asyncio.gather(
        *(trips.call(echo, [key(settings, "n")], ["fail" if i == 3 else "ok"]) for i in range(8)),
        return_exceptions=True,
    )
    assert isinstance(answers[3], ResponseError)
    assert "asked to fail" in str(answers[3])
    assert all(isinstance(a, list) and a[1] == b"ok" for i, a in enumerate(answers) if i != 3)
    assert CountedRedis.pipelines == 1


async def test_scripts_redis_forgot_are_loaded_again(redis: CountedRedis, settings: Settings) -> None:
    trips, echo = RoundTrips(redis), redis.register_script(ECHO)
    await echo(keys=[key(settings, "n")], args=["load"])
    await redis.script_flush()  # as after a restart: NOSCRIPT for every call of the next turn
    replies = await asyncio.gather(*(trips.call(echo, [key(settings, "n")], [str(i)]) for i in range(5)))
    assert [r[1] for r in replies] == [str(i).encode() for i in range(5)]
    assert await redis.script_exists(echo.sha) == [True]


async def test_a_caller_that_stops_waiting_leaves_the_others_their_replies(
    redis: CountedRedis, settings: Settings
) -> None:
    trips, echo = RoundTrips(redis), redis.register_script(ECHO)
    calls = [asyncio.ensure_future(trips.call(echo, [key(settings, "n")], [str(i)])) for i in range(6)]
    await asyncio.sleep(0)  # every call is in the turn
    calls[2].cancel()
    answers = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(answers[2], asyncio.CancelledError)
    assert [a[1] for i, a in enumerate(answers) if i != 2] == [str(i).encode() for i in range(6) if i != 2]


async def test_a_redis_that_does_not_answer_fails_every_call_of_the_turn() -> None:
    nobody = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    trips, echo = RoundTrips(nobody), nobody.register_script(ECHO)
    answers = await asyncio.gather(*(trips.call(echo, ["k"], [str(i)]) for i in range(4)), return_exceptions=True)
    assert all(isinstance(a, RedisConnectionError) for a in answers)
    await nobody.aclose()
