"""The hot routes answer ahead of the middleware stack (api/fast_lane.py) with everything the
stack gave them: request ids, latency by route template, problem+json errors, body limits."""

from collections.abc import Callable

import httpx
from fastapi import FastAPI

from ticketing.api.fast_lane import FastLane


async def test_the_hot_routes_are_served_by_the_fast_lane(app: FastAPI, client: httpx.AsyncClient) -> None:
    await client.get("/healthz")  # the stack is built on the first request
    lane = app.middleware_stack
    assert isinstance(lane, FastLane)
    hot = {(method, route.path) for route in lane.routes for method in route.methods or ()}
    assert ("GET", "/api/v1/schedules/{schedule_id}/queue") in hot
    assert ("POST", "/api/v1/schedules/{schedule_id}/holds") in hot


async def test_a_hot_answer_carries_its_request_id_and_is_measured_by_template(
    client: httpx.AsyncClient, auth: Callable[..., dict[str, str]]
) -> None:
    r = await client.get("/api/v1/schedules/987654321/queue", headers={**auth("u1"), "X-Request-ID": "lane-1"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "lane-1"
    text = (await client.get("/metrics")).text
    assert 'route="/api/v1/schedules/{schedule_id}/queue",status="404"' in text
    assert "987654321" not in text


async def test_a_method_the_hot_route_does_not_take_goes_on_to_the_router(client: httpx.AsyncClient) -> None:
    r = await client.put("/api/v1/schedules/1/holds")
    assert r.status_code == 405
    assert r.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_a_hot_body_past_the_limit_is_refused_before_it_is_read(
    client: httpx.AsyncClient, auth: Callable[..., dict[str, str]]
) -> None:
    body = b'{"seat_nos": ["' + b"A" * 70_000 + b'"]}'
    r = await client.post("/api/v1/schedules/1/holds", content=body, headers=auth("u1"))
    assert r.status_code == 413
    assert r.json()["code"] == "PAYLOAD_TOO_LARGE"
