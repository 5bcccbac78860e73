"""Publishing with aiokafka: acks=all; idempotence is a setting (on for Kafka/Redpanda)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from ticketing.adapters.kafka.codec import encode


class KafkaPublisher:
    def __init__(
        self, bootstrap_servers: str, enable_idempotence: bool, timeout_s: float, topic_prefix: str = ""
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic_prefix = topic_prefix
        self._enable_idempotence = enable_idempotence
        self._timeout_s = timeout_s
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure_started(self) -> AIOKafkaProducer:
        # Created on first use: processes that never publish never open a broker connection.
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap_servers,
                    acks="all",
                    enable_idempotence=self._enable_idempotence,
                    linger_ms=0,
                    request_timeout_ms=int(self._timeout_s * 1000),
                )
                try:
                    async with asyncio.timeout(self._timeout_s * 3):
                        await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def publish(self, topic: str, key: str, payload: dict[str, Any]) -> None:
        """Returns once the broker acknowledged the message (all in-sync replicas)."""
        producer = await self._ensure_started()
        async with asyncio.timeout(self._timeout_s * 3):
            await producer.send_and_wait(self._topic_prefix + topic, encode(payload), key=key.encode())

    async def publish_many(self, messages: list[tuple[str, str, dict[str, Any]]]) -> list[BaseException | None]:
        """Send a batch concurrently; one result (None = acknowledged) per message, in order."""
        producer = await self._ensure_started()
        futures = [await producer.send(self._topic_prefix + t, encode(p), key=k.encode()) for t, k, p in messages]

        async def wait(f: Any) -> None:
            async with asyncio.timeout(self._timeout_s * 3):
                await f

        results = await asyncio.gather(*(wait(f) for f in futures), return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
