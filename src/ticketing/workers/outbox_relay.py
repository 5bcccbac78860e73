"""Outbox relay: committed outbox rows -> Kafka (acks=all), within tens of milliseconds.

Woken by a Redis signal the moment a row is committed; polls as the fallback. Any
number of relays may run: rows are leased with SELECT ... FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid

from ticketing.bootstrap import Resources
from ticketing.services.relay import relay_outbox
from ticketing.workers.loop import Worker

# Under load the relay ticks many times a second; the backlog is a COUNT over the
# PENDING rows, too costly to run on every tick and no more useful than once a second.
BACKLOG_EVERY_S = 1.0


class OutboxRelay(Worker):
    name = "outbox-relay"

    def __init__(self, resources: Resources) -> None:
        super().__init__(resources)
        self.relay_id = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._next_backlog_at = 0.0

    async def tick(self) -> int:
        """Relay one batch; returns how many messages were sent."""
        s = self.res.settings
        sent = await relay_outbox(
            self.res.outbox, self.res.publisher, self.res.clock, self.relay_id, s.relay_batch, s.relay_lease_s
        )
        self.res.metrics.outbox_relayed_total.inc(sent)
        await self._measure_backlog()
        return sent

    async def _measure_backlog(self) -> None:
        if time.monotonic() < self._next_backlog_at:
            return
        self._next_backlog_at = time.monotonic() + BACKLOG_EVERY_S
        pending, oldest_age_s = await self.res.outbox.backlog(self.res.clock.now())
        self.res.metrics.outbox_pending_rows.set(pending)
        self.res.metrics.outbox_oldest_pending_age_seconds.set(oldest_age_s)

    def describe(self) -> dict[str, str]:
        return {"relay_id": self.relay_id}

    async def step(self, stop: asyncio.Event) -> bool:
        return await self.tick() >= self.res.settings.relay_batch  # a full batch: more may be waiting

    async def failed(self) -> None:
        self.res.metrics.outbox_publish_failures_total.inc()

    async def idle(self, stop: asyncio.Event) -> None:
        """Until a wake-up signal, the poll interval, or stop -- whichever comes first."""
        signal = asyncio.create_task(self.res.outbox_signal.wait(self.res.settings.relay_poll_s))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({signal, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for task in (signal, stopped):
            task.cancel()
        await asyncio.gather(signal, stopped, return_exceptions=True)
