"""Refunder: paid holds that lost at the guard get their money back through the provider."""

from __future__ import annotations

from typing import Any

from ticketing.domain.messages import REFUND_REQUESTED, RefundRequested
from ticketing.services.confirmation import REFUND_CONSUMER, RefundOutcome, complete_refund
from ticketing.workers.consumer_loop import ConsumerWorker


class Refunder(ConsumerWorker):
    name = "refunder"
    topic = REFUND_REQUESTED
    group_id = REFUND_CONSUMER

    async def handle(self, payload: dict[str, Any]) -> str:
        message = self.parse(payload, RefundRequested)
        res = self.res
        outcome = await complete_refund(res.refunds, res.tx, res.clock, message, res.settlement)
        if outcome is RefundOutcome.REFUNDED:
            res.metrics.refunds_total.inc()
        elif outcome is RefundOutcome.FAILED:
            res.metrics.refunds_failed_total.inc()
        return outcome.value
