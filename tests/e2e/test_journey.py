"""One buyer's whole journey over real HTTP with every worker running, watched on the live
seat stream, and the invariant checker run on the result."""

import asyncio
import json
import os
import sys

import httpx
from fastapi import FastAPI

from tests.conftest import make_schedule
from tests.e2e.flows import eventually, next_event, serve
from ticketing.bootstrap import Resources
from ticketing.domain.identity import Role
from ticketing.settings import Settings


async def run_check(settings: Settings, schedule_id: int) -> tuple[int, dict[str, object]]:
    env = {
        **os.environ,
        "TICKETING_DATABASE_URL": settings.database_url,
        "TICKETING_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "TICKETING_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ticketing.cli",
        "check",
        "--schedule",
        str(schedule_id),
        "--json",
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, json.loads(out)


async def test_queue_pass_hold_pay_confirm_over_http_with_all_workers(
    app: FastAPI, app_res: Resources, settings: Settings, workers: dict[str, object]
) -> None:
    schedule = await make_schedule(app_res, capacity=3, rows=2, cols=5)
    token = app_res.access_tokens.issue("journey", Role.USER)
    async with (
        serve(settings, app) as (url, _),
        httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api,
        api.stream("GET", f"/api/v1/schedules/{schedule.id}/seats/stream") as stream,
    ):
        lines = stream.aiter_lines()
        assert (await asyncio.wait_for(next_event(lines), 5))[0] == "hello"

        entered = await api.post(f"/api/v1/schedules/{schedule.id}/queue")
        assert entered.status_code == 202
        status = entered.json()
        while status["status"] == "WAITING":  # poll at the pace the server sets, as a client should
            await asyncio.sleep(min(status["poll_after_ms"], 200) / 1000)
            status = (await api.get(f"/api/v1/schedules/{schedule.id}/queue")).json()
        assert status["status"] == "ADMITTED"

        held = await api.post(
            f"/api/v1/schedules/{schedule.id}/holds",
            json={"seat_nos": ["B-5", "B-4"]},
            headers={"X-Queue-Pass": status["pass_token"]},
        )
        assert held.status_code == 201, held.text
        assert held.json()["seat_nos"] == ["B-4", "B-5"]
        assert await asyncio.wait_for(next_event(lines), 5) == ("seats", {"seats": {"B-4": "HELD", "B-5": "HELD"}})

        order = await api.post(
            "/api/v1/payments", json={"hold_id": held.json()["hold_id"]}, headers={"Idempotency-Key": "journey-1"}
        )
        assert (order.status_code, order.json()["amount"]) == (201, "50.00")
        done = await api.post(f"/api/v1/dev/payments/{order.json()['order_no']}/complete", json={"outcome": "PAID"})
        assert done.json()["webhook_status"] == 200

        async def confirmed() -> bool:
            rows = (await api.get("/api/v1/me/reservations")).json()
            return {r["status"] for r in rows if r["hold_id"] == held.json()["hold_id"]} == {"CONFIRMED"}

        await eventually(confirmed, timeout_s=10)
        assert await asyncio.wait_for(next_event(lines), 5) == ("seats", {"seats": {"B-4": "SOLD", "B-5": "SOLD"}})
        seats = {
            s["seat_no"]: s["status"] for s in (await api.get(f"/api/v1/schedules/{schedule.id}/seats")).json()["seats"]
        }
        assert (seats["B-4"], seats["B-5"], seats["A-1"]) == ("SOLD", "SOLD", "AVAILABLE")

    code, report = await run_check(settings, schedule.id)
    assert report["violations"] == []
    assert code == 0
