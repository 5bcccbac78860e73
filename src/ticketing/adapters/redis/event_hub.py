"""Pub/sub fan-out for the live streams: one Redis pub/sub connection per hub and process,
one queue per listener. A hub serves one kind of channel (seat changes, queue admissions),
one channel per schedule; what any API process or worker publishes reaches every listener
in every process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import structlog
from redis.asyncio.client import PubSub

from ticketing.adapters.redis.client import RedisClient, pubsub
from ticketing.adapters.redis.replies import text
from ticketing.domain.ids import ScheduleId

QUEUE_LIMIT = 1000
log = structlog.get_logger("ticketing.event_hub")


class EventHub:
    def __init__(self, redis: RedisClient, channel_of: Callable[[ScheduleId], str]) -> None:
        self._redis = redis
        self._channel_of = channel_of
        self._pubsub: PubSub | None = None
        self._listeners: dict[str, set[asyncio.Queue[bytes | None]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def listen(self, schedule_id: ScheduleId) -> AsyncIterator[asyncio.Queue[bytes | None]]:
        """A queue of raw messages for one schedule; ``None`` means the listener fell
        behind and must resync. Subscribed before it is handed out, so nothing is missed."""
        channel = self._channel_of(schedule_id)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_LIMIT)
        async with self._lock:
            if self._pubsub is None:
                self._pubsub = await pubsub(self._redis)
            if channel not in self._listeners:
                self._listeners[channel] = set()
                await self._pubsub.subscribe(channel)
            self._listeners[channel].add(queue)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read(self._pubsub))
        try:
            yield queue
        finally:
            async with self._lock:
                listeners = self._listeners.get(channel, set())
                listeners.discard(queue)
                if not listeners and channel in self._listeners:
                    del self._listeners[channel]
                    with contextlib.suppress(Exception):
                        await asyncio.shield(self._pubsub.unsubscribe(channel))

    @property
    def listener_count(self) -> int:
        return sum(len(q) for q in self._listeners.values())

    async def _read(self, pubsub: PubSub) -> None:
        while self._listeners:
            try:
                message = await pubsub.get_message(timeout=1.0)
            except Exception:
                log.exception("event_hub_read_failed")
                await asyncio.sleep(0.5)
                continue
            if message is None or message.get("type") != "message":
                continue
            for queue in list(self._listeners.get(text(message["channel"]), ())):
                try:
                    queue.put_nowait(message["data"])
                except asyncio.QueueFull:
                    # A slow client is cut loose rather than slowing everyone: it resyncs.
                    queue.get_nowait()
                    queue.put_nowait(None)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
