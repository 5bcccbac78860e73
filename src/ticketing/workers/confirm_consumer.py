"""Confirm consumer: paid holds become confirmed seats exactly once, or refunds."""

from __future__ import annotations

from typing import Any

from ticketing.domain.messages import CONFIRM_REQUESTED, ConfirmRequested
from ticketing.domain.reservations import ConfirmOutcome
from ticketing.services.confirmation import CONFIRM_CONSUMER, confirm_seats
from ticketing.workers.consumer_loop import ConsumerWorker


class ConfirmConsumer(ConsumerWorker):
    name = "confirm-consumer"
    topic = CONFIRM_REQUESTED
    group_id = CONFIRM_CONSUMER

    async def handle(self, payload: dict[str, Any]) -> str:
        message = self.parse(payload, ConfirmRequested)
        res = self.res
        result = await confirm_seats(res.tx, res.seat_locks, res.outbox_signal, res.clock, message, res.settlement)
        if result.outcome is ConfirmOutcome.REFUND_REQUESTED:
            res.metrics.guard_conflicts_total.inc()
        elif result.outcome is ConfirmOutcome.CONFIRMED:
            res.metrics.confirmations_total.inc()
        return result.outcome.value.lower()
