"""The seat map answers a reload with 304 while nothing changed (ETag / If-None-Match)."""

from __future__ import annotations

import httpx

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, hold
from ticketing.bootstrap import Resources


async def test_the_seat_map_is_304_until_a_seat_changes(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    url = f"/api/v1/schedules/{schedule.id}/seats"
    first = await client.get(url)
    etag = first.headers["etag"]
    assert first.status_code == 200
    again = await client.get(url, headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    passes = await admit(client, auth, app_res, schedule.id, ["u"])
    assert (await hold(client, auth, schedule.id, "u", passes["u"], ["A-1"])).status_code == 201
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert {s["seat_no"]: s["status"] for s in changed.json()["seats"]}["A-1"] == "HELD"
    assert (await client.get(url, headers={"If-None-Match": 'W/"nope", ' + changed.headers["etag"]})).status_code == 304
