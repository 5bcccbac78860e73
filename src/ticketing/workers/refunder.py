"""Refunder: paid holds that lost at the guard get their money back through the provider."""

from __future__ import annotations

from typing import Any

from ticketing.domain.messages import REFUND_REQUESTED, RefundRequested
from ticketing.services.confirmation import REFUND_CONSUMER, complete_refund
from ticketing.workers.consumer_loop import ConsumerWorker, PermanentError


class Refunder(ConsumerWorker):
    name = "refunder"
    topic = REFUND_REQUESTED
    group_id = REFUND_CONSUMER

    async def handle(self, payload: dict[str, Any]) -> str:
        try:
            message = RefundRequested.from_dict(payload)
        except (KeyError, TypeError) as exc:
            raise PermanentError(f"not a refund request: {exc}") from exc
        done = await complete_refund(self.res.refunds, self.res.confirmation, self.res.clock, message)
        if done:
            self.res.metrics.refunds_total.inc()
        return "refunded" if done else "duplicate"
