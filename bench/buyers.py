"""What the runner does over HTTP before the load: schedules via the admin API, admitted users with passes,
and one warm-up purchase that proves the whole confirmation pipeline answers."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

CONCURRENCY = 64  # requests in flight while preparing; enough to be quick, far below the load phases
ADMIT_TIMEOUT_S = 120.0
CONFIRM_TIMEOUT_S = 60.0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client(base_url: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0)


async def bounded(items: Sequence[T], call: Callable[[T], Awaitable[Any]]) -> list[Any]:
    """``call`` for every item, at most CONCURRENCY at a time, results in order."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: T) -> Any:
        async with gate:
            return await call(item)

    return await asyncio.gather(*(one(i) for i in items))


def expect(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    body: dict[str, Any] = response.json() if response.content else {}
    return body


async def create_schedule(
    http: httpx.AsyncClient,
    admin_token: str,
    title: str,
    *,
    rows: int,
    cols: int,
    capacity: int,
    pass_ttl_s: int,
    admit_per_tick: int,
    hold_ttl_s: int = 600,
    max_seats_per_user: int = 1,
    starts_in: timedelta = timedelta(days=1),
) -> int:
    """An event with one schedule whose sale is open now; returns the schedule id."""
    event = expect(await http.post("/api/v1/admin/events", json={"title": title}, headers=bearer(admin_token)), 201)
    now = datetime.now(UTC)
    body = {
        "starts_at": (now + starts_in).isoformat(),
        "sale_opens_at": (now - timedelta(minutes=1)).isoformat(),
        "hold_ttl_s": hold_ttl_s,
        "max_seats_per_user": max_seats_per_user,
        "queue": {"capacity": capacity, "pass_ttl_s": pass_ttl_s, "admit_per_tick": admit_per_tick},
        "seats": {"rows": rows, "cols": cols, "price": "45.00"},
    }
    path = f"/api/v1/admin/events/{event['id']}/schedules"
    schedule = expect(await http.post(path, json=body, headers=bearer(admin_token)), 201)
    return int(schedule["id"])


async def admit(http: httpx.AsyncClient, schedule_id: int, tokens: Sequence[str]) -> list[str]:
    """Enter every user, wait for the advancer to admit them all, return their pass tokens in order.

    The schedule's capacity and admit_per_tick must cover everyone (the load starts
    from "everybody holds a pass"); the advancer admits them within a few ticks.
    """
    queue = f"/api/v1/schedules/{schedule_id}/queue"
    passes: dict[int, str] = {}
    due: dict[int, float] = {}  # when each waiting user may ask again (the server refuses earlier)

    def note(i: int, answer: httpx.Response) -> None:
        status = expect(answer, 200, 202)
        if status["status"] == "ADMITTED":
            passes[i] = status["pass_token"]
        else:
            due[i] = time.monotonic() + int(status.get("poll_after_ms", 1000)) / 1000

    everyone = list(range(len(tokens)))
    for i, answer in zip(
        everyone, await bounded(everyone, lambda i: http.post(queue, headers=bearer(tokens[i]))), strict=True
    ):
        note(i, answer)
    deadline = time.monotonic() + ADMIT_TIMEOUT_S
    while len(passes) < len(tokens):
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(passes)} of {len(tokens)} users admitted within {ADMIT_TIMEOUT_S} s")
        now = time.monotonic()
        ready = [i for i in everyone if i not in passes and due[i] <= now]
        answers = await bounded(ready, lambda i: http.get(queue, headers=bearer(tokens[i])))
        for i, answer in zip(ready, answers, strict=True):
            note(i, answer)
        await asyncio.sleep(0.1)
    return [passes[i] for i in range(len(tokens))]


def write_passes(path: Path, tokens: Sequence[str], passes: Sequence[str]) -> Path:
    """``{"0": {"token", "pass"}, ...}``: what contention.js reads."""
    document = {str(i): {"token": t, "pass": p} for i, (t, p) in enumerate(zip(tokens, passes, strict=True))}
    path.write_text(json.dumps(document))
    return path


async def purchase(http: httpx.AsyncClient, schedule_id: int, token: str, seat_no: str) -> float:
    """One buyer's whole journey (queue, pass, hold, pay, fake provider, CONFIRMED); returns seconds taken.

    Run once before the load: it fails loudly if any worker of the pipeline is missing,
    and the confirm consumer has joined its group by the time it returns.
    """
    started = time.monotonic()
    (pass_token,) = await admit(http, schedule_id, [token])
    headers = bearer(token) | {"X-Queue-Pass": pass_token}
    hold = expect(
        await http.post(f"/api/v1/schedules/{schedule_id}/holds", json={"seat_nos": [seat_no]}, headers=headers), 201
    )
    order_headers = bearer(token) | {"Idempotency-Key": uuid.uuid4().hex}
    order = expect(await http.post("/api/v1/payments", json={"hold_id": hold["hold_id"]}, headers=order_headers), 201)
    paid = await http.post(
        f"/api/v1/dev/payments/{order['order_no']}/complete", json={"outcome": "PAID"}, headers=bearer(token)
    )
    expect(paid, 200)
    deadline = time.monotonic() + CONFIRM_TIMEOUT_S
    while time.monotonic() < deadline:
        rows = (await http.get("/api/v1/me/reservations", headers=bearer(token))).json()
        if any(r["hold_id"] == hold["hold_id"] and r["status"] == "CONFIRMED" for r in rows):
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the warm-up purchase was not CONFIRMED within {CONFIRM_TIMEOUT_S} s")
