"""The pages: each renders a template with its strings; its script then talks to the JSON API.

Pages carry no data a buyer could not fetch from the API themselves: the catalog is
rendered here (readable without scripts, quick to first paint), everything personal is
fetched by the page's script with the buyer's token, which never leaves the browser's
storage for a cookie (so no page can be forged across sites into acting for a buyer).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from ticketing.api.dependencies import EventIdPath, Res, ScheduleIdPath
from ticketing.api.web.i18n import LANGUAGE_COOKIE, LANGUAGES, STRINGS, language_of
from ticketing.domain.catalog import Schedule
from ticketing.domain.ids import EventId, ScheduleId
from ticketing.services import catalog as use

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
# Every asset is the service's own: no CDN, no inline script (data rides in JSON blocks).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

HoldIdPath = Annotated[str, PathParam(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]
OrderNoPath = Annotated[str, PathParam(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]


@cache
def asset_version(name: str) -> str:
    """A content hash for the asset's URL, so a new release is never served from an old cache."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["static"] = lambda name: f"/static/{name}?v={asset_version(name)}"


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


def render(request: Request, template: str, title: str, script: str | None = None, **context: Any) -> HTMLResponse:
    lang = language_of(request)
    strings = STRINGS[lang]
    response = templates.TemplateResponse(
        request,
        template,
        {"lang": lang, "t": strings, "strings": strings, "title": title, "script": script, "page": script, **context},
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86_400, samesite="lax")
    return response


def price_range(prices: dict[str, Decimal]) -> str:
    if not prices:
        return "-"
    low, high = min(prices.values()), max(prices.values())
    return f"{low:.2f}" if low == high else f"{low:.2f} - {high:.2f}"


def iso(moment: datetime) -> str:
    return moment.isoformat()


router = APIRouter(include_in_schema=False)


@router.get("/")
async def events_page(request: Request, res: Res) -> HTMLResponse:
    events = await res.catalog.list_events(100, 0)
    return render(request, "events.html", STRINGS[language_of(request)]["events_title"], events=events)


@router.get("/events/{event_id}")
async def event_page(request: Request, event_id: EventIdPath, res: Res) -> HTMLResponse:
    event, schedules = await use.get_event(res.catalog, EventId(event_id))
    now = res.clock.now()
    shown = [
        {
            "id": s.id,
            "starts_at": iso(s.starts_at),
            "sale_opens_at": iso(s.sale_opens_at),
            "prices": price_range(await res.catalog.seat_prices(s.id)),
            "started": now >= s.starts_at,
        }
        for s in schedules
    ]
    return render(request, "event.html", event.title, "event", event=event, schedules=shown)


@router.get("/login")
async def login_page(request: Request, res: Res) -> HTMLResponse:
    title = STRINGS[language_of(request)]["sign_in"]
    return render(request, "login.html", title, "login", dev_login=res.settings.dev_login_enabled)


async def _schedule_context(res: Res, schedule_id: int) -> tuple[Schedule, dict[str, Any]]:
    schedule = await use.get_schedule(res.catalog, ScheduleId(schedule_id))
    event, _ = await use.get_event(res.catalog, schedule.event_id)
    return schedule, {"event_title": event.title, "starts_at": iso(schedule.starts_at)}


@router.get("/schedules/{schedule_id}/queue")
async def queue_page(request: Request, schedule_id: ScheduleIdPath, res: Res) -> HTMLResponse:
    schedule, context = await _schedule_context(res, schedule_id)
    title = STRINGS[language_of(request)]["queue_title"]
    return render(request, "queue.html", title, "queue", data={"schedule": schedule.id}, **context)


@router.get("/schedules/{schedule_id}/seats")
async def seats_page(request: Request, schedule_id: ScheduleIdPath, res: Res) -> HTMLResponse:
    schedule, context = await _schedule_context(res, schedule_id)
    title = STRINGS[language_of(request)]["seats_title"]
    data = {"schedule": schedule.id, "max-seats": schedule.max_seats_per_user}
    return render(request, "seats.html", title, "seats", data=data, max_seats=schedule.max_seats_per_user, **context)


@router.get("/checkout/{hold_id}")
async def checkout_page(request: Request, hold_id: HoldIdPath, res: Res) -> HTMLResponse:
    provider_page = "/dev/provider/{order_no}" if res.settings.fake_payments_enabled else ""
    title = STRINGS[language_of(request)]["checkout_title"]
    return render(request, "checkout.html", title, "checkout", data={"hold": hold_id, "provider-page": provider_page})


@router.get("/orders/{order_no}")
async def order_page(request: Request, order_no: OrderNoPath) -> HTMLResponse:
    title = STRINGS[language_of(request)]["order_title"]
    return render(request, "order.html", title, "order", data={"order": order_no})


@router.get("/me/tickets")
async def tickets_page(request: Request) -> HTMLResponse:
    title = STRINGS[language_of(request)]["tickets_title"]
    return render(request, "tickets.html", title, "tickets")


@router.get("/admin")
async def admin_page(request: Request, res: Res) -> HTMLResponse:
    """The organiser's page; its script acts only with an admin token (the API checks it)."""
    events = await res.catalog.list_events(200, 0)
    sales = []
    for event in events:
        for s in await res.catalog.list_schedules(event.id):
            sales.append({"id": s.id, "title": event.title, "starts_at": iso(s.starts_at)})
    title = STRINGS[language_of(request)]["admin_title"]
    return render(request, "admin.html", title, "admin", events=events, schedules=sales)


@router.get("/admin/schedules/{schedule_id}")
async def dashboard_page(request: Request, schedule_id: ScheduleIdPath, res: Res) -> HTMLResponse:
    schedule, context = await _schedule_context(res, schedule_id)
    title = STRINGS[language_of(request)]["admin_dashboard"]
    data = {"schedule": schedule.id}
    return render(request, "dashboard.html", title, "dashboard", data=data, schedule_id=schedule.id, **context)


dev_router = APIRouter(include_in_schema=False)


@dev_router.get("/dev/provider/{order_no}")
async def provider_page(request: Request, order_no: OrderNoPath) -> HTMLResponse:
    """The development payment provider's hosted page (mounted with the fake provider only)."""
    title = STRINGS[language_of(request)]["provider_title"]
    return render(request, "provider.html", title, "provider", data={"order": order_no})
