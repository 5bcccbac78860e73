"""Payment orders, the signed webhook and the development fake provider."""

import asyncio
import json

import httpx
import sqlalchemy as sa

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, hold, my_reservations, order, seat_states, webhook
from ticketing.adapters.sql import tables
from ticketing.api.app import create_app
from ticketing.bootstrap import Resources
from ticketing.settings import Settings


async def held(
    client: httpx.AsyncClient, auth: Auth, res: Resources, user: str = "payer", **kw: int
) -> tuple[int, str]:
    schedule = await make_schedule(res, **kw)
    passes = await admit(client, auth, res, schedule.id, [user])
    r = await hold(client, auth, schedule.id, user, passes[user], ["A-1", "A-2"])
    assert r.status_code == 201, r.text
    return schedule.id, r.json()["hold_id"]


async def outbox_count(res: Resources) -> int:
    async with res.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(tables.outbox_event))).scalar_one())


async def test_order_amount_is_the_sum_of_seat_prices_and_the_key_makes_it_idempotent(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    _, hold_id = await held(client, auth, app_res)
    first = await order(client, auth, "payer", hold_id, key="k-1")
    assert first.status_code == 201
    assert first.json()["amount"] == "50.00"  # two seats at 25.00
    assert first.json()["status"] == "READY"
    again = await order(client, auth, "payer", hold_id, key="k-1")
    assert (again.status_code, again.json()) == (200, first.json())
    other_key = await order(client, auth, "payer", hold_id, key="k-2")
    assert other_key.json()["order_no"] == first.json()["order_no"]  # one order per hold


async def test_concurrent_duplicate_payment_requests_make_one_order(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    _, hold_id = await held(client, auth, app_res)
    answers = await asyncio.gather(*(order(client, auth, "payer", hold_id, key="same") for _ in range(10)))
    assert sorted(a.status_code for a in answers) == [200] * 9 + [201]
    assert len({a.json()["order_no"] for a in answers}) == 1


async def test_key_reused_for_another_hold_is_refused(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule_id, hold_id = await held(client, auth, app_res)
    await order(client, auth, "payer", hold_id, key="once")
    passes = await admit(client, auth, app_res, schedule_id, ["payer"])
    second = (await hold(client, auth, schedule_id, "payer", passes["payer"], ["B-1"])).json()["hold_id"]
    r = await order(client, auth, "payer", second, key="once")
    assert (r.status_code, r.json()["code"]) == (422, "IDEMPOTENCY_KEY_REUSED")


async def test_payment_needs_an_idempotency_key(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    _, hold_id = await held(client, auth, app_res)
    r = await client.post("/api/v1/payments", json={"hold_id": hold_id}, headers=auth("payer"))
    assert (r.status_code, r.json()["code"]) == (400, "IDEMPOTENCY_KEY_REQUIRED")


async def test_paying_for_someone_elses_hold_is_refused(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    _, hold_id = await held(client, auth, app_res)
    r = await order(client, auth, "stranger", hold_id)
    assert (r.status_code, r.json()["code"]) == (403, "NOT_OWNER")
    r = await order(client, auth, "stranger", "h_unknown")
    assert (r.status_code, r.json()["code"]) == (404, "HOLD_NOT_FOUND")


async def test_paying_for_an_expired_hold_is_hold_expired(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    _, hold_id = await held(client, auth, app_res, hold_ttl_s=1)
    await asyncio.sleep(1.1)
    r = await order(client, auth, "payer", hold_id)
    assert (r.status_code, r.json()["code"]) == (409, "HOLD_EXPIRED")


async def test_paid_webhook_writes_order_reservations_and_one_outbox_row_and_replays_change_nothing(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    _, hold_id = await held(client, auth, app_res)
    order_no = (await order(client, auth, "payer", hold_id)).json()["order_no"]
    before = await outbox_count(app_res)
    r = await webhook(client, app_res, order_no, "PAID", "pg-77")
    assert r.status_code == 200
    assert r.json() == {"order_no": order_no, "status": "PAID"}
    assert await outbox_count(app_res) == before + 1
    assert {x["status"] for x in await my_reservations(client, auth, "payer") if x["hold_id"] == hold_id} == {
        "PAYMENT_PENDING"
    }
    replay = await webhook(client, app_res, order_no, "PAID", "pg-77")
    assert (replay.status_code, replay.json()) == (200, r.json())
    assert await outbox_count(app_res) == before + 1
    mine = await client.get(f"/api/v1/payments/{order_no}", headers=auth("payer"))
    assert mine.json()["status"] == "PAID"
    assert (await client.get(f"/api/v1/payments/{order_no}", headers=auth("other"))).json()["code"] == "NOT_OWNER"
    assert (await client.get("/api/v1/payments/ord_nope", headers=auth("payer"))).json()["code"] == "ORDER_NOT_FOUND"


async def test_forged_webhook_is_401_and_changes_nothing(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    _, hold_id = await held(client, auth, app_res)
    order_no = (await order(client, auth, "payer", hold_id)).json()["order_no"]
    before = await outbox_count(app_res)
    r = await webhook(client, app_res, order_no, "PAID", secret="not-the-secret")
    assert (r.status_code, r.json()["code"]) == (401, "BAD_SIGNATURE")
    body = json.dumps({"status": "PAID", "pg_tx_id": "x"}).encode()
    r = await client.post(f"/api/v1/payments/{order_no}/webhook", content=body)
    assert (r.status_code, r.json()["code"]) == (401, "BAD_SIGNATURE")
    assert await outbox_count(app_res) == before
    assert (await client.get(f"/api/v1/payments/{order_no}", headers=auth("payer"))).json()["status"] == "READY"


async def test_signed_but_malformed_webhook_is_422(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    from ticketing.domain.webhooks import sign

    _, hold_id = await held(client, auth, app_res)
    order_no = (await order(client, auth, "payer", hold_id)).json()["order_no"]
    for body in (
        b"{",
        b'{"status": "MAYBE", "pg_tx_id": "x"}',
        b'{"status": "PAID"}',
        b'{"status":"PAID","pg_tx_id":7}',
    ):
        r = await client.post(
            f"/api/v1/payments/{order_no}/webhook",
            content=body,
            headers={"X-Signature": sign(app_res.settings.webhook_secret, body)},
        )
        assert (r.status_code, r.json()["code"]) == (422, "INVALID_INPUT"), body
    assert (await client.get(f"/api/v1/payments/{order_no}", headers=auth("payer"))).json()["status"] == "READY"


async def test_failed_webhook_marks_the_order_failed_and_releases_the_hold(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule_id, hold_id = await held(client, auth, app_res)
    order_no = (await order(client, auth, "payer", hold_id)).json()["order_no"]
    r = await webhook(client, app_res, order_no, "FAILED")
    assert r.json()["status"] == "FAILED"
    states = await seat_states(client, schedule_id)
    assert (states["A-1"], states["A-2"]) == ("AVAILABLE", "AVAILABLE")
    assert {x["status"] for x in await my_reservations(client, auth, "payer") if x["hold_id"] == hold_id} == {
        "RELEASED"
    }


async def test_fake_provider_calls_the_real_webhook_signed(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    _, hold_id = await held(client, auth, app_res)
    order_no = (await order(client, auth, "payer", hold_id)).json()["order_no"]
    mine = auth("payer")
    r = await client.post(f"/api/v1/dev/payments/{order_no}/complete", json={"outcome": "PAID"}, headers=mine)
    assert r.status_code == 200
    assert r.json() == {"webhook_status": 200, "webhook_response": {"order_no": order_no, "status": "PAID"}}
    r = await client.post("/api/v1/dev/payments/ord_missing/complete", json={"outcome": "PAID"}, headers=mine)
    assert r.json()["code"] == "ORDER_NOT_FOUND"
    r = await client.post(f"/api/v1/dev/payments/{order_no}/complete", json={"outcome": "MAYBE"}, headers=mine)
    assert r.status_code == 422


async def test_fake_provider_does_not_exist_when_disabled(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"fake_payments_enabled": False}))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.post("/api/v1/dev/payments/ord_x/complete", json={"outcome": "PAID"})
    assert (r.status_code, r.json()["code"]) == (404, "NOT_FOUND")
