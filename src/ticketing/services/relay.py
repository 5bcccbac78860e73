"""Outbox relay: committed messages go to the broker, at least once."""

from __future__ import annotations

from ticketing.services.ports import Clock, OutboxStore, Publisher


async def relay_outbox(
    outbox: OutboxStore, publisher: Publisher, clock: Clock, relay_id: str, batch: int, lease_s: float
) -> int:
    """Lease a batch of due rows, publish them (acks=all) with no transaction open, mark the
    acknowledged ones SENT and reschedule the rest with backoff. A relay dying between
    publish and mark leaves the lease to expire and the rows are sent again (consumers are
    idempotent). Returns how many were sent."""
    messages = await outbox.claim(relay_id, batch, lease_s, clock.now())
    if not messages:
        return 0
    results = await publisher.publish_many([(m.topic, m.key, m.payload) for m in messages])
    sent = [m.id for m, error in zip(messages, results, strict=True) if error is None]
    failed = [m for m, error in zip(messages, results, strict=True) if error is not None]
    await outbox.mark_sent(relay_id, sent, clock.now())
    if failed:
        first = next(e for e in results if e is not None)
        await outbox.mark_retry(relay_id, failed, f"{type(first).__name__}: {first}", clock.now())
    return len(sent)
