"""Releases the Redis state of a schedule whose show is over: the line, the passes, the
seat state and every key named per user or seat in its slot. The database keeps the truth."""

from __future__ import annotations

from ticketing.adapters.redis.client import RedisClient
from ticketing.adapters.redis.keys import Keys
from ticketing.domain.ids import ScheduleId

SCAN_COUNT = 1000
UNLINK_BATCH = 500


class RedisLiveState:
    def __init__(self, redis: RedisClient, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def release(self, schedule_id: ScheduleId) -> int:
        """Delete every key of the schedule (UNLINK: freed off Redis' main thread); returns how many."""
        k = self._keys
        deleted = int(await self._redis.unlink(*k.of_schedule(schedule_id)))
        for pattern in k.of_schedule_per_member(schedule_id):
            batch: list[bytes] = []
            async for key in self._redis.scan_iter(match=pattern, count=SCAN_COUNT):
                batch.append(key)
                if len(batch) >= UNLINK_BATCH:
                    deleted += int(await self._redis.unlink(*batch))
                    batch.clear()
            if batch:
                deleted += int(await self._redis.unlink(*batch))
        return deleted
