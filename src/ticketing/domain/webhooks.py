"""The payment provider's callback: what it must say, and how its signature is checked.

The provider POSTs to ``/api/v1/payments/{order_no}/webhook`` a JSON object naming the
order, the amount it charged, the outcome, its own transaction id and the Unix time it
signed the event at, with ``X-Signature`` the hex HMAC-SHA256 of the raw body under the
shared webhook secret (``docs/webhooks.md``). Everything that decides what happens to
the money is inside the signed body; the URL only routes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ticketing.domain.errors import InvalidInput, WebhookMismatch, WebhookTooOld
from ticketing.domain.payments import PaymentOrder, WebhookOutcome

MAX_PG_TX_ID_LEN = 128
MAX_ORDER_NO_LEN = 40
SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
AMOUNT = re.compile(r"^\d{1,10}(\.\d{1,2})?$")


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    order_no: str
    amount: Decimal
    outcome: WebhookOutcome
    pg_tx_id: str
    timestamp: int  # Unix seconds, when the provider signed it

    def to_body(self) -> bytes:
        """The JSON body a provider sends for this event."""
        return json.dumps(
            {
                "order_no": self.order_no,
                "amount": f"{self.amount:.2f}",
                "status": self.outcome.value,
                "pg_tx_id": self.pg_tx_id,
                "timestamp": self.timestamp,
            }
        ).encode()

    def check_against(self, order_no: str, now: datetime, tolerance_s: int) -> None:
        """Raises WebhookMismatch when the event is for another order than the URL names,
        WebhookTooOld when it was signed more than ``tolerance_s`` from ``now`` (a replay
        of a captured event, or a provider clock far off)."""
        if self.order_no != order_no:
            raise WebhookMismatch(f"the event is for order {self.order_no}, not {order_no}")
        if abs(now.timestamp() - self.timestamp) > tolerance_s:
            raise WebhookTooOld(f"signed at {self.timestamp}; events more than {tolerance_s} s off are refused")

    def check_amount(self, order: PaymentOrder) -> None:
        if self.amount != order.amount:
            raise WebhookMismatch(f"amount {self.amount} differs from the order's {order.amount}")


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the raw body: what the provider puts in ``X-Signature``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check (timing must not reveal how much of a forgery was right); a
    header that is not 64 hex digits never matches, whatever its characters."""
    if signature is None:
        return False
    candidate = signature.strip().lower()
    return SIGNATURE.match(candidate) is not None and hmac.compare_digest(sign(secret, body), candidate)


def parse_event(body: bytes) -> WebhookEvent:
    """The signed body as an event; raises InvalidInput naming what is wrong."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise InvalidInput("webhook body is not JSON") from exc
    if not isinstance(data, dict):
        raise InvalidInput("webhook body must be a JSON object")
    order_no, amount, status = data.get("order_no"), data.get("amount"), data.get("status")
    pg_tx_id, timestamp = data.get("pg_tx_id"), data.get("timestamp")
    if not isinstance(order_no, str) or not 0 < len(order_no) <= MAX_ORDER_NO_LEN:
        raise InvalidInput(f"order_no must be a string of 1-{MAX_ORDER_NO_LEN} characters")
    if not isinstance(amount, str) or AMOUNT.match(amount) is None:
        raise InvalidInput('amount must be a decimal string such as "25.00"')
    if status not in {o.value for o in WebhookOutcome}:
        raise InvalidInput('status must be "PAID" or "FAILED"')
    if not isinstance(pg_tx_id, str) or not 0 < len(pg_tx_id) <= MAX_PG_TX_ID_LEN:
        raise InvalidInput(f"pg_tx_id must be a string of 1-{MAX_PG_TX_ID_LEN} characters")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
        raise InvalidInput("timestamp must be the Unix time in whole seconds")
    return WebhookEvent(order_no, Decimal(amount), WebhookOutcome(status), pg_tx_id, timestamp)
