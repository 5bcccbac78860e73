"""Hold expirer: unpaid holds past their time become EXPIRED and their seats AVAILABLE."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from ticketing.bootstrap import Resources
from ticketing.services.expiry import expire_holds

log = structlog.get_logger("ticketing.worker.hold_expirer")


class HoldExpirer:
    name = "hold-expirer"

    def __init__(self, resources: Resources) -> None:
        self.res = resources

    async def tick(self) -> int:
        """Expire one batch; returns how many reservations expired."""
        n = await expire_holds(self.res.tx, self.res.seat_locks, self.res.clock, self.res.settings.expirer_batch)
        self.res.metrics.holds_expired_total.inc(n)
        return n

    async def run(self, stop: asyncio.Event) -> None:
        log.info("worker_started", worker=self.name)
        while not stop.is_set():
            try:
                if await self.tick() >= self.res.settings.expirer_batch:
                    continue
            except Exception:
                log.exception("tick_failed", worker=self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.res.settings.expirer_interval_s)
        log.info("worker_stopped", worker=self.name)
