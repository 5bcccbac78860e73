"""Payment orders, the provider's webhook and its signature."""

from __future__ import annotations

import hashlib
import hmac
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


def new_order_no() -> str:
    return "ord_" + secrets.token_hex(12)


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the raw body: what the provider puts in ``X-Signature``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    # Constant-time comparison: timing must not reveal how much of a forgery was right.
    return signature is not None and hmac.compare_digest(sign(secret, body), signature.strip().lower())
