"""The development payment provider behaves like a real gateway towards the webhook."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from ticketing.adapters.payment_provider import FakePaymentProvider
from ticketing.domain.payments import WebhookOutcome
from ticketing.domain.webhooks import parse_event, signature_matches

AMOUNT = Decimal("50.00")


class Merchant:
    """A webhook endpoint that answers from a script of outcomes."""

    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []

    async def __call__(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        self.calls.append((path, body, headers))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer, b"{}"


async def test_webhook_is_sent_again_after_a_5xx_and_after_no_answer() -> None:
    merchant = Merchant(500, httpx.ConnectError("refused"), 503, 200)
    provider = FakePaymentProvider("secret", attempts=6, retry_base_s=0)
    status, _ = await provider.complete("ord_1", AMOUNT, WebhookOutcome.PAID, merchant)
    assert status == 200
    assert len(merchant.calls) == 4
    events = [parse_event(body) for _, body, _ in merchant.calls]
    assert len({e.pg_tx_id for e in events}) == 1, "a retry resends the same event (same pg_tx_id), not a new charge"
    assert {(e.order_no, e.amount, e.outcome) for e in events} == {("ord_1", AMOUNT, WebhookOutcome.PAID)}
    for _, body, headers in merchant.calls:  # each attempt signed afresh, with its own timestamp
        assert signature_matches("secret", body, headers["x-signature"])


async def test_a_4xx_is_final_and_not_retried() -> None:
    merchant = Merchant(401, 200)
    provider = FakePaymentProvider("secret", retry_base_s=0)
    assert (await provider.complete("ord_1", AMOUNT, WebhookOutcome.PAID, merchant))[0] == 401
    assert len(merchant.calls) == 1


async def test_gives_up_after_the_last_attempt() -> None:
    provider = FakePaymentProvider("secret", attempts=3, retry_base_s=0)
    assert (await provider.complete("ord_1", AMOUNT, WebhookOutcome.PAID, Merchant(500, 500, 502)))[0] == 502
    with pytest.raises(httpx.ConnectError):
        await provider.complete("ord_1", AMOUNT, WebhookOutcome.PAID, Merchant(*[httpx.ConnectError("down")] * 3))
