"""Queue advancer: every tick, admit the next people of every open schedule (capacity bound).

Any number of copies may run: each schedule's tick is one atomic Lua call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from ticketing.bootstrap import Resources
from ticketing.domain.waiting_room import TickResult
from ticketing.services.waiting_room import advance_waiting_rooms, sync_registry

log = structlog.get_logger("ticketing.worker.queue_advancer")


class QueueAdvancer:
    name = "queue-advancer"

    def __init__(self, resources: Resources) -> None:
        self.res = resources
        self._next_sync = 0.0

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
        return result

    async def run(self, stop: asyncio.Event) -> None:
        interval = self.res.settings.advancer_tick_ms / 1000
        log.info("worker_started", worker=self.name, tick_ms=self.res.settings.advancer_tick_ms)
        while not stop.is_set():
            try:
                result = await self.tick()
                if result.admitted or result.expired:
                    log.debug("tick", admitted=result.admitted, expired=result.expired, waiting=result.waiting)
            except Exception:
                log.exception("tick_failed", worker=self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
        log.info("worker_stopped", worker=self.name)
