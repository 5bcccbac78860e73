"""A real site and a real browser: ``ticketing dev`` (broker, API, every worker) on this run's
database and a Redis prefix of its own, and Debian's Chromium driven by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``
(``make browser-tools`` installs Debian's package when it is missing).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from tests.conftest import RUN_ID, delete_keys
from tests.e2e.test_cli import start_dev
from ticketing.bootstrap import build_access_tokens
from ticketing.domain.identity import Role
from ticketing.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# `make screenshots` renews the pictures in docs/; an ordinary run keeps its own out of the tree.
SCREENSHOTS = Path(os.environ.get("TICKETING_SCREENSHOTS") or Path(tempfile.gettempdir()) / "ticketing-screenshots")


@dataclass
class Site:
    """The running site and ways to act on it directly, as another buyer or the organiser."""

    base_url: str
    settings: Settings

    def token(self, user: str, admin: bool = False) -> str:
        return build_access_tokens(self.settings).issue(user, Role.ADMIN if admin else Role.USER)

    def api(self, user: str, admin: bool = False) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(user, admin)}"}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=10)

    def new_sale(
        self, *, capacity: int, rows: int = 3, cols: int = 8, max_seats: int = 4, hold_ttl_s: int = 300
    ) -> int:
        """An event with one schedule on sale now; returns the schedule id."""
        now = datetime.now(UTC)
        with self.api("organiser", admin=True) as admin:
            event = admin.post("/api/v1/admin/events", json={"title": "Browser Night", "description": "Trio"})
            event.raise_for_status()
            body: dict[str, Any] = {
                "starts_at": (now + timedelta(days=7)).isoformat(),
                "sale_opens_at": (now - timedelta(minutes=1)).isoformat(),
                "hold_ttl_s": hold_ttl_s,
                "max_seats_per_user": max_seats,
                "queue": {"capacity": capacity, "pass_ttl_s": 300, "admit_per_tick": 1},
                "seats": {"rows": rows, "cols": cols, "price": "50.00"},
            }
            schedule = admin.post(f"/api/v1/admin/events/{event.json()['id']}/schedules", json=body)
            schedule.raise_for_status()
            return int(schedule.json()["id"])


@pytest.fixture(scope="package")
def site(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One site for every browser test (each makes a sale of its own): a dev stack takes
    half a minute to start. Stopped when the browser tests end: its workers share this run's
    database and broker, and must not act on the other tests' rows."""
    settings = base_settings.model_copy(update={"redis_key_prefix": f"test:{RUN_ID}:browser:"})
    # A payment window of a second: an order does not keep its lapsed hold's seats for long,
    # so a test can make a payment land late (test_sold_out: the refunded order's page).
    proc, port, log = start_dev(settings, tmp_path_factory.mktemp("browser"), {"TICKETING_PAYMENT_WINDOW_S": "1"})
    try:
        yield Site(f"http://127.0.0.1:{port}", settings)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        asyncio.run(delete_keys(settings.redis_url, settings.redis_key_prefix))
        print(log.read_text()[-4000:])


@pytest.fixture(scope="session")
def chromium() -> str:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `make browser-tools`"
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def context(browser: Browser, site: Site) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(base_url=site.base_url, viewport={"width": 390, "height": 844}, locale="en-US")
    ctx.set_default_timeout(20_000)
    yield ctx
    await ctx.close()
