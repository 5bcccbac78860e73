"""Wake-up signal for outbox relays over Redis pub/sub; polling stays the fallback."""

from __future__ import annotations

import asyncio
import contextlib

from redis.asyncio.client import PubSub

from ticketing.adapters.redis.client import RedisClient
from ticketing.adapters.redis.keys import Keys


class RedisOutboxSignal:
    def __init__(self, redis: RedisClient, keys: Keys) -> None:
        self._redis = redis
        self._channel = keys.outbox_wake()
        self._pubsub: PubSub | None = None

    async def notify(self) -> None:
        """Best effort: a lost signal only delays the row until the next poll."""
        with contextlib.suppress(Exception):
            await self._redis.publish(self._channel, b"1")

    async def wait(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for a signal; True if one came. Subscribes on first use."""
        if self._pubsub is None:
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            await self._pubsub.subscribe(self._channel)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            message = await self._pubsub.get_message(timeout=left)
            if message is not None:
                # Drain what else arrived: one wake-up covers them all.
                while await self._pubsub.get_message(timeout=0):
                    pass
                return True
        return False

    async def close(self) -> None:
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None
