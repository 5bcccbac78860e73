"""The development payment provider completes an order for its owner (or an admin) only."""

from __future__ import annotations

import httpx

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, hold, order
from ticketing.bootstrap import Resources


async def test_only_the_order_owner_or_an_admin_can_have_the_fake_provider_pay(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["owner", "owner2"])
    orders = []
    for user, seat in (("owner", "A-1"), ("owner2", "A-2")):
        hold_id = (await hold(client, auth, schedule.id, user, passes[user], [seat])).json()["hold_id"]
        orders.append((await order(client, auth, user, hold_id)).json()["order_no"])
    path = f"/api/v1/dev/payments/{orders[0]}/complete"
    paid = {"outcome": "PAID"}
    r = await client.post(path, json=paid)
    assert (r.status_code, r.json()["code"]) == (401, "NOT_AUTHENTICATED")
    r = await client.post(path, json=paid, headers=auth("mallory"))
    assert (r.status_code, r.json()["code"]) == (403, "NOT_OWNER")
    assert (await client.get(f"/api/v1/payments/{orders[0]}", headers=auth("owner"))).json()["status"] == "READY"
    r = await client.post(path, json=paid, headers=auth("owner"))
    assert (r.status_code, r.json()["webhook_status"]) == (200, 200)
    r = await client.post(f"/api/v1/dev/payments/{orders[1]}/complete", json=paid, headers=auth("boss", admin=True))
    assert (r.status_code, r.json()["webhook_status"]) == (200, 200)
