"""Health, readiness, metrics, OpenAPI, request ids, and crashes that leak nothing."""

import asyncio

import httpx
from fastapi import FastAPI

from ticketing.api.app import create_app
from ticketing.devtools.broker import free_port
from ticketing.settings import Settings


async def test_healthz_is_ok(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.json() == {"status": "ok"}


async def test_readyz_checks_database_redis_and_broker(client: httpx.AsyncClient) -> None:
    r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "ok"}


async def test_readyz_names_the_failed_dependency(settings: Settings) -> None:
    broken = settings.model_copy(
        update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}", "network_timeout_s": 0.5}
    )
    app = create_app(broken)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "DEPENDENCY_UNAVAILABLE"
    assert r.json()["detail"] == "not ready: broker"
    # Named, without the error text: a probe's answer must not tell the world about hosts,
    # ports or driver messages (the log has them).
    assert r.json()["checks"] == {"database": "ok", "redis": "ok", "broker": "unavailable"}


async def test_metrics_are_exported_with_route_templates(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/schedules/123456789")
    text = (await client.get("/metrics")).text
    assert 'route="/api/v1/schedules/{schedule_id}"' in text
    assert "123456789" not in text
    assert "ticketing_queue_entered_total" in text


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/schedules/{schedule_id}/queue" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    assert len((await client.get("/healthz")).headers["x-request-id"]) == 32
    r = await client.get("/healthz", headers={"X-Request-ID": "trace-abc"})
    assert r.headers["x-request-id"] == "trace-abc"


async def test_a_crash_is_a_500_problem_without_internals(app: FastAPI, client: httpx.AsyncClient) -> None:
    async def explode() -> None:
        raise RuntimeError("secret connection string mysql://root:hunter2@db")

    app.add_api_route("/test-only/explode", explode)
    r = await client.get("/test-only/explode")
    assert r.status_code == 500
    assert r.json()["code"] == "INTERNAL_ERROR"
    assert "hunter2" not in r.text
    assert "RuntimeError" not in r.text


async def test_metrics_can_be_served_on_a_port_of_their_own(settings: Settings) -> None:
    port = free_port()
    app = create_app(settings.model_copy(update={"api_metrics_port": port}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            await c.get("/healthz")
            public = await c.get("/metrics")
        own = await asyncio.to_thread(httpx.get, f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert public.status_code == 404  # not on the port buyers reach
    assert own.status_code == 200
    assert "ticketing_http_request_duration_seconds" in own.text
