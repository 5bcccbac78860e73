"""Payment gateway adapters.

``FakePaymentProvider`` stands in for a real gateway in development and tests: it signs
its callbacks with the webhook secret exactly as a gateway would and delivers them to
the real webhook endpoint, and it refunds at once. Production refuses to enable it
(settings); ``UnconfiguredPaymentProvider`` makes a missing gateway loud, not silent.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from decimal import Decimal

from ticketing.domain.payments import WebhookOutcome, sign

# (path, raw body, headers) -> (status code, response body)
Deliver = Callable[[str, bytes, dict[str, str]], Awaitable[tuple[int, bytes]]]


class FakePaymentProvider:
    def __init__(self, webhook_secret: str) -> None:
        self._secret = webhook_secret

    def signed_callback(self, outcome: WebhookOutcome) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"status": outcome.value, "pg_tx_id": "fake_" + secrets.token_hex(8)}).encode()
        return body, {"content-type": "application/json", "x-signature": sign(self._secret, body)}

    async def complete(self, order_no: str, outcome: WebhookOutcome, deliver: Deliver) -> tuple[int, bytes]:
        """Charge (or decline) and call the merchant's webhook, signed, like a gateway does."""
        body, headers = self.signed_callback(outcome)
        return await deliver(f"/api/v1/payments/{order_no}/webhook", body, headers)

    async def refund(self, order_no: str, amount: Decimal) -> str:
        return f"fake_refund_{order_no}_{amount}"


class UnconfiguredPaymentProvider:
    async def refund(self, order_no: str, amount: Decimal) -> str:
        raise RuntimeError(f"no payment gateway is configured; refund of {order_no} ({amount}) cannot be sent")
