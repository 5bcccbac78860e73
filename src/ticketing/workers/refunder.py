"""Refunder: paid holds that lost at the guard get their money back through the provider."""

from __future__ import annotations

from typing import Any

from ticketing.domain.messages import REFUND_REQUESTED, RefundRequested
from ticketing.services.confirmation import REFUND_CONSUMER, complete_refund
from ticketing.workers.consumer_loop import ConsumerWorker


class Refunder(ConsumerWorker):
    name = "refunder"
    topic = REFUND_REQUESTED
    group_id = REFUND_CONSUMER

    async def handle(self, payload: dict[str, Any]) -> str:
        message = self.parse(payload, RefundRequested)
        done = await complete_refund(self.res.refunds, self.res.tx, self.res.clock, message)
        if done:
            self.res.metrics.refunds_total.inc()
        return "refunded" if done else "duplicate"
