"""The pages as HTTP answers (their behaviour in a browser: tests/browser): each is HTML in the
reader's language, carries a strict CSP, and names only assets the service itself serves."""

import re

import httpx
import pytest

from tests.conftest import make_schedule
from ticketing.api.app import create_app
from ticketing.bootstrap import Resources
from ticketing.settings import Settings


async def test_the_event_list_names_every_event_and_links_its_page(
    client: httpx.AsyncClient, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    r = await client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert f'href="/events/{schedule.event_id}"' in r.text
    event = await client.get(f"/events/{schedule.event_id}")
    assert f'href="/schedules/{schedule.id}/queue"' in event.text
    assert "25.00" in event.text  # the price range


async def test_every_asset_a_page_names_is_served_by_the_service(client: httpx.AsyncClient, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    paths = ["/", "/login", f"/schedules/{schedule.id}/queue", f"/schedules/{schedule.id}/seats", "/me/tickets"]
    assets: set[str] = set()
    for path in paths:
        page = await client.get(path)
        assert page.status_code == 200, path
        assets |= set(re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text))
    assert {a.split("?")[0] for a in assets} >= {"/static/app.css", "/static/session.js", "/static/queue.js"}
    for asset in assets:
        r = await client.get(asset)
        assert r.status_code == 200, asset
    # Modules import each other by relative path: those are served too.
    for module in re.findall(r"from '\./([a-z]+\.js)'", (await client.get("/static/queue.js")).text):
        assert (await client.get(f"/static/{module}")).status_code == 200


@pytest.mark.parametrize(
    ("asked", "heading"),
    [({"accept-language": "ko-KR,ko;q=0.9"}, "판매 중"), ({"accept-language": "en-US"}, "On sale")],
)
async def test_the_language_follows_the_browser(client: httpx.AsyncClient, asked: dict[str, str], heading: str) -> None:
    r = await client.get("/", headers=asked)
    assert f"<h1>{heading}</h1>" in r.text


async def test_a_chosen_language_is_remembered(client: httpx.AsyncClient) -> None:
    r = await client.get("/?lang=ko")
    assert r.cookies.get("lang") == "ko"
    client.cookies.set("lang", "ko")
    again = await client.get("/login", headers={"accept-language": "en"})
    assert 'lang="ko"' in again.text


async def test_the_page_of_an_unknown_schedule_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/schedules/987654321/queue")
    assert (r.status_code, r.json()["code"]) == (404, "SCHEDULE_NOT_FOUND")


async def test_development_sign_in_gives_a_working_token(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/dev/login", json={"user_id": "alice"})
    assert r.status_code == 200
    token = r.json()["access_token"]
    mine = await client.get("/api/v1/me/reservations", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200
    bad = await client.post("/api/v1/dev/login", json={"user_id": "<script>"})
    assert (bad.status_code, bad.headers["content-type"]) == (422, "application/problem+json")


async def test_without_development_sign_in_there_is_no_such_route(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"dev_login_enabled": False, "fake_payments_enabled": False}))
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        login = await c.post("/api/v1/dev/login", json={"user_id": "mallory", "admin": True})
        provider = await c.get("/dev/provider/ord_x")
        page = await c.get("/login")
    assert login.status_code == 404
    assert provider.status_code == 404
    assert 'id="login"' not in page.text  # no form: tokens come from the identity provider
