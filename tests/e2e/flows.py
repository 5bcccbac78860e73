"""Steps of a buyer's journey through the HTTP API, shared by the e2e tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from ticketing.api.app import create_app
from ticketing.bootstrap import Resources
from ticketing.devtools.broker import free_port
from ticketing.domain.payments import WebhookOutcome
from ticketing.domain.webhooks import WebhookEvent, sign
from ticketing.settings import Settings
from ticketing.workers.queue_advancer import QueueAdvancer

Auth = Callable[..., dict[str, str]]


async def admit(
    client: httpx.AsyncClient, auth: Auth, res: Resources, schedule_id: int, users: Sequence[str]
) -> dict[str, str]:
    """Enter every user, run one advancer tick, return each admitted user's pass token."""
    await asyncio.gather(*(client.post(f"/api/v1/schedules/{schedule_id}/queue", headers=auth(u)) for u in users))
    await QueueAdvancer(res).tick()
    answers = await asyncio.gather(
        *(client.get(f"/api/v1/schedules/{schedule_id}/queue", headers=auth(u)) for u in users)
    )
    passes = {
        u: a.json()["pass_token"] for u, a in zip(users, answers, strict=True) if a.json()["status"] == "ADMITTED"
    }
    assert len(passes) == len(users), "schedule capacity/admit_per_tick too small for this test"
    return passes


async def hold(
    client: httpx.AsyncClient,
    auth: Auth,
    schedule_id: int,
    user: str,
    pass_token: str | None,
    seats: Sequence[str],
    key: str | None = None,
) -> httpx.Response:
    """Ask for a hold; with ``key``, as a retryable request (its Idempotency-Key)."""
    headers = auth(user) | ({"X-Queue-Pass": pass_token} if pass_token else {})
    headers |= {"Idempotency-Key": key} if key else {}
    return await client.post(f"/api/v1/schedules/{schedule_id}/holds", json={"seat_nos": list(seats)}, headers=headers)


async def order(
    client: httpx.AsyncClient, auth: Auth, user: str, hold_id: str, key: str | None = None
) -> httpx.Response:
    """Ask for a payment order; a fresh Idempotency-Key unless the test names one."""
    headers = auth(user) | {"Idempotency-Key": key or uuid.uuid4().hex}
    return await client.post("/api/v1/payments", json={"hold_id": hold_id}, headers=headers)


async def webhook(
    client: httpx.AsyncClient,
    res: Resources,
    order_no: str,
    status: str,
    pg_tx_id: str | None = None,
    secret: str | None = None,
    amount: str | None = None,
    timestamp: int | None = None,
) -> httpx.Response:
    """The provider's signed callback for ``order_no``, as a real provider sends it: the
    order's amount, a transaction id of its own and the current time unless given."""
    if amount is None:
        found = await res.payments.get_order(order_no)
        amount = str(found.amount) if found is not None else "0.00"
    event = WebhookEvent(
        order_no,
        Decimal(amount),
        WebhookOutcome(status),
        pg_tx_id or f"pg-{order_no}",
        int(time.time()) if timestamp is None else timestamp,
    )
    body = event.to_body()
    signature = sign(secret or res.settings.webhook_secret, body)
    return await client.post(
        f"/api/v1/payments/{order_no}/webhook",
        content=body,
        headers={"content-type": "application/json", "X-Signature": signature},
    )


async def buy(
    client: httpx.AsyncClient, auth: Auth, res: Resources, schedule_id: int, user: str, seats: list[str]
) -> tuple[str, str]:
    """Queue, pass, hold and pay (webhook PAID); returns (hold_id, order_no)."""
    passes = await admit(client, auth, res, schedule_id, [user])
    r = await hold(client, auth, schedule_id, user, passes[user], seats)
    assert r.status_code == 201, r.text
    hold_id = r.json()["hold_id"]
    order_no = (await order(client, auth, user, hold_id)).json()["order_no"]
    assert (await webhook(client, res, order_no, "PAID")).status_code == 200
    return hold_id, order_no


async def my_reservations(client: httpx.AsyncClient, auth: Auth, user: str) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/me/reservations", headers=auth(user))
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()
    return rows


async def seat_states(client: httpx.AsyncClient, schedule_id: int) -> dict[str, str]:
    seats = (await client.get(f"/api/v1/schedules/{schedule_id}/seats")).json()["seats"]
    return {s["seat_no"]: s["status"] for s in seats}


async def eventually(check: Callable[[], Any], timeout_s: float = 10.0, interval_s: float = 0.05) -> Any:
    """Poll an async predicate until it returns something truthy (for worker-driven outcomes)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s (last value {value!r})")
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def serve(settings: Settings, app: FastAPI | None = None) -> AsyncIterator[tuple[str, FastAPI]]:
    """A real HTTP server (uvicorn) for one app instance, like one API process. Given an app
    whose lifespan a fixture already entered, the server does not run it again."""
    port = free_port()
    lifespan = "off" if app is not None else "on"
    app = app or create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan))
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "server failed to start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        await task


async def next_event(lines: AsyncIterator[str]) -> tuple[str, Any]:
    event, data = "message", ""
    async for line in lines:
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            return event, json.loads(data)
    raise AssertionError("stream ended")
