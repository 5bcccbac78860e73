"""Admins create events and schedules; anyone reads the catalog and the seat map."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

Auth = Callable[..., dict[str, str]]


def schedule_body(**overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    body: dict[str, object] = {
        "starts_at": (now + timedelta(days=7)).isoformat(),
        "sale_opens_at": (now - timedelta(minutes=5)).isoformat(),
        "hold_ttl_s": 120,
        "max_seats_per_user": 2,
        "queue": {"capacity": 100, "pass_ttl_s": 300, "admit_per_tick": 20},
        "seats": {"rows": 3, "cols": 4, "price": "49.50"},
    }
    body.update(overrides)
    return body


async def create_event(client: httpx.AsyncClient, auth: Auth, title: str = "Opera night") -> dict[str, object]:
    r = await client.post("/api/v1/admin/events", json={"title": title, "description": "d"}, headers=auth("root", True))
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


async def test_admin_creates_event_and_grid_schedule_that_anyone_can_read(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    event = await create_event(client, auth)
    r = await client.post(
        f"/api/v1/admin/events/{event['id']}/schedules", json=schedule_body(), headers=auth("root", True)
    )
    assert r.status_code == 201, r.text
    schedule = r.json()
    assert schedule["queue"] == {"capacity": 100, "pass_ttl_s": 300, "admit_per_tick": 20, "paused": False}
    assert schedule["sale_closed_at"] is None

    detail = (await client.get(f"/api/v1/events/{event['id']}")).json()
    assert [s["id"] for s in detail["schedules"]] == [schedule["id"]]
    assert (await client.get(f"/api/v1/schedules/{schedule['id']}")).json() == schedule
    seat_map = (await client.get(f"/api/v1/schedules/{schedule['id']}/seats")).json()
    assert [s["seat_no"] for s in seat_map["seats"]][:5] == ["A-1", "A-2", "A-3", "A-4", "B-1"]
    assert len(seat_map["seats"]) == 12
    assert {s["status"] for s in seat_map["seats"]} == {"AVAILABLE"}
    assert seat_map["seats"][0]["price"] == "49.50"
    assert event["id"] in [e["id"] for e in (await client.get("/api/v1/events?limit=200")).json()]


async def test_admin_creates_schedule_from_an_explicit_seat_list(client: httpx.AsyncClient, auth: Auth) -> None:
    event = await create_event(client, auth)
    seats = [
        {"seat_no": "VIP-1", "price": "300.00", "section": "VIP", "row_label": "V"},
        {"seat_no": "VIP-2", "price": "300.00", "section": "VIP", "row_label": "V"},
        {"seat_no": "S-1", "price": "80"},
    ]
    r = await client.post(
        f"/api/v1/admin/events/{event['id']}/schedules", json=schedule_body(seats=seats), headers=auth("root", True)
    )
    assert r.status_code == 201, r.text
    seat_map = (await client.get(f"/api/v1/schedules/{r.json()['id']}/seats")).json()["seats"]
    assert [(s["seat_no"], s["section"], s["price"]) for s in seat_map] == [
        ("VIP-1", "VIP", "300.00"),
        ("VIP-2", "VIP", "300.00"),
        ("S-1", "", "80.00"),
    ]


async def test_non_admin_cannot_create_events(client: httpx.AsyncClient, auth: Auth) -> None:
    r = await client.post("/api/v1/admin/events", json={"title": "x"}, headers=auth("alice"))
    assert (r.status_code, r.json()["code"]) == (403, "ADMIN_REQUIRED")


async def test_anonymous_caller_gets_401_with_bearer_challenge(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/admin/events", json={"title": "x"})
    assert (r.status_code, r.json()["code"]) == (401, "NOT_AUTHENTICATED")
    assert r.headers["www-authenticate"] == "Bearer"
    r = await client.post("/api/v1/schedules/1/queue", headers={"Authorization": "Bearer not-a-jwt"})
    assert (r.status_code, r.json()["code"]) == (401, "NOT_AUTHENTICATED")
