"""Deletes what a sale leaves behind once nobody needs it, in small batches.

Each statement deletes at most ``limit`` rows by a range on an indexed timestamp, so a
backlog is worked off in short transactions that never hold many row locks at once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.database import Database
from ticketing.adapters.sql.outbox import SENT
from ticketing.adapters.sql.times import to_db_time
from ticketing.domain.ids import ScheduleId


class SqlRetention:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def delete_sent_outbox(self, sent_before: datetime, limit: int) -> int:
        """Outbox rows published before ``sent_before``. Unsent rows (pending, or given up and
        waiting for an operator) are never touched."""
        o = t.outbox_event
        query = o.delete().where(o.c.sent_at < to_db_time(sent_before), o.c.status == SENT)
        return await self._delete(query, limit)

    async def delete_processed(self, processed_before: datetime, limit: int) -> int:
        """Marks of events consumed before ``processed_before`` (a redelivery that old cannot come)."""
        p = t.processed_event
        return await self._delete(p.delete().where(p.c.processed_at < to_db_time(processed_before)), limit)

    async def _delete(self, query: sa.Delete, limit: int) -> int:
        async with self._db.auto.connect() as conn:
            return int((await conn.execute(query.with_dialect_options(mysql_limit=limit))).rowcount)

    async def shows_started_before(self, started_before: datetime, limit: int) -> list[ScheduleId]:
        """Schedules whose show started before ``started_before`` and whose live state is still in Redis."""
        s = t.schedule
        query = (
            sa.select(s.c.id)
            .where(s.c.starts_at < to_db_time(started_before), s.c.live_state_released_at.is_(None))
            .order_by(s.c.starts_at)
            .limit(limit)
        )
        async with self._db.auto.connect() as conn:
            return [ScheduleId(row.id) for row in await conn.execute(query)]

    async def mark_released(self, schedule_id: ScheduleId, now: datetime) -> None:
        s = t.schedule
        query = s.update().where(s.c.id == schedule_id).values(live_state_released_at=to_db_time(now))
        async with self._db.auto.connect() as conn:
            await conn.execute(query)
