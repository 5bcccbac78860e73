"""Messages straight to a stack's private broker, and how far a consumer group has read.

A duplicate or out-of-order delivery is made by publishing again, with a plain producer, the
very messages the outbox relay sent (the ``payload`` and ``msg_key`` of ``outbox_event``),
encoded as the service encodes them. Whether the consumers have worked through them is read
from the broker: the group's committed offset reaches the end of every partition.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.faults.stack import Stack
from ticketing.adapters.kafka.codec import encode
from ticketing.domain.messages import CONFIRM_REQUESTED
from ticketing.services.confirmation import CONFIRM_CONSUMER


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    event_id: str
    key: str
    payload: str


def topic_name(stack: Stack, topic: str) -> str:
    """The topic as the stack's processes name it (``TICKETING_KAFKA_TOPIC_PREFIX`` + topic)."""
    return stack.env.get("TICKETING_KAFKA_TOPIC_PREFIX", "") + topic


def group_name(stack: Stack, group: str) -> str:
    return stack.env.get("TICKETING_KAFKA_TOPIC_PREFIX", "") + group


async def outbox_messages(stack: Stack, schedule_id: int, topic: str = CONFIRM_REQUESTED) -> list[OutboxMessage]:
    """The outbox rows of ``topic`` for one schedule, oldest first."""
    query = sa.text(
        "SELECT id, event_id, msg_key, payload FROM outbox_event"
        " WHERE topic = :t AND JSON_VALUE(payload, '$.schedule_id') = :s ORDER BY id"
    )
    rows = await stack.db_rows(query, {"t": topic, "s": schedule_id})
    return [OutboxMessage(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


async def publish(stack: Stack, topic: str, messages: Sequence[OutboxMessage]) -> None:
    """Publish ``messages`` in the order given (acks=all), as the relay would have."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for m in messages:
            await producer.send_and_wait(topic_name(stack, topic), encode(json.loads(m.payload)), key=m.key.encode())
    finally:
        await producer.stop()


async def _offsets(stack: Stack, topic: str, group: str | None) -> tuple[int, int]:
    """(messages on ``topic``, of those past ``group``'s committed offsets), over all partitions."""
    name = topic_name(stack, topic)
    group_id = group_name(stack, group) if group else None
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.broker.bootstrap_servers, group_id=group_id)
    await consumer.start()
    try:
        partitions = [TopicPartition(name, p) for p in sorted(await _partition_ids(consumer, name))]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        lag = 0
        for tp in partitions:
            committed = (await consumer.committed(tp)) if group_id else None
            lag += max(0, ends[tp] - (committed or 0))
        return sum(ends.values()), lag
    finally:
        await consumer.stop()


async def _partition_ids(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    found = consumer.partitions_for_topic(topic)
    if not found:
        await consumer._client.force_metadata_update()  # a topic new to this client
        found = consumer.partitions_for_topic(topic)
    return set(found or ())


async def message_count(stack: Stack, topic: str = CONFIRM_REQUESTED) -> int:
    """Messages ever published to ``topic`` on the broker (the sum of its partitions' end offsets)."""
    return (await _offsets(stack, topic, None))[0]


async def group_lag(stack: Stack, topic: str = CONFIRM_REQUESTED, group: str = CONFIRM_CONSUMER) -> int:
    """Messages on ``topic`` past the group's committed offsets (summed over partitions)."""
    return (await _offsets(stack, topic, group))[1]


async def until_consumed(
    stack: Stack, topic: str = CONFIRM_REQUESTED, group: str = CONFIRM_CONSUMER, timeout_s: float = 60.0
) -> float:
    """Until ``group`` committed past every message of ``topic``; returns how long it took."""
    began = time.monotonic()
    lag = -1
    while time.monotonic() - began < timeout_s:
        lag = await group_lag(stack, topic, group)
        if lag == 0:
            return time.monotonic() - began
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{group} still {lag} messages behind on {topic} after {timeout_s} s")
