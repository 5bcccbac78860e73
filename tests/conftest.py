"""Shared fixtures: a database and Redis key prefix per test run, the local broker, resources."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from ticketing.adapters.sql.database import drop_database, migrate
from ticketing.bootstrap import Resources, open_resources
from ticketing.devtools.broker import LocalBroker, start_broker
from ticketing.domain.catalog import NewSchedule, QueuePolicy, Schedule, seat_grid
from ticketing.domain.ids import EventId, ScheduleId
from ticketing.domain.rate_limits import Action
from ticketing.services import catalog
from ticketing.settings import Settings

RUN_ID = uuid.uuid4().hex[:10]
DB_SERVER = os.environ.get("TICKETING_TEST_DATABASE_SERVER", "mysql+asyncmy://ticketing:ticketing@127.0.0.1:3306")
_test_counter = itertools.count(1)


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    b = start_broker()
    yield b
    b.stop()


# Tests act as one user far faster than a buyer does; the rate-limit tests restore the
# defaults (tests/security/test_rate_limits.py).
LIFTED_RATE_LIMITS = {f"rate_limit_{action.value}": "100000/second" for action in Action}


@pytest.fixture(scope="session")
async def base_settings(broker: LocalBroker) -> AsyncIterator[Settings]:
    url = f"{DB_SERVER}/ticketing_test_{RUN_ID}"
    settings = Settings(
        database_url=url,
        database_pool_size=20,
        redis_key_prefix=f"test:{RUN_ID}:",
        kafka_bootstrap_servers=broker.bootstrap_servers,
        consumer_session_timeout_ms=2000,
        relay_poll_s=0.2,
        log_level="WARNING",
        **LIFTED_RATE_LIMITS,
    )
    await migrate(url)
    yield settings
    await drop_database(url)


async def delete_keys(redis_url: str, prefix: str) -> None:
    """Deletes only this run's keys (never FLUSHALL: the Redis is shared)."""
    client = Redis.from_url(redis_url)
    try:
        batch = []
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                await client.delete(*batch)
                batch.clear()
        if batch:
            await client.delete(*batch)
    finally:
        await client.aclose()


@pytest.fixture
async def settings(base_settings: Settings) -> AsyncIterator[Settings]:
    """Per-test Redis key prefix, so one test's waiting rooms never meet another's."""
    n = next(_test_counter)
    prefix = f"{base_settings.redis_key_prefix}{n}:"
    yield base_settings.model_copy(update={"redis_key_prefix": prefix, "kafka_topic_prefix": f"test-{RUN_ID}-{n}."})
    await delete_keys(base_settings.redis_url, prefix)


@pytest.fixture
async def res(settings: Settings) -> AsyncIterator[Resources]:
    async with open_resources(settings) as resources:
        yield resources


async def pace_passes(res: Resources, schedule_id: int) -> None:
    """As if every waiter's pace had run out: its next enter or status is answered, not refused
    POLL_TOO_EARLY (tests that mean "later" without waiting a second or more of real time)."""
    buckets = res.keys.queue_pace_buckets(ScheduleId(schedule_id))
    found = [key async for key in res.redis.scan_iter(match=buckets, count=1000)]
    if found:
        await res.redis.delete(*found)


async def make_schedule(
    res: Resources,
    *,
    capacity: int = 10,
    pass_ttl_s: int = 60,
    admit_per_tick: int = 10,
    rows: int = 2,
    cols: int = 5,
    opens_in: timedelta = timedelta(minutes=-1),
    starts_in: timedelta = timedelta(days=1),
    max_seats_per_user: int = 4,
    hold_ttl_s: int = 60,
) -> Schedule:
    now = res.clock.now()
    event = await catalog.create_event(res.catalog, res.clock, "Test show", "")
    new = NewSchedule(
        starts_at=now + starts_in,
        sale_opens_at=now + opens_in,
        hold_ttl_s=hold_ttl_s,
        max_seats_per_user=max_seats_per_user,
        queue=QueuePolicy(capacity, pass_ttl_s, admit_per_tick),
        seats=seat_grid(rows, cols, Decimal("25.00")),
    )
    return await catalog.create_schedule(
        res.catalog, res.waiting_room, res.seat_locks, res.clock, EventId(event.id), new
    )


class SkewedClock:
    """The system clock moved by ``offset``: "later" (or a host whose clock is off) without waiting."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset
