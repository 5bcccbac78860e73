"""Live seat states in Redis (HASH seat_no -> AVAILABLE/HELD/SOLD) for fast seat-map reads."""

from __future__ import annotations

from ticketing.adapters.redis.client import RedisClient
from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.redis.replies import text
from ticketing.domain.ids import ScheduleId


class RedisSeatMap:
    def __init__(self, redis: RedisClient, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def states(self, schedule_id: ScheduleId) -> dict[str, str]:
        raw = await self._redis.hgetall(self._keys.seat_state(schedule_id))
        return {text(k): text(v) for k, v in raw.items()}
