"""Request bodies are limited while they stream: a chunked body (no Content-Length) that
grows past the route's limit gets 413 problem+json before the server has read it all."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, hold, order
from ticketing.bootstrap import Resources

MB = 1024 * 1024
CHUNK = 64 * 1024


class Flood:
    """A 20 MB chunked body that counts how much of it the server pulled."""

    def __init__(self, total: int = 20 * MB) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.sent < self.total:
            self.sent += CHUNK
            yield b"x" * CHUNK


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/api/v1/payments/ord_x/webhook", 16 * 1024),
        ("/api/v1/payments", 64 * 1024),
        ("/api/v1/schedules/1/holds", 64 * 1024),  # a hot route reads its body itself
        ("/api/v1/admin/events", 4 * MB),
    ],
)
async def test_a_chunked_flood_is_cut_off_at_the_routes_limit(
    client: httpx.AsyncClient, auth: Auth, path: str, limit: int
) -> None:
    flood = Flood()
    r = await client.post(path, content=flood, headers=auth("root", admin=True) | {"content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert flood.sent <= limit + CHUNK, f"read {flood.sent} bytes of a {limit}-byte limit"


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["u"])
    hold_id = (await hold(client, auth, schedule.id, "u", passes["u"], ["A-1"])).json()["hold_id"]
    order_no = (await order(client, auth, "u", hold_id)).json()["order_no"]
    big = b"{" + b" " * (17 * 1024) + b"}"
    r = await client.post(f"/api/v1/payments/{order_no}/webhook", content=big, headers={"X-Signature": "0" * 64})
    assert (r.status_code, r.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")
    assert (await client.get(f"/api/v1/payments/{order_no}", headers=auth("u"))).json()["status"] == "READY"
