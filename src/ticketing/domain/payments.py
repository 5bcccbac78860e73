"""Payment orders, the provider's webhook and its signature."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from ticketing.domain.ids import ScheduleId, UserId


class OrderStatus(StrEnum):
    READY = "READY"
    PAID = "PAID"
    FAILED = "FAILED"
    REFUND_PENDING = "REFUND_PENDING"
    REFUNDED = "REFUNDED"


_O = OrderStatus

# FAILED -> PAID: a provider may report a capture after it reported a decline (a retried
# charge, a delayed settlement). The money is real, so the order goes on to a ticket or a
# refund like any other paid order; dropping it would keep money without selling anything.
ORDER_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    _O.READY: frozenset({_O.PAID, _O.FAILED}),
    _O.FAILED: frozenset({_O.PAID}),
    _O.PAID: frozenset({_O.REFUND_PENDING}),
    _O.REFUND_PENDING: frozenset({_O.REFUNDED}),
    _O.REFUNDED: frozenset(),
}


def order_sources_of(target: OrderStatus) -> tuple[OrderStatus, ...]:
    """Every order state from which ``target`` may be reached (for guarded updates)."""
    return tuple(sorted(s for s, targets in ORDER_TRANSITIONS.items() if target in targets))


def may_move(current: OrderStatus, target: OrderStatus) -> bool:
    return target in ORDER_TRANSITIONS[current]


class WebhookOutcome(StrEnum):
    PAID = "PAID"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class PaymentOrder:
    order_no: str
    hold_id: str
    schedule_id: ScheduleId
    user_id: UserId
    amount: Decimal
    status: OrderStatus
    pg_tx_id: str | None


@dataclass(frozen=True, slots=True)
class DueOrder:
    """An order the reconciler must look at: paid but not confirmed, or a refund not done."""

    order: PaymentOrder
    retries: int


@dataclass(frozen=True, slots=True)
class SettlementPolicy:
    """How long money may wait for an outcome before the reconciler acts, and how it backs off."""

    payment_window_s: int = 600  # a hold with an order keeps its seats this long
    settle_within_s: float = 60.0  # a paid order should be confirmed or refunded by then
    retry_max_s: float = 600.0

    def retry_in_s(self, retries: int) -> float:
        """Doubling from ``settle_within_s``, capped: a provider that is down for an hour is
        asked a handful of times, not thousands."""
        return float(min(self.retry_max_s, self.settle_within_s * 2 ** max(0, retries)))


def new_order_no() -> str:
    return "ord_" + secrets.token_hex(12)
