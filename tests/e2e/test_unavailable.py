"""A backing service that is down is a 503 with Retry-After (clients retry), never a 500."""

from __future__ import annotations

import httpx

from tests.conftest import make_schedule
from ticketing.api.app import create_app
from ticketing.bootstrap import Resources, open_resources
from ticketing.devtools.broker import free_port
from ticketing.domain.identity import Role


async def test_redis_unreachable_answers_503_dependency_unavailable_with_retry_after(res: Resources) -> None:
    schedule = await make_schedule(res)
    cut_off = res.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    app = create_app(cut_off)
    # No lifespan: its warm-up needs Redis. The process runs on as it would after Redis died.
    async with open_resources(cut_off) as broken:
        app.state.resources = broken
        token = broken.access_tokens.issue("alice", Role.USER)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post(
                f"/api/v1/schedules/{schedule.id}/queue", headers={"Authorization": f"Bearer {token}"}
            )
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert (r.json()["code"], r.headers["retry-after"]) == ("DEPENDENCY_UNAVAILABLE", "2")
