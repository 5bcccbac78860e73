"""Sold out, told at once: a buyer waiting on the page when the last seat sells is told so
(pushed), and so is anyone who comes to the queue afterwards."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from tests.browser.conftest import Site
from tests.browser.test_buyer_journey import admitted, shot, sign_in

SOLD_OUT = "Sold out. Every seat is sold; if one comes back, the queue reopens."


async def test_the_waiting_page_says_sold_out_when_the_last_seat_is_sold(context: BrowserContext, site: Site) -> None:
    schedule_id = site.new_sale(capacity=1, rows=1, cols=2)
    pass_token = admitted(site, schedule_id, "gina")
    page = await context.new_page()
    await sign_in(page, "hank")
    await page.goto(f"/schedules/{schedule_id}/queue")
    await expect(page.locator("#place")).to_have_text("You are number 1 in line")

    with site.api("gina") as gina:  # buys every seat
        held = gina.post(
            f"/api/v1/schedules/{schedule_id}/holds",
            json={"seat_nos": ["A-1", "A-2"]},
            headers={"X-Queue-Pass": pass_token, "Idempotency-Key": "gina-1"},
        )
        assert held.status_code == 201, held.text
        order = gina.post(
            "/api/v1/payments", json={"hold_id": held.json()["hold_id"]}, headers={"Idempotency-Key": "g"}
        )
        paid = gina.post(f"/api/v1/dev/payments/{order.json()['order_no']}/complete", json={"outcome": "PAID"})
        assert paid.status_code == 200, paid.text

    await expect(page.locator("#place")).to_have_text(SOLD_OUT)
    await shot(page, "sold-out")
    later = await context.browser.new_context(base_url=site.base_url)
    newcomer = await later.new_page()
    await sign_in(newcomer, "ivan")
    await newcomer.goto(f"/schedules/{schedule_id}/queue")
    await expect(newcomer.locator("#place")).to_have_text(SOLD_OUT)
    await later.close()
