"""Retention: deletes published outbox rows, old processed-event marks and the Redis state of
schedules whose show is over, each after its keep time (see services/retention.py)."""

from __future__ import annotations

import asyncio

import structlog

from ticketing.bootstrap import Resources
from ticketing.services.retention import RetentionPolicy, sweep
from ticketing.workers.loop import Worker

log = structlog.get_logger("ticketing.worker.retention")

KINDS = ("outbox_rows", "processed_marks", "redis_keys", "schedules_released")


class Retention(Worker):
    name = "retention"

    def __init__(self, resources: Resources) -> None:
        super().__init__(resources)
        for kind in KINDS:
            resources.metrics.retention_deleted_total.labels(kind)  # exported at 0 for increase()

    async def tick(self) -> int:
        """One round; returns how many things it deleted."""
        res = self.res
        s = res.settings
        policy = RetentionPolicy(
            s.retention_outbox_keep_s, s.retention_processed_keep_s, s.retention_live_state_keep_s, s.retention_batch
        )
        done = await sweep(res.retention, res.live_state, res.waiting_room, res.clock, policy)
        for kind, n in done.items():
            res.metrics.retention_deleted_total.labels(kind).inc(n)
        if done:
            log.info("retention_deleted", **dict(done))
        return sum(done.values())

    def interval_s(self) -> float:
        return self.res.settings.retention_interval_s

    async def step(self, stop: asyncio.Event) -> bool:
        await self.tick()
        return False
