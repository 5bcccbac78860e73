"""A pass counts only if its signature, user and schedule match and it is still in the live set."""

import asyncio
from collections.abc import Callable

import httpx

from tests.conftest import make_schedule
from ticketing.bootstrap import Resources
from ticketing.workers.queue_advancer import QueueAdvancer

Auth = Callable[..., dict[str, str]]


async def admitted_pass(client: httpx.AsyncClient, auth: Auth, res: Resources, schedule_id: int, user: str) -> str:
    await client.post(f"/api/v1/schedules/{schedule_id}/queue", headers=auth(user))
    await QueueAdvancer(res).tick()
    body = (await client.get(f"/api/v1/schedules/{schedule_id}/queue", headers=auth(user))).json()
    assert body["status"] == "ADMITTED", body
    token: str = body["pass_token"]
    return token


async def check(
    client: httpx.AsyncClient, auth: Auth, schedule_id: int, user: str, token: str | None
) -> httpx.Response:
    headers = auth(user) | ({"X-Queue-Pass": token} if token is not None else {})
    return await client.get(f"/api/v1/schedules/{schedule_id}/queue/pass", headers=headers)


async def test_own_live_pass_is_accepted(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    token = await admitted_pass(client, auth, app_res, schedule.id, "alice")
    r = await check(client, auth, schedule.id, "alice", token)
    assert r.status_code == 200
    assert r.json()["user_id"] == "alice"


async def test_pass_used_by_another_user_is_refused(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    token = await admitted_pass(client, auth, app_res, schedule.id, "alice")
    r = await check(client, auth, schedule.id, "mallory", token)
    assert (r.status_code, r.json()["code"]) == (403, "PASS_INVALID")


async def test_pass_for_another_schedule_is_refused(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    other = await make_schedule(app_res)
    token = await admitted_pass(client, auth, app_res, schedule.id, "alice")
    r = await check(client, auth, other.id, "alice", token)
    assert (r.status_code, r.json()["code"]) == (403, "PASS_INVALID")


async def test_expired_pass_is_refused(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res, pass_ttl_s=1)
    token = await admitted_pass(client, auth, app_res, schedule.id, "alice")
    await asyncio.sleep(1.1)
    r = await check(client, auth, schedule.id, "alice", token)
    assert (r.status_code, r.json()["code"]) == (403, "PASS_EXPIRED")


async def test_given_back_pass_is_refused_even_with_a_valid_signature(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    token = await admitted_pass(client, auth, app_res, schedule.id, "alice")
    await client.delete(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("alice"))
    r = await check(client, auth, schedule.id, "alice", token)
    assert (r.status_code, r.json()["code"]) == (403, "PASS_EXPIRED")


async def test_forged_or_missing_pass_is_refused(client: httpx.AsyncClient, auth: Auth, app_res: Resources) -> None:
    schedule = await make_schedule(app_res)
    token = await admitted_pass(client, auth, app_res, schedule.id, "alice")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert (await check(client, auth, schedule.id, "alice", forged)).json()["code"] == "PASS_INVALID"
    assert (await check(client, auth, schedule.id, "alice", None)).json()["code"] == "PASS_REQUIRED"
