"""Payment gateway adapters.

``FakePaymentProvider`` stands in for a real gateway in development and tests: it signs
its callbacks with the webhook secret exactly as a gateway would and delivers them to
the real webhook endpoint, and it refunds at once. Production refuses to enable it
(settings); ``UnconfiguredPaymentProvider`` makes a missing gateway loud, not silent.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal

import httpx
import structlog

from ticketing.domain.payments import WebhookOutcome
from ticketing.domain.webhooks import WebhookEvent, sign

# (path, raw body, headers) -> (status code, response body)
Deliver = Callable[[str, bytes, dict[str, str]], Awaitable[tuple[int, bytes]]]

log = structlog.get_logger("ticketing.payment_provider")


class FakePaymentProvider:
    def __init__(self, webhook_secret: str, attempts: int = 6, retry_base_s: float = 0.2) -> None:
        self._secret = webhook_secret
        self._attempts = attempts
        self._retry_base_s = retry_base_s

    def signed_callback(self, event: WebhookEvent) -> tuple[bytes, dict[str, str]]:
        """The event signed now (each delivery attempt is signed afresh, as gateways do)."""
        body = replace(event, timestamp=int(time.time())).to_body()
        return body, {"content-type": "application/json", "x-signature": sign(self._secret, body)}

    async def complete(
        self, order_no: str, amount: Decimal, outcome: WebhookOutcome, deliver: Deliver
    ) -> tuple[int, bytes]:
        """Charge ``amount`` (or decline) and call the merchant's webhook, signed, like a
        gateway does.

        As real gateways do, the same event (one transaction id) is sent again after a 5xx
        or no answer at all, with a doubling delay, until it is acknowledged or the attempts
        run out (then the last answer is returned, or the last error raised). A 4xx is
        final: the merchant refused the event itself.
        """
        event = WebhookEvent(order_no, amount, outcome, "fake_" + secrets.token_hex(8), 0)
        path = f"/api/v1/payments/{order_no}/webhook"
        for attempt in range(1, self._attempts + 1):
            last = attempt == self._attempts
            body, headers = self.signed_callback(event)
            try:
                status, content = await deliver(path, body, headers)
            except (OSError, TimeoutError, httpx.TransportError) as exc:
                if last:
                    raise
                log.warning("webhook_unanswered", order_no=order_no, attempt=attempt, error=type(exc).__name__)
            else:
                if status < 500 or last:
                    return status, content
                log.warning("webhook_failed", order_no=order_no, attempt=attempt, status=status)
            await asyncio.sleep(self._retry_base_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def refund(self, order_no: str, amount: Decimal) -> str:
        return f"fake_refund_{order_no}_{amount}"


class UnconfiguredPaymentProvider:
    async def refund(self, order_no: str, amount: Decimal) -> str:
        raise RuntimeError(f"no payment gateway is configured; refund of {order_no} ({amount}) cannot be sent")
