"""Catalog repository: events, schedules and seats in SQL."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from ticketing.adapters.sql import tables as t
from ticketing.adapters.sql.database import Database
from ticketing.adapters.sql.times import from_db_time, to_db_time
from ticketing.domain.catalog import Event, NewSchedule, QueuePolicy, Schedule, SeatSpec
from ticketing.domain.ids import EventId, ScheduleId, SeatNo

SEAT_INSERT_BATCH = 1000
# Schedules never change after creation, and every queue call needs one: keep them
# in process for a while so the hot path does not touch the database.
SCHEDULE_CACHE_TTL_S = 30.0
SCHEDULE_CACHE_MAX = 10_000


def _new_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _event(row: Any) -> Event:
    return Event(EventId(row.id), row.title, row.description, from_db_time(row.created_at))


def _schedule(row: Any) -> Schedule:
    return Schedule(
        id=ScheduleId(row.id),
        event_id=EventId(row.event_id),
        starts_at=from_db_time(row.starts_at),
        sale_opens_at=from_db_time(row.sale_opens_at),
        hold_ttl_s=row.hold_ttl_s,
        max_seats_per_user=row.max_seats_per_user,
        queue=QueuePolicy(row.queue_capacity, row.pass_ttl_s, row.admit_per_tick, bool(row.admission_paused)),
        sale_closed_at=from_db_time(row.sale_closed_at) if row.sale_closed_at else None,
    )


class SqlCatalog:
    """Reads and writes the catalog; every write is one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._schedules: dict[ScheduleId, tuple[float, Schedule]] = {}
        self._seats: dict[ScheduleId, list[SeatSpec]] = {}
        self._prices: dict[ScheduleId, dict[str, Decimal]] = {}
        self._loading: dict[ScheduleId, asyncio.Future[Schedule | None]] = {}
        # One seat-table load at a time: a sale opening must not make every request of
        # its first second read the whole seat table at once.
        self._seats_lock = asyncio.Lock()

    async def add_event(self, title: str, description: str, now: datetime) -> Event:
        async with self._db.tx.begin() as conn:
            result = await conn.execute(
                t.event.insert().values(title=title, description=description, created_at=to_db_time(now))
            )
            event_id = EventId(_new_id(result))
        return Event(event_id, title, description, now)

    async def get_event(self, event_id: EventId) -> Event | None:
        async with self._db.auto.connect() as conn:
            row = (await conn.execute(t.event.select().where(t.event.c.id == event_id))).first()
        return _event(row) if row else None

    async def list_events(self, limit: int, offset: int) -> list[Event]:
        query = t.event.select().order_by(t.event.c.id).limit(limit).offset(offset)
        async with self._db.auto.connect() as conn:
            return [_event(r) for r in await conn.execute(query)]

    async def add_schedule(self, event_id: EventId, new: NewSchedule, now: datetime) -> Schedule:
        async with self._db.tx.begin() as conn:
            result = await conn.execute(
                t.schedule.insert().values(
                    event_id=event_id,
                    starts_at=to_db_time(new.starts_at),
                    sale_opens_at=to_db_time(new.sale_opens_at),
                    queue_capacity=new.queue.capacity,
                    pass_ttl_s=new.queue.pass_ttl_s,
                    admit_per_tick=new.queue.admit_per_tick,
                    hold_ttl_s=new.hold_ttl_s,
                    max_seats_per_user=new.max_seats_per_user,
                    created_at=to_db_time(now),
                )
            )
            schedule_id = ScheduleId(_new_id(result))
            rows = [
                {
                    "schedule_id": schedule_id,
                    "seat_no": s.seat_no,
                    "section": s.section,
                    "row_label": s.row_label,
                    "price": s.price,
                    "ordinal": i,
                }
                for i, s in enumerate(new.seats)
            ]
            for start in range(0, len(rows), SEAT_INSERT_BATCH):
                await conn.execute(t.seat.insert(), rows[start : start + SEAT_INSERT_BATCH])
        return Schedule(
            schedule_id, event_id, new.starts_at, new.sale_opens_at, new.hold_ttl_s, new.max_seats_per_user, new.queue
        )

    async def get_schedule(self, schedule_id: ScheduleId, fresh: bool = False) -> Schedule | None:
        """Cached for ``SCHEDULE_CACHE_TTL_S``; ``fresh`` reads the row (and refreshes the cache)."""
        if fresh:
            return await self._load_schedule(schedule_id)
        cached = self._schedules.get(schedule_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        # Single flight per id: when a sale opens, every request misses at once; one of
        # them reads the row and the others wait for its answer.
        loading = self._loading.get(schedule_id)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[Schedule | None] = asyncio.get_running_loop().create_future()
        self._loading[schedule_id] = future
        try:
            schedule = await self._load_schedule(schedule_id)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here, so an unawaited failure is not reported twice
            raise
        else:
            future.set_result(schedule)
        finally:
            del self._loading[schedule_id]
        return schedule

    async def _load_schedule(self, schedule_id: ScheduleId) -> Schedule | None:
        async with self._db.auto.connect() as conn:
            row = (await conn.execute(t.schedule.select().where(t.schedule.c.id == schedule_id))).first()
        if row is None:
            return None  # misses are not cached: unknown ids must not fill memory
        schedule = _schedule(row)
        if len(self._schedules) >= SCHEDULE_CACHE_MAX:
            self._schedules.clear()
        self._schedules[schedule_id] = (time.monotonic() + SCHEDULE_CACHE_TTL_S, schedule)
        return schedule

    async def steer_admission(
        self, schedule_id: ScheduleId, capacity: int | None, admit_per_tick: int | None, paused: bool | None
    ) -> Schedule | None:
        """Change the named admission settings of an open sale; the schedule as it now is."""
        changes: dict[str, object] = {}
        if capacity is not None:
            changes["queue_capacity"] = capacity
        if admit_per_tick is not None:
            changes["admit_per_tick"] = admit_per_tick
        if paused is not None:
            changes["admission_paused"] = paused
        s = t.schedule
        async with self._db.tx.begin() as conn:
            await conn.execute(s.update().where(s.c.id == schedule_id, s.c.sale_closed_at.is_(None)).values(**changes))
        return await self._load_schedule(schedule_id)

    async def close_sale(self, schedule_id: ScheduleId, now: datetime) -> Schedule | None:
        """Mark the sale closed (the first closing time stays); the schedule as it now is."""
        s = t.schedule
        async with self._db.tx.begin() as conn:
            await conn.execute(
                s.update()
                .where(s.c.id == schedule_id, s.c.sale_closed_at.is_(None))
                .values(sale_closed_at=to_db_time(now), admission_paused=True)
            )
        return await self._load_schedule(schedule_id)

    async def list_schedules(self, event_id: EventId) -> list[Schedule]:
        query = t.schedule.select().where(t.schedule.c.event_id == event_id).order_by(t.schedule.c.id)
        async with self._db.auto.connect() as conn:
            return [_schedule(r) for r in await conn.execute(query)]

    async def list_on_sale(self, now: datetime) -> list[Schedule]:
        """Schedules whose sale has opened, was not closed, and whose show has not started."""
        db_now = to_db_time(now)
        s = t.schedule
        query = s.select().where(s.c.sale_opens_at <= db_now, s.c.starts_at > db_now, s.c.sale_closed_at.is_(None))
        async with self._db.auto.connect() as conn:
            return [_schedule(r) for r in await conn.execute(query)]

    async def list_seats(self, schedule_id: ScheduleId) -> list[SeatSpec]:
        """Every seat in display order; seats never change after creation, so cached for good."""
        seats = self._seats.get(schedule_id)
        if seats is not None:
            return seats
        async with self._seats_lock:
            seats = self._seats.get(schedule_id)
            if seats is None:
                query = t.seat.select().where(t.seat.c.schedule_id == schedule_id).order_by(t.seat.c.ordinal)
                async with self._db.auto.connect() as conn:
                    rows = await conn.execute(query)
                    seats = [SeatSpec(SeatNo(r.seat_no), Decimal(r.price), r.section, r.row_label) for r in rows]
                if seats:
                    if len(self._seats) >= SCHEDULE_CACHE_MAX // 10:
                        self._seats.clear()
                        self._prices.clear()
                    self._seats[schedule_id] = seats
                    self._prices[schedule_id] = {seat.seat_no: seat.price for seat in seats}
        return seats

    async def seat_prices(self, schedule_id: ScheduleId) -> dict[str, Decimal]:
        """seat_no -> price (cached with the seat list)."""
        prices = self._prices.get(schedule_id)
        if prices is None:
            await self.list_seats(schedule_id)
            prices = self._prices.get(schedule_id, {})
        return prices
