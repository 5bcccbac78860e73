"""Webhook authenticity: the signature binds the order, the amount, the outcome, the
provider's transaction id and the time; anything else is refused and changes nothing."""

from __future__ import annotations

import json
import time

import httpx
import sqlalchemy as sa

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, hold, order, webhook
from ticketing.adapters.sql import tables
from ticketing.bootstrap import Resources
from ticketing.domain.webhooks import sign


async def ready_order(client: httpx.AsyncClient, auth: Auth, res: Resources, user: str) -> str:
    schedule = await make_schedule(res)
    passes = await admit(client, auth, res, schedule.id, [user])
    hold_id = (await hold(client, auth, schedule.id, user, passes[user], ["A-1"])).json()["hold_id"]
    return str((await order(client, auth, user, hold_id)).json()["order_no"])


async def status_of(client: httpx.AsyncClient, auth: Auth, user: str, order_no: str) -> str:
    return str((await client.get(f"/api/v1/payments/{order_no}", headers=auth(user))).json()["status"])


async def outbox_rows(res: Resources) -> int:
    async with res.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(tables.outbox_event))).scalar_one())


def problem(r: httpx.Response) -> tuple[int, str]:
    assert r.headers["content-type"].startswith("application/problem+json"), r.text
    return r.status_code, r.json()["code"]


async def test_a_leaked_paid_body_cannot_confirm_another_order(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    paid = await ready_order(client, auth, app_res, "payer")
    victim = await ready_order(client, auth, app_res, "other")
    leaked = json.dumps(
        {
            "order_no": paid,
            "amount": "25.00",
            "status": "PAID",
            "pg_tx_id": f"pg-leak-{paid}",
            "timestamp": int(time.time()),
        }
    ).encode()
    headers = {"X-Signature": sign(app_res.settings.webhook_secret, leaked)}
    assert (await client.post(f"/api/v1/payments/{paid}/webhook", content=leaked, headers=headers)).status_code == 200
    before = await outbox_rows(app_res)
    r = await client.post(f"/api/v1/payments/{victim}/webhook", content=leaked, headers=headers)
    assert problem(r) == (422, "WEBHOOK_MISMATCH")
    assert await status_of(client, auth, "other", victim) == "READY"
    assert await outbox_rows(app_res) == before


async def test_an_amount_that_differs_from_the_order_is_refused_and_flagged(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    order_no = await ready_order(client, auth, app_res, "payer")
    flagged = app_res.metrics.payment_webhooks_total.labels("webhook_mismatch")._value.get()
    r = await webhook(client, app_res, order_no, "PAID", amount="0.01")
    assert problem(r) == (422, "WEBHOOK_MISMATCH")
    assert "amount" in r.json()["detail"]
    assert await status_of(client, auth, "payer", order_no) == "READY"
    assert app_res.metrics.payment_webhooks_total.labels("webhook_mismatch")._value.get() == flagged + 1


async def test_an_event_older_than_five_minutes_is_refused(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    order_no = await ready_order(client, auth, app_res, "payer")
    for skew_s in (-301, +301):
        r = await webhook(client, app_res, order_no, "PAID", timestamp=int(time.time()) + skew_s)
        assert problem(r) == (401, "WEBHOOK_TOO_OLD"), skew_s
    assert await status_of(client, auth, "payer", order_no) == "READY"
    assert (await webhook(client, app_res, order_no, "PAID", timestamp=int(time.time()) - 290)).status_code == 200


async def test_a_replayed_event_is_idempotent(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    order_no = await ready_order(client, auth, app_res, "payer")
    first = await webhook(client, app_res, order_no, "PAID")
    rows = await outbox_rows(app_res)
    again = await webhook(client, app_res, order_no, "PAID")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json() == {"order_no": order_no, "status": "PAID"}
    assert await outbox_rows(app_res) == rows


async def test_a_provider_transaction_id_is_recorded_for_one_order_only(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    first = await ready_order(client, auth, app_res, "payer")
    second = await ready_order(client, auth, app_res, "other")
    once = f"pg-once-{first}"
    assert (await webhook(client, app_res, first, "PAID", pg_tx_id=once)).status_code == 200
    r = await webhook(client, app_res, second, "PAID", pg_tx_id=once)
    assert problem(r) == (422, "WEBHOOK_MISMATCH")
    assert await status_of(client, auth, "other", second) == "READY"


async def test_a_non_ascii_or_malformed_signature_is_401_not_a_crash(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    order_no = await ready_order(client, auth, app_res, "payer")
    body = b'{"status": "PAID"}'
    for signature in ("é" * 64, "zz" * 32, "", "a" * 200):
        r = await client.post(
            f"/api/v1/payments/{order_no}/webhook",
            content=body,
            headers={"X-Signature": signature.encode("utf-8")},  # type: ignore[dict-item]
        )
        assert r.status_code in (401, 422), (signature, r.status_code)
        assert r.json()["code"] in ("BAD_SIGNATURE", "VALIDATION_FAILED"), signature
    assert await status_of(client, auth, "payer", order_no) == "READY"


async def test_the_old_body_without_order_amount_and_time_is_refused_even_when_signed(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    order_no = await ready_order(client, auth, app_res, "payer")
    body = json.dumps({"status": "PAID", "pg_tx_id": f"pg-old-{order_no}"}).encode()
    headers = {"X-Signature": sign(app_res.settings.webhook_secret, body)}
    r = await client.post(f"/api/v1/payments/{order_no}/webhook", content=body, headers=headers)
    assert problem(r) == (422, "INVALID_INPUT")
    assert await status_of(client, auth, "payer", order_no) == "READY"
