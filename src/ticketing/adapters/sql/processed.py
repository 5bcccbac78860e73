"""Consumer idempotency: a tracking row inserted in the same transaction as the state change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.errors import is_duplicate_key
from ticketing.adapters.sql.times import to_db_time


async def mark_processed(conn: AsyncConnection, consumer: str, event_id: str, now: datetime) -> bool:
    """Record that ``consumer`` handled ``event_id``; False if it already had (a redelivery).

    Runs in a savepoint so a duplicate leaves the surrounding transaction usable.
    """
    try:
        async with conn.begin_nested():
            await conn.execute(
                t.processed_event.insert().values(consumer=consumer, event_id=event_id, processed_at=to_db_time(now))
            )
    except IntegrityError as exc:
        if is_duplicate_key(exc):
            return False
        raise
    return True
