"""Reconciler: repairs what failed after a commit, from the database (see services/reconciliation.py).

Safe in many copies. Every repair is counted in ``ticketing_reconciler_repairs_total``
by kind and logged; an alert fires when it repairs anything.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from ticketing.bootstrap import Resources
from ticketing.services.reconciliation import heal_seat_state, settle_overdue_orders
from ticketing.workers.loop import Worker

log = structlog.get_logger("ticketing.worker.reconciler")

ORDERS_PER_ROUND = 200


class Reconciler(Worker):
    name = "reconciler"

    def __init__(self, resources: Resources) -> None:
        super().__init__(resources)
        self._next_drift_check_at = 0.0
        for kind in ("seat_state_rebuilt", "seats_healed", "confirmation_republished", "refund_retried"):
            resources.metrics.reconciler_repairs_total.labels(kind)  # exported at 0 for increase()

    async def tick(self) -> int:
        """One round: rebuild the seat state of any schedule whose Redis state was lost (and,
        every ``reconciler_drift_check_s``, heal drift), then settle overdue orders. Returns
        how many repairs it made."""
        res = self.res
        drift = time.monotonic() >= self._next_drift_check_at
        if drift:
            self._next_drift_check_at = time.monotonic() + res.settings.reconciler_drift_check_s
        repairs = await heal_seat_state(
            res.catalog,
            res.seat_truth,
            res.seat_map,
            res.seat_locks,
            res.clock,
            res.settlement,
            res.settings.reconciler_orphan_after_s,
            drift,
        )
        repairs += await settle_overdue_orders(
            res.tx, res.refunds, res.outbox_signal, res.clock, res.settlement, ORDERS_PER_ROUND
        )
        for kind, n in repairs.items():
            res.metrics.reconciler_repairs_total.labels(kind).inc(n)
            if kind == "refund_completed":
                res.metrics.refunds_total.inc(n)
            elif kind == "refund_retried":
                res.metrics.refunds_failed_total.inc(n)
        if repairs:
            log.warning("reconciler_repaired", **dict(repairs))
        return sum(repairs.values())

    def interval_s(self) -> float:
        return self.res.settings.reconciler_interval_s

    async def step(self, stop: asyncio.Event) -> bool:
        await self.tick()
        return False
