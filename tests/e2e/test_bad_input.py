"""Bad input gets a 4xx problem+json answer with a stable code and changes nothing."""

from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import make_schedule
from tests.e2e.test_catalog_api import create_event, schedule_body
from ticketing.adapters.sql import tables
from ticketing.bootstrap import Resources

Auth = Callable[..., dict[str, str]]


async def row_counts(res: Resources) -> tuple[int, int, int]:
    async with res.engine.connect() as conn:
        counts = [
            (await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one()
            for t in (tables.event, tables.schedule, tables.seat)
        ]
    return counts[0], counts[1], counts[2]


def assert_problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()


async def test_malformed_json_is_400_and_creates_nothing(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    before = await row_counts(app_res)
    r = await client.post(
        "/api/v1/admin/events",
        content=b'{"title": "x",',
        headers=auth("root", True) | {"content-type": "application/json"},
    )
    assert_problem(r, 400, "MALFORMED_JSON")
    assert await row_counts(app_res) == before


@pytest.mark.parametrize(
    "body",
    [
        {"title": 12},
        {"title": ""},
        {"title": "x" * 201},
        {"title": "ok", "description": "d" * 4001},
        {"title": "ok", "unexpected": True},
        [],
        "title",
    ],
)
async def test_invalid_event_bodies_are_422(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, body: object
) -> None:
    before = await row_counts(app_res)
    r = await client.post("/api/v1/admin/events", json=body, headers=auth("root", True))
    assert_problem(r, 422, "VALIDATION_FAILED")
    assert r.json()["errors"]
    assert await row_counts(app_res) == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"hold_ttl_s": -1},
        {"max_seats_per_user": 0},
        {"queue": {"capacity": -5, "pass_ttl_s": 60, "admit_per_tick": 1}},
        {"queue": {"capacity": 5, "pass_ttl_s": "soon", "admit_per_tick": 1}},
        {"seats": {"rows": 0, "cols": 3, "price": "1"}},
        {"seats": {"rows": 2, "cols": 3, "price": "-1"}},
        {"seats": {"rows": 2, "cols": 3, "price": "1.001"}},
        {"seats": {"rows": 702, "cols": 1000, "price": "1"}},  # 702,000 seats: over the 50,000 cap
        {"seats": []},
        {"seats": [{"seat_no": "A 1; DROP", "price": "1"}]},
        {"seats": [{"seat_no": "A" * 33, "price": "1"}]},
        {"starts_at": "2030-01-01T00:00:00"},
        {"starts_at": "next tuesday"},
    ],
)
async def test_invalid_schedule_bodies_are_422_and_change_nothing(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, overrides: dict[str, object]
) -> None:
    event = await create_event(client, auth)
    before = await row_counts(app_res)
    r = await client.post(
        f"/api/v1/admin/events/{event['id']}/schedules", json=schedule_body(**overrides), headers=auth("root", True)
    )
    assert_problem(r, 422, "VALIDATION_FAILED")
    assert await row_counts(app_res) == before


async def test_business_rule_violations_are_422_with_their_own_codes(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    event = await create_event(client, auth)
    before = await row_counts(app_res)
    url = f"/api/v1/admin/events/{event['id']}/schedules"
    dup = [{"seat_no": "A-1", "price": "1"}, {"seat_no": "A-1", "price": "2"}]
    assert_problem(
        await client.post(url, json=schedule_body(seats=dup), headers=auth("root", True)), 422, "DUPLICATE_SEAT"
    )
    late = schedule_body(sale_opens_at="2099-01-01T00:00:00+00:00")
    assert_problem(await client.post(url, json=late, headers=auth("root", True)), 422, "INVALID_INPUT")
    assert await row_counts(app_res) == before


async def test_unknown_ids_are_404(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    before = await row_counts(app_res)
    assert_problem(await client.get("/api/v1/events/999999999"), 404, "EVENT_NOT_FOUND")
    assert_problem(await client.get("/api/v1/schedules/999999999"), 404, "SCHEDULE_NOT_FOUND")
    assert_problem(await client.get("/api/v1/schedules/999999999/seats"), 404, "SCHEDULE_NOT_FOUND")
    assert_problem(await client.post("/api/v1/schedules/999999999/queue", headers=auth()), 404, "SCHEDULE_NOT_FOUND")
    assert_problem(
        await client.post("/api/v1/admin/events/999999999/schedules", json=schedule_body(), headers=auth("r", True)),
        404,
        "EVENT_NOT_FOUND",
    )
    assert await row_counts(app_res) == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/schedules/-1",
        "/api/v1/schedules/0",
        "/api/v1/schedules/abc",
        "/api/v1/schedules/99999999999999999999999",
        "/api/v1/events?limit=-3",
        "/api/v1/events?limit=100000",
        "/api/v1/events?offset=x",
    ],
)
async def test_out_of_range_or_wrongly_typed_ids_and_queries_are_422(client: httpx.AsyncClient, path: str) -> None:
    assert_problem(await client.get(path), 422, "VALIDATION_FAILED")


async def test_bad_queue_calls_change_nothing(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    assert_problem(await client.post(f"/api/v1/schedules/{schedule.id}/queue"), 401, "NOT_AUTHENTICATED")
    assert_problem(await client.post("/api/v1/schedules/-4/queue", headers=auth()), 422, "VALIDATION_FAILED")
    assert await app_res.waiting_room.waiting_count(schedule.id) == 0
    oversized = {"X-Queue-Pass": "x" * 5000}
    r = await client.get(f"/api/v1/schedules/{schedule.id}/queue/pass", headers=auth() | oversized)
    assert_problem(r, 422, "VALIDATION_FAILED")


async def test_unknown_route_is_404_and_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    assert_problem(await client.put("/api/v1/events"), 405, "METHOD_NOT_ALLOWED")


async def test_oversized_body_is_413(client: httpx.AsyncClient, auth: Auth) -> None:
    r = await client.post("/api/v1/admin/events", content=b"x" * (5 * 1024 * 1024), headers=auth("root", True))
    assert_problem(r, 413, "PAYLOAD_TOO_LARGE")
