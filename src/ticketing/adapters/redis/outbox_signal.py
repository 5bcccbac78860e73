"""Wake-up signal for outbox relays over Redis pub/sub; polling stays the fallback."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from redis.asyncio.client import PubSub

from ticketing.adapters.redis.client import RedisClient, pubsub
from ticketing.adapters.redis.keys import Keys

log = structlog.get_logger("ticketing.outbox_signal")


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
        """Wait up to ``timeout_s`` for a signal; True if one came. Subscribes on first use.

        Never returns early on an error: with Redis unreachable it sleeps out the time (the
        caller's poll is the fallback) and subscribes again next time, so a relay never
        spins on a failing subscription."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            if self._pubsub is None:
                self._pubsub = await pubsub(self._redis)
                await self._pubsub.subscribe(self._channel)
            while (left := deadline - loop.time()) > 0:
                message = await self._pubsub.get_message(timeout=left)
                if message is not None:
                    # Drain what else arrived: one wake-up covers them all.
                    while await self._pubsub.get_message(timeout=0):
                        pass
                    return True
        except Exception as exc:
            log.warning("outbox_signal_unavailable", error=f"{type(exc).__name__}: {exc}"[:200])
            await self.close()
            await asyncio.sleep(max(0.0, deadline - loop.time()))
        return False

    async def close(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None
