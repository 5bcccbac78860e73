"""Hold expirer: unpaid holds past their time become EXPIRED and their seats AVAILABLE."""

from __future__ import annotations

import asyncio

from ticketing.services.expiry import expire_holds
from ticketing.workers.loop import Worker


class HoldExpirer(Worker):
    name = "hold-expirer"

    async def tick(self) -> int:
        """Expire one batch; returns how many reservations expired."""
        n = await expire_holds(self.res.tx, self.res.seat_locks, self.res.clock, self.res.settings.expirer_batch)
        self.res.metrics.holds_expired_total.inc(n)
        return n

    def interval_s(self) -> float:
        return self.res.settings.expirer_interval_s

    async def step(self, stop: asyncio.Event) -> bool:
        return await self.tick() >= self.res.settings.expirer_batch  # a full batch: more are due
