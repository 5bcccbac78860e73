"""Rate limits counted in Redis with the ``limits`` library, so every API replica shares them.

The sliding-window counter costs one Lua call per counted request (two only when it refuses:
the second reads when the window frees a slot, for ``Retry-After``). Keys are
``<prefix>limits:{<action>/<identity>...}``: one identity's counters share a cluster slot.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from limits import RateLimitItemPerHour, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.limits import RateLimitItem
from redis.asyncio import ConnectionPool

from ticketing.domain.rate_limits import Action, Rate

ITEM_BY_PERIOD: dict[int, type[RateLimitItem]] = {
    1: RateLimitItemPerSecond,
    60: RateLimitItemPerMinute,
    3600: RateLimitItemPerHour,
}


def limit_item(rate: Rate) -> RateLimitItem:
    return ITEM_BY_PERIOD[rate.period_s](rate.amount)


class RedisRateLimiter:
    def __init__(self, pool: ConnectionPool, key_prefix: str, rates: Mapping[Action, Rate]) -> None:
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=f"{key_prefix}limits",
            connection_pool=pool,  # type: ignore[arg-type]  # passed through to redis-py (limits' own docs)
        )
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._items = {action: limit_item(rate) for action, rate in rates.items()}

    async def hit(self, action: Action, identity: str) -> float | None:
        item = self._items.get(action)
        if item is None or await self._limiter.hit(item, action.value, identity):
            return None
        stats = await self._limiter.get_window_stats(item, action.value, identity)
        return max(0.0, stats.reset_time - time.time())
