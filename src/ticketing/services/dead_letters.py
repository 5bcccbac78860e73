"""Dead letters: list what the consumers gave up on, and send it back to its topic."""

from __future__ import annotations

from ticketing.domain.messages import CONFIRM_REQUESTED, REFUND_REQUESTED, DeadLetter, dead_letter_topic
from ticketing.services.ports import DeadLetterReader, Publisher

CONSUMED_TOPICS = (CONFIRM_REQUESTED, REFUND_REQUESTED)


def dead_letter_topics(topic: str | None) -> list[str]:
    """The dead-letter topics to read: every consumed topic's, or the one named (by its own
    name or by its dead-letter name)."""
    if topic is None:
        return [dead_letter_topic(t) for t in CONSUMED_TOPICS]
    return [topic if topic.endswith(".dlq") else dead_letter_topic(topic)]


async def list_dead_letters(reader: DeadLetterReader, topic: str | None = None) -> list[DeadLetter]:
    return await reader.read(dead_letter_topics(topic))


async def replay_dead_letters(
    reader: DeadLetterReader,
    publisher: Publisher,
    topic: str | None = None,
    offset: int | None = None,
    partition: int | None = None,
) -> tuple[list[DeadLetter], list[DeadLetter]]:
    """Publish letters' original messages to their original topics again (all of them, or
    the one at ``offset``). Safe to repeat: every consumer is idempotent on the event id,
    so a letter replayed twice is handled once. Returns (replayed, skipped as undecodable)."""
    letters = await list_dead_letters(reader, topic)
    if offset is not None:
        letters = [x for x in letters if x.offset == offset and (partition is None or x.partition == partition)]
    replayed, skipped = [], []
    for letter in letters:
        payload = letter.replayable()
        if payload is None:
            skipped.append(letter)
            continue
        await publisher.publish(letter.original_topic, letter.key, payload)
        replayed.append(letter)
    return replayed, skipped
