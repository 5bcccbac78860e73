"""Consuming with aiokafka: a consumer group, no auto-commit; offsets go in after the DB commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError
from aiokafka.structs import OffsetAndMetadata

from ticketing.adapters.kafka.codec import decode
from ticketing.domain.messages import Delivery


def _delivery(m: Any, topic_prefix: str) -> Delivery:
    key = m.key.decode("utf-8", "replace") if m.key else None
    topic = m.topic.removeprefix(topic_prefix)
    try:
        return Delivery(topic, m.partition, m.offset, key, m.value, decode(m.value))
    except ValueError as exc:
        return Delivery(topic, m.partition, m.offset, key, m.value, None, str(exc))


class KafkaSubscription:
    def __init__(
        self,
        bootstrap_servers: str,
        topics: list[str],
        group_id: str,
        session_timeout_ms: int,
        timeout_s: float,
        topic_prefix: str = "",
        fetch_max_wait_ms: int = 20,
    ) -> None:
        self._topic_prefix = topic_prefix
        self._consumer = AIOKafkaConsumer(
            *(topic_prefix + t for t in topics),
            bootstrap_servers=bootstrap_servers,
            group_id=topic_prefix + group_id,
            enable_auto_commit=False,
            # Kafka answers a fetch as soon as data arrives; the local broker waits out the
            # whole fetch wait, which became the floor of payment-to-confirmed latency.
            fetch_max_wait_ms=fetch_max_wait_ms,
            auto_offset_reset="earliest",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(100, session_timeout_ms // 3),
            request_timeout_ms=max(int(timeout_s * 1000), session_timeout_ms + 5000),
        )
        self._timeout_s = timeout_s

    async def start(self) -> None:
        async with asyncio.timeout(self._timeout_s * 10):
            await self._consumer.start()

    async def fetch(self, timeout_ms: int, max_records: int) -> list[Delivery]:
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        records = [_delivery(m, self._topic_prefix) for messages in batches.values() for m in messages]
        return sorted(records, key=lambda r: (r.topic, r.partition, r.offset))

    async def commit(self, record: Delivery) -> None:
        """Commit the position after ``record`` (the next offset to read)."""
        tp = TopicPartition(self._topic_prefix + record.topic, record.partition)
        async with asyncio.timeout(self._timeout_s * 3):
            await self._consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "")})

    async def rewind(self, unfinished: Sequence[Delivery]) -> None:
        first: dict[TopicPartition, int] = {}
        for record in unfinished:
            tp = TopicPartition(self._topic_prefix + record.topic, record.partition)
            first[tp] = min(first.get(tp, record.offset), record.offset)
        for tp, offset in first.items():
            try:
                self._consumer.seek(tp, offset)
            except IllegalStateError:
                continue  # revoked by a rebalance: its new owner starts from the committed offset

    async def lag(self) -> int:
        """Messages on this member's assigned partitions past its fetch position (0 while unassigned)."""
        assigned = list(self._consumer.assignment())
        if not assigned:
            return 0
        async with asyncio.timeout(self._timeout_s * 3):
            ends = await self._consumer.end_offsets(assigned)
            behind = 0
            for tp in assigned:
                try:
                    position = await self._consumer.position(tp)
                except IllegalStateError:
                    continue  # revoked by a rebalance since assignment(): another member reports it
                behind += max(0, ends.get(tp, position) - position)
        return behind

    async def close(self) -> None:
        await self._consumer.stop()
