"""Queue advancer: every tick, admit the next people of every open schedule (capacity bound).

Any number of copies may run: each schedule's tick is one atomic Lua call.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from ticketing.bootstrap import Resources
from ticketing.domain.waiting_room import TickResult
from ticketing.services.waiting_room import advance_waiting_rooms, sync_registry
from ticketing.workers.loop import Worker

log = structlog.get_logger("ticketing.worker.queue_advancer")

# One tick admits a burst of up to admit_per_tick and the next may admit none, so a
# per-tick rate would swing wildly; a window as long as the scrape interval smooths it.
ADMISSION_RATE_WINDOW_S = 5.0


class RateMeter:
    """Events per second over consecutive windows of at least ``window_s`` (monotonic seconds)."""

    def __init__(self, started_s: float, window_s: float = ADMISSION_RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._started_s = started_s
        self._count = 0

    def add(self, count: int, now_s: float) -> float | None:
        """Count ``count`` events at ``now_s``; returns the window's rate when it closes, else None."""
        self._count += count
        elapsed_s = now_s - self._started_s
        if elapsed_s < self.window_s:
            return None
        rate = self._count / elapsed_s
        self._started_s, self._count = now_s, 0
        return rate


class QueueAdvancer(Worker):
    name = "queue-advancer"

    def __init__(self, resources: Resources) -> None:
        super().__init__(resources)
        self._next_sync = 0.0
        self._admission_rate = RateMeter(time.monotonic())

    async def tick(self) -> TickResult:
        """One admission round over every registered schedule; returns the totals."""
        res = self.res
        if time.monotonic() >= self._next_sync:
            # The registry lives in Redis; re-deriving it from the database heals a Redis restart.
            await sync_registry(res.catalog, res.waiting_room, res.clock)
            self._next_sync = time.monotonic() + res.settings.registry_resync_s
        with res.metrics.queue_advance_tick_seconds.time():
            result = await advance_waiting_rooms(res.waiting_room, res.clock)
        res.metrics.queue_admitted_total.inc(result.admitted)
        res.metrics.queue_passes_expired_total.inc(result.expired)
        res.metrics.queue_waiting_users.set(result.waiting)
        res.metrics.queue_live_passes.set(result.live_passes)
        rate = self._admission_rate.add(result.admitted, time.monotonic())
        if rate is not None:
            res.metrics.queue_admission_rate_per_second.set(rate)
        return result

    def interval_s(self) -> float:
        return self.res.settings.advancer_tick_ms / 1000

    def describe(self) -> dict[str, int]:
        return {"tick_ms": self.res.settings.advancer_tick_ms}

    async def step(self, stop: asyncio.Event) -> bool:
        result = await self.tick()
        if result.admitted or result.expired:
            log.debug("tick", admitted=result.admitted, expired=result.expired, waiting=result.waiting)
        return False  # admission is paced by the tick, never hurried
