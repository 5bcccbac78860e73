"""Rate limits counted in Redis, so every API replica shares them (lua/lib/rate.lua).

The waiting room's enter and status and the hold count inside their own scripts (no extra
round trip on the stampede paths); everything else calls ``rate.lua`` here. A measurement
chose this over the ``limits`` library, whose one extra call per request cost a third of the
enter rate (README, "Security").
"""

from __future__ import annotations

from collections.abc import Mapping

from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.redis.replies import integer
from ticketing.adapters.redis.scripts import Scripts
from ticketing.domain.rate_limits import Action, Rate

UNLIMITED: list[float] = [0, 1]


class RateArgs:
    """The script arguments of each action's limit: ``[interval_ms, burst]``; 0 means none."""

    def __init__(self, rates: Mapping[Action, Rate]) -> None:
        self._args = {action: [rate.interval_ms, rate.amount] for action, rate in rates.items()}

    def __call__(self, action: Action) -> list[float]:
        return self._args.get(action, UNLIMITED)


class RedisRateLimiter:
    def __init__(self, keys: Keys, scripts: Scripts, args: RateArgs) -> None:
        self._keys = keys
        self._scripts = scripts
        self._args = args

    async def hit(self, action: Action, identity: str) -> int:
        return integer(await self._scripts.rate(keys=[self._keys.rate(action, identity)], args=self._args(action)))
