"""Reading dead-letter topics from the start, outside any consumer group (nothing is committed)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from ticketing.domain.messages import DeadLetter


def _letter(topic: str, m: Any) -> DeadLetter:
    try:
        envelope = json.loads(m.value)
    except ValueError:
        envelope = {}
    if not isinstance(envelope, dict):
        envelope = {}
    return DeadLetter(
        topic=topic,
        partition=m.partition,
        offset=m.offset,
        original_topic=str(envelope.get("topic", topic.removesuffix(".dlq"))),
        consumer=str(envelope.get("consumer", "")),
        key=str(envelope.get("key") or ""),
        raw=str(envelope.get("raw", "")),
        error=str(envelope.get("error", "")),
    )


class KafkaDeadLetters:
    def __init__(self, bootstrap_servers: str, timeout_s: float, topic_prefix: str = "") -> None:
        self._bootstrap_servers = bootstrap_servers
        self._timeout_s = timeout_s
        self._topic_prefix = topic_prefix

    async def read(self, topics: Sequence[str]) -> list[DeadLetter]:
        """Every letter on these topics, oldest first per partition; a missing topic is empty."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap_servers, enable_auto_commit=False, group_id=None)
        async with asyncio.timeout(self._timeout_s * 10):
            await consumer.start()
        try:
            letters: list[DeadLetter] = []
            for topic in topics:
                letters += await self._read_topic(consumer, topic)
            return letters
        finally:
            await consumer.stop()

    async def _read_topic(self, consumer: AIOKafkaConsumer, topic: str) -> list[DeadLetter]:
        name = self._topic_prefix + topic
        if name not in await consumer.topics():  # also refreshes the partition metadata
            return []
        ids = consumer.partitions_for_topic(name) or set()
        tps = [TopicPartition(name, p) for p in sorted(ids)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        async with asyncio.timeout(self._timeout_s * 10):
            ends = await consumer.end_offsets(tps)
            letters: list[DeadLetter] = []
            remaining = {tp for tp in tps if ends[tp] > 0}
            while remaining:
                batches = await consumer.getmany(*remaining, timeout_ms=500)
                for tp, messages in batches.items():
                    letters += [_letter(topic, m) for m in messages if m.offset < ends[tp]]
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
        return sorted(letters, key=lambda x: (x.partition, x.offset))
