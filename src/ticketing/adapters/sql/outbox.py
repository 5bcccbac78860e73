"""Transactional outbox: rows written in the business transaction, relayed to Kafka later.

Relays claim rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and stamp a lease in a
short transaction, publish with no transaction open, then mark the rows SENT. A relay
that dies after publishing leaves its lease to run out; the rows are published again
and the consumer's idempotency makes the duplicate harmless.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.times import from_db_time, to_db_time
from ticketing.adapters.sql.transient import RetryPolicy
from ticketing.domain.messages import OutboxMessage

PENDING = "PENDING"
SENT = "SENT"
MAX_BACKOFF_S = 30.0


async def append(conn: AsyncConnection, topic: str, key: str, payload: dict[str, Any], now: datetime) -> None:
    """Add a message inside the caller's transaction; ``payload['event_id']`` is its identity."""
    db_now = to_db_time(now)
    await conn.execute(
        t.outbox_event.insert().values(
            event_id=payload["event_id"],
            topic=topic,
            msg_key=key,
            payload=json.dumps(payload, separators=(",", ":")),
            status=PENDING,
            attempts=0,
            available_at=db_now,
            created_at=db_now,
        )
    )


def retry_delay_s(attempts: int) -> float:
    """Exponential backoff: 0.5 s, 1 s, 2 s ... capped at 30 s."""
    return float(min(MAX_BACKOFF_S, 0.5 * 2 ** max(0, attempts - 1)))


class SqlOutbox:
    def __init__(self, engine: AsyncEngine, retry: RetryPolicy) -> None:
        self._engine = engine
        self._retry = retry

    async def claim(self, relay_id: str, limit: int, lease_s: float, now: datetime) -> list[OutboxMessage]:
        """Lease up to ``limit`` due rows to this relay (rows leased by a live relay are skipped)."""
        return await self._retry.run(lambda: self._claim(relay_id, limit, lease_s, now))

    async def _claim(self, relay_id: str, limit: int, lease_s: float, now: datetime) -> list[OutboxMessage]:
        db_now = to_db_time(now)
        o = t.outbox_event
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(o.c.id, o.c.event_id, o.c.topic, o.c.msg_key, o.c.payload, o.c.attempts)
                    .where(
                        o.c.status == PENDING,
                        o.c.available_at <= db_now,
                        sa.or_(o.c.claimed_until.is_(None), o.c.claimed_until < db_now),
                    )
                    .order_by(o.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return []
            await conn.execute(
                o.update()
                .where(o.c.id.in_([r.id for r in rows]))
                .values(claimed_by=relay_id, claimed_until=db_now + timedelta(seconds=lease_s))
            )
        return [OutboxMessage(r.id, r.event_id, r.topic, r.msg_key, json.loads(r.payload), r.attempts) for r in rows]

    async def mark_sent(self, relay_id: str, ids: Sequence[int], now: datetime) -> int:
        if not ids:
            return 0
        o = t.outbox_event

        async def attempt() -> int:
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    o.update()
                    .where(o.c.id.in_(ids), o.c.status == PENDING, o.c.claimed_by == relay_id)
                    .values(status=SENT, sent_at=to_db_time(now), claimed_by=None, claimed_until=None)
                )
            return int(result.rowcount)

        return await self._retry.run(attempt)

    async def mark_retry(self, relay_id: str, messages: Sequence[OutboxMessage], error: str, now: datetime) -> None:
        await self._retry.run(lambda: self._mark_retry(relay_id, messages, error, now))

    async def _mark_retry(self, relay_id: str, messages: Sequence[OutboxMessage], error: str, now: datetime) -> None:
        o = t.outbox_event
        async with self._engine.begin() as conn:
            for m in messages:
                await conn.execute(
                    o.update()
                    .where(o.c.id == m.id, o.c.status == PENDING, o.c.claimed_by == relay_id)
                    .values(
                        attempts=m.attempts + 1,
                        available_at=to_db_time(now + timedelta(seconds=retry_delay_s(m.attempts + 1))),
                        claimed_by=None,
                        claimed_until=None,
                        last_error=error[:500],
                    )
                )

    async def backlog(self, now: datetime) -> tuple[int, float]:
        """(pending rows, age in seconds of the oldest pending row)."""
        o = t.outbox_event
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(sa.select(sa.func.count(), sa.func.min(o.c.created_at)).where(o.c.status == PENDING))
            ).one()
        count, oldest = row
        age = (now - from_db_time(oldest)).total_seconds() if oldest else 0.0
        return int(count), max(0.0, age)
