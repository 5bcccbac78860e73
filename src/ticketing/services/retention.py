"""What a sale leaves behind is bounded: published outbox rows, processed-event marks and the
Redis state of schedules whose show is over are deleted once their keep time has passed.

Every step is idempotent and bounded per round (a backlog takes several rounds), so any
number of copies may run. The database is the truth throughout: the Redis state of a
finished schedule is marked released only after its keys are gone, and a seat map of a
show that started is read from the database (services/catalog.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ticketing.services.ports import Clock, LiveStateReleaser, RetentionStore, WaitingRoom

SCHEDULES_PER_ROUND = 20
BATCHES_PER_ROUND = 20  # at most this many delete statements per table per round


@dataclass(frozen=True)
class RetentionPolicy:
    outbox_keep_s: int
    processed_keep_s: int
    live_state_keep_s: int
    batch: int


async def _drain(delete: Callable[[datetime, int], Awaitable[int]], before: datetime, policy: RetentionPolicy) -> int:
    """Batches of ``delete`` until one comes back short, at most BATCHES_PER_ROUND; how many went."""
    total = 0
    for _ in range(BATCHES_PER_ROUND):
        n = await delete(before, policy.batch)
        total += n
        if n < policy.batch:
            break
    return total


async def sweep(
    store: RetentionStore, live: LiveStateReleaser, room: WaitingRoom, clock: Clock, policy: RetentionPolicy
) -> Counter[str]:
    """One round; returns what it deleted, by kind (rows, or Redis keys)."""
    now = clock.now()
    done: Counter[str] = Counter()
    done["outbox_rows"] = await _drain(store.delete_sent_outbox, now - timedelta(seconds=policy.outbox_keep_s), policy)
    done["processed_marks"] = await _drain(
        store.delete_processed, now - timedelta(seconds=policy.processed_keep_s), policy
    )
    started_before = now - timedelta(seconds=policy.live_state_keep_s)
    for schedule_id in await store.shows_started_before(started_before, SCHEDULES_PER_ROUND):
        await room.unregister(schedule_id)
        done["redis_keys"] += await live.release(schedule_id)
        await store.mark_released(schedule_id, now)
        done["schedules_released"] += 1
    return +done
