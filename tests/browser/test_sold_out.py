"""Sold out, told at once: a buyer waiting on the page when the last seat sells is told so
(pushed), and so is anyone who comes to the queue afterwards; should a seat come back, the
pages take up the line again. And the order page of a payment that came too late says it is
refunded."""

from __future__ import annotations

import re
import time

from playwright.async_api import BrowserContext, expect
from redis.asyncio import Redis

from tests.browser.conftest import Site
from tests.browser.test_buyer_journey import admitted, shot, sign_in
from ticketing.adapters.redis.keys import Keys
from ticketing.domain.ids import ScheduleId

SOLD_OUT = "Sold out. Every seat is sold; if one comes back, the queue reopens."


async def test_the_waiting_page_says_sold_out_when_the_last_seat_is_sold(context: BrowserContext, site: Site) -> None:
    schedule_id = site.new_sale(capacity=1, rows=1, cols=2)
    pass_token = admitted(site, schedule_id, "gina")
    page = await context.new_page()
    await sign_in(page, "hank")
    await page.goto(f"/schedules/{schedule_id}/queue")
    await expect(page.locator("#place")).to_have_text("You are number 1 in line")

    buy(site, "gina", schedule_id, pass_token, ["A-1", "A-2"])  # every seat

    await expect(page.locator("#place")).to_have_text(SOLD_OUT)
    await shot(page, "sold-out")
    later = await context.browser.new_context(base_url=site.base_url)
    newcomer = await later.new_page()
    await sign_in(newcomer, "ivan")
    await newcomer.goto(f"/schedules/{schedule_id}/queue")
    await expect(newcomer.locator("#place")).to_have_text(SOLD_OUT)

    # Nothing un-sells a seat yet (SOLD is final until cancellations exist): lower the sold
    # count as a cancellation would. The next tick reopens the line and says so; the waiting
    # page, still listening, is admitted to the seats; the newcomer's page joins the line.
    redis = Redis.from_url(site.settings.redis_url)
    try:
        await redis.decr(Keys(site.settings.redis_key_prefix).seats_sold(ScheduleId(schedule_id)))
    finally:
        await redis.aclose()
    await page.wait_for_url(re.compile(rf"/schedules/{schedule_id}/seats$"))
    await expect(newcomer.locator("#place")).to_have_text("You are number 1 in line")
    await later.close()


def buy(site: Site, user: str, schedule_id: int, pass_token: str, seats: list[str], outcome: str = "PAID") -> str:
    """Hold ``seats`` (retrying while another hold still has them), order, and have the
    development provider report ``outcome``; returns the order number."""
    with site.api(user) as api:
        deadline = time.monotonic() + 30
        while True:
            held = api.post(
                f"/api/v1/schedules/{schedule_id}/holds", json={"seat_nos": seats}, headers={"X-Queue-Pass": pass_token}
            )
            if held.status_code == 201 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert held.status_code == 201, held.text
        body = {"hold_id": held.json()["hold_id"]}
        order = api.post("/api/v1/payments", json=body, headers={"Idempotency-Key": user})
        assert order.status_code == 201, order.text
        order_no = str(order.json()["order_no"])
        if outcome:
            paid = api.post(f"/api/v1/dev/payments/{order_no}/complete", json={"outcome": outcome})
            assert paid.status_code == 200, paid.text
        return order_no


async def test_the_order_page_says_refunded_when_the_payment_came_after_the_seat_was_sold(
    context: BrowserContext, site: Site
) -> None:
    schedule_id = site.new_sale(capacity=2, rows=1, cols=1, hold_ttl_s=5)
    slow_order = buy(site, "slow", schedule_id, admitted(site, schedule_id, "slow"), ["A-1"], outcome="")
    # The slow buyer's hold lapses (5 s, then a payment window of 1 s); another buys the seat.
    buy(site, "quick", schedule_id, admitted(site, schedule_id, "quick"), ["A-1"])
    with site.api("slow") as slow:  # the slow payment lands now
        paid = slow.post(f"/api/v1/dev/payments/{slow_order}/complete", json={"outcome": "PAID"})
        assert paid.status_code == 200, paid.text

    page = await context.new_page()
    await sign_in(page, "slow")
    await page.goto(f"/orders/{slow_order}")
    await expect(page.locator("#order-state")).to_have_text(
        "Those seats could not be confirmed. Your payment is refunded.", timeout=30_000
    )
    await expect(page.locator("#order-seats li")).to_have_text(re.compile(r"^A-1 · Refund"))
