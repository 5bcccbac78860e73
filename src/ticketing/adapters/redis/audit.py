"""Read-only Redis reads for the invariant check: admissions, passes and seat map in one atomic snapshot."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.redis.replies import text
from ticketing.domain.ids import ScheduleId
from ticketing.domain.invariants import LiveState

NEVER_MS = 2**62  # stands in for an infinite pass score, which int() cannot hold


def _ticket(value: Any) -> int:
    # Tickets are ZSET scores copied into the list by advance.lua; Redis may print a large
    # score in exponent form ("1e+15"), which int() alone would refuse.
    return int(Decimal(text(value)))


class RedisAudit:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def live_state(self, schedule_id: ScheduleId) -> LiveState:
        """One MULTI/EXEC: the clock, the pass set and the seat map are seen at the same instant.

        The admissions list can hold up to 1,000,000 tickets; reading it whole inside the
        transaction costs one short pause of Redis, which an operator's check can afford,
        and avoids paging through a list that advance.lua may trim meanwhile.
        """
        k, s = self._keys, schedule_id
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.time()
            pipe.lrange(k.admissions(s), 0, -1)
            pipe.zrange(k.passes(s), 0, -1, withscores=True)
            pipe.hgetall(k.seat_state(s))
            (seconds, micros), tickets, passes, states = await pipe.execute()
        return LiveState(
            now_ms=int(seconds) * 1000 + int(micros) // 1000,
            admitted_tickets=tuple(_ticket(x) for x in tickets),
            pass_expiries_ms=tuple(int(min(score, NEVER_MS)) for _, score in passes),
            seat_states={text(seat): text(state) for seat, state in states.items()},
        )
