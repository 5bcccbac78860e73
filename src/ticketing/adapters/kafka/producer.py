"""Publishing with aiokafka: acks=all; idempotence is a setting (on for Kafka/Redpanda)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from ticketing.adapters.kafka.codec import encode


class KafkaPublisher:
    def __init__(self, bootstrap_servers: str, enable_idempotence: bool, timeout_s: float) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=enable_idempotence,
            linger_ms=0,
            request_timeout_ms=int(timeout_s * 1000),
        )
        self._timeout_s = timeout_s
        self._started = False
        self._lock = asyncio.Lock()

    async def _ensure_started(self) -> None:
        async with self._lock:
            if not self._started:
                async with asyncio.timeout(self._timeout_s * 3):
                    await self._producer.start()
                self._started = True

    async def publish(self, topic: str, key: str, payload: dict[str, Any]) -> None:
        """Returns once the broker acknowledged the message (all in-sync replicas)."""
        await self._ensure_started()
        async with asyncio.timeout(self._timeout_s * 3):
            await self._producer.send_and_wait(topic, encode(payload), key=key.encode())

    async def publish_many(self, messages: list[tuple[str, str, dict[str, Any]]]) -> list[BaseException | None]:
        """Send a batch concurrently; one result (None = acknowledged) per message, in order."""
        await self._ensure_started()
        futures = [await self._producer.send(t, encode(p), key=k.encode()) for t, k, p in messages]

        async def wait(f: Any) -> None:
            async with asyncio.timeout(self._timeout_s * 3):
                await f

        results = await asyncio.gather(*(wait(f) for f in futures), return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    async def close(self) -> None:
        if self._started:
            await self._producer.stop()
            self._started = False
