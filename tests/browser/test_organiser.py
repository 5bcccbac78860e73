"""The organiser with the mouse: a new sale from the forms, then its live page and its chart;
pausing admission holds a waiting buyer in place, resuming lets them through; the rate changes
at once; closing the sale tells the people still waiting."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import BrowserContext, expect

from tests.browser.conftest import Site
from tests.browser.test_buyer_journey import admitted, shot, sign_in


def local_minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")  # the browser runs in UTC here


async def test_the_organiser_creates_a_sale_and_a_pause_holds_the_line_until_resumed(
    context: BrowserContext, site: Site
) -> None:
    organiser = await context.new_page()
    await sign_in(organiser, "boss", admin=True)
    await organiser.get_by_role("link", name="Organiser").click()
    await organiser.get_by_label("Title").fill("Organiser Night")
    await organiser.get_by_role("button", name="Create the event").click()
    await organiser.wait_for_url(re.compile(r"/admin\?created="))

    form = organiser.locator("#schedule-form")
    await form.get_by_role("combobox").select_option(label="Organiser Night")
    now = datetime.now(UTC)
    await form.get_by_label("Starts", exact=True).fill(local_minute(now + timedelta(days=3)))
    await form.get_by_label("Sale opens", exact=True).fill(local_minute(now - timedelta(minutes=2)))
    await form.get_by_label("Rows", exact=True).fill("2")
    await form.get_by_label("Seats per row", exact=True).fill("6")
    await form.get_by_label("Buyers choosing at once (capacity)", exact=True).fill("1")
    await form.get_by_label("Admitted per tick (rate)", exact=True).fill("1")
    await shot(organiser, "organiser")
    await form.get_by_role("button", name="Create the performance").click()
    await organiser.wait_for_url(re.compile(r"/admin/schedules/\d+$"))
    schedule_id = int(organiser.url.rsplit("/", 1)[1])
    state = organiser.locator("#dash-state")
    await expect(state).to_have_text("Admission is running.")
    await expect(organiser.locator('[data-stat="available"]')).to_have_text("12")

    admitted(site, schedule_id, "erin")  # holds the only pass
    buyer_context = await context.browser.new_context(base_url=site.base_url)
    buyer = await buyer_context.new_page()
    await sign_in(buyer, "frank")
    await buyer.goto(f"/schedules/{schedule_id}/queue")
    await expect(buyer.locator("#place")).to_have_text("You are number 1 in line")

    await organiser.get_by_role("button", name="Pause admission").click()
    await expect(state).to_have_text("Admission is paused.")
    await expect(buyer.locator("#notice")).to_have_text("Admission is paused by the organiser. Your place is kept.")
    with site.api("erin") as erin:  # the pass comes free, but nobody is admitted while paused
        assert erin.delete(f"/api/v1/schedules/{schedule_id}/queue").status_code == 204
    await asyncio.sleep(2.5)  # many advancer ticks
    assert buyer.url.endswith(f"/schedules/{schedule_id}/queue")
    await expect(buyer.locator("#place")).to_have_text("You are number 1 in line")
    await expect(organiser.locator('[data-stat="waiting"]')).to_have_text("1")
    await expect(organiser.locator("#chart path")).to_have_count(3)  # waiting, sold, held over time
    await shot(organiser, "dashboard")

    await organiser.get_by_role("button", name="Resume admission").click()
    await expect(state).to_have_text("Admission is running.")
    await buyer.wait_for_url(re.compile(rf"/schedules/{schedule_id}/seats$"))
    await buyer_context.close()

    steer = organiser.locator("#steer")
    await steer.get_by_label("Admitted per tick (rate)").fill("3")
    await steer.get_by_role("button").click()
    await expect(state).to_have_text("Saved: capacity 1, 3 per tick.")
    with site.api("anyone") as anyone:
        assert anyone.get(f"/api/v1/schedules/{schedule_id}").json()["queue"]["admit_per_tick"] == 3

    late_context = await context.browser.new_context(base_url=site.base_url)
    late = await late_context.new_page()
    await sign_in(late, "gus")
    await late.goto(f"/schedules/{schedule_id}/queue")
    await expect(late.locator("#place")).to_have_text("You are number 1 in line")  # frank holds the pass
    organiser.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await organiser.get_by_role("button", name="Close the sale").click()
    await expect(state).to_have_text("The sale is closed.")
    await expect(late.locator("#place")).to_have_text("The sale is closed.")
    await late_context.close()
