"""A buyer with the mouse: the event list, the waiting room behind others, two seats, the
provider's page, the confirmation and the tickets; another browser sees the seats sold live."""

from __future__ import annotations

import re
import time

from playwright.async_api import BrowserContext, Page, expect

from tests.browser.conftest import SCREENSHOTS, Site


async def sign_in(page: Page, user: str, admin: bool = False) -> None:
    await page.goto("/login")
    await page.get_by_label("User name").fill(user)
    if admin:
        await page.get_by_label("Organiser (admin)").check()
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who")).to_have_text(f"Signed in as {user}")


async def shot(page: Page, name: str) -> None:
    """A screenshot of the page, which must fit its window's width (phone-sized in these tests:
    nothing may make a buyer scroll sideways)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{name}: {width[0]} px wide in a {width[1]} px window"


def admitted(site: Site, schedule_id: int, user: str) -> str:
    """``user`` enters and polls (at the pace the API sets) until admitted; returns the pass."""
    with site.api(user) as api:
        answer = api.post(f"/api/v1/schedules/{schedule_id}/queue").json()
        for _ in range(60):
            if answer["status"] == "ADMITTED":
                return str(answer["pass_token"])
            time.sleep(max(answer.get("poll_after_ms", 500), 300) / 1000)
            answer = api.get(f"/api/v1/schedules/{schedule_id}/queue").json()
    raise AssertionError(f"{user} was never admitted: {answer}")


async def test_a_buyer_waits_behind_others_picks_two_seats_pays_and_sees_them_confirmed(
    context: BrowserContext, site: Site
) -> None:
    schedule_id = site.new_sale(capacity=1)
    admitted(site, schedule_id, "bob")  # holds the only pass
    with site.api("carol") as carol:  # waits first in line
        assert carol.post(f"/api/v1/schedules/{schedule_id}/queue").json()["status"] == "WAITING"

    page = await context.new_page()
    await page.goto("/login")
    await shot(page, "sign-in")
    await sign_in(page, "alice@browser")
    await page.goto("/")
    await shot(page, "events")
    await page.get_by_role("link", name="Browser Night").last.click()
    await expect(page.locator(f'[data-schedule="{schedule_id}"] .countdown')).to_have_text("On sale now")
    await shot(page, "event")
    await page.locator(f'[data-schedule="{schedule_id}"]').get_by_role("link", name="Join the queue").click()

    place = page.locator("#place")
    await expect(place).to_have_attribute("aria-live", "polite")  # a screen reader hears it move
    await expect(place).to_have_text("You are number 2 in line")
    await expect(page.locator("#ahead")).to_have_text("Ahead of you: 1")
    await shot(page, "waiting-room")

    with site.api("bob") as bob:  # bob leaves: carol's turn, alice moves up (pushed, not polled)
        assert bob.delete(f"/api/v1/schedules/{schedule_id}/queue").status_code == 204
    await expect(place).to_have_text("You are number 1 in line")
    with site.api("carol") as carol:
        assert carol.delete(f"/api/v1/schedules/{schedule_id}/queue").status_code == 204

    await page.wait_for_url(re.compile(rf"/schedules/{schedule_id}/seats$"))
    watcher = await context.browser.new_context(base_url=site.base_url)  # another person, another browser
    watching = await watcher.new_page()
    await watching.goto(f"/schedules/{schedule_id}/seats")
    await expect(watching.locator('[data-seat="B-4"]')).to_have_class(re.compile(r"\bAVAILABLE\b"))

    await page.locator('[data-seat="B-4"]').click()
    await page.keyboard.press("Tab")  # the next seat, by keyboard alone
    await expect(page.locator('[data-seat="B-5"]')).to_be_focused()
    await page.keyboard.press("Space")
    await expect(page.locator('[data-seat="B-5"]')).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#picked")).to_have_text("Selected: B-4, B-5")
    await expect(page.locator("#total")).to_have_text("Total 100.00")
    await shot(page, "seat-map")
    await page.get_by_role("button", name="Hold these seats").focus()
    await page.keyboard.press("Enter")

    await page.wait_for_url(re.compile(r"/checkout/h_"))
    await expect(watching.locator('[data-seat="B-4"]')).to_have_class(re.compile(r"\bHELD\b"))
    await expect(page.locator("#hold-seats li")).to_have_count(2)
    await expect(page.locator("#hold-clock")).to_contain_text("Held for")
    await shot(page, "checkout")
    await page.get_by_role("button", name="Pay 100.00").click()

    await page.wait_for_url(re.compile(r"/dev/provider/"))
    await expect(page.locator("#amount")).to_have_text("Amount 100.00")
    await shot(page, "payment-provider")
    await page.get_by_role("button", name="Pay", exact=True).click()

    await page.wait_for_url(re.compile(r"/orders/"))
    await expect(page.locator("#order-state")).to_have_text("Confirmed! Your tickets are ready.")
    await expect(watching.locator('[data-seat="B-4"]')).to_have_class(re.compile(r"\bSOLD\b"))
    await expect(watching.locator('[data-seat="B-5"]')).to_have_class(re.compile(r"\bSOLD\b"))
    await shot(page, "confirmed")

    await page.get_by_role("link", name="My tickets").first.click()
    rows = page.locator("#tickets tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="Confirmed")).to_have_count(2)
    await rows.first.get_by_role("button", name="Show ticket").click()
    await expect(rows.first.locator("img.qr")).to_be_visible()
    await shot(page, "tickets")
    await watcher.close()


async def test_the_pages_speak_korean_when_asked(context: BrowserContext, site: Site) -> None:
    page = await context.new_page()
    await page.goto("/?lang=ko")
    await expect(page.get_by_role("heading", level=1)).to_have_text("판매 중")
    await shot(page, "events-ko")
    await page.goto("/login")  # the choice is remembered
    await expect(page.get_by_role("button", name="로그인")).to_be_visible()
