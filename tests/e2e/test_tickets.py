"""Tickets: a confirmed seat's signed ticket, its QR code, and the door's checks (online
and offline, with the public key only)."""

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, admit, buy, eventually, hold, my_reservations
from ticketing.bootstrap import Resources, build_ticket_verifier
from ticketing.domain.errors import TicketInvalid


async def confirmed_seat(client: httpx.AsyncClient, auth: Auth, res: Resources, user: str) -> dict[str, object]:
    schedule = await make_schedule(res, capacity=5)
    hold_id, _ = await buy(client, auth, res, schedule.id, user, ["B-2"])

    async def confirmed() -> dict[str, object] | None:
        rows = [r for r in await my_reservations(client, auth, user) if r["hold_id"] == hold_id]
        return rows[0] if rows and rows[0]["status"] == "CONFIRMED" else None

    found: dict[str, object] = await eventually(confirmed, timeout_s=15)
    return found


async def test_a_confirmed_seat_has_a_ticket_the_door_admits_and_a_key_alone_verifies(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, workers: dict[str, object], tmp_path: Path
) -> None:
    seat = await confirmed_seat(client, auth, app_res, "holder")
    r = await client.get(f"/api/v1/me/tickets/{seat['reservation_id']}", headers=auth("holder"))
    assert r.status_code == 200, r.text
    ticket = r.json()["ticket"]
    assert (r.json()["seat_no"], r.json()["schedule_id"]) == ("B-2", seat["schedule_id"])

    door = await client.post("/api/v1/tickets/verify", json={"ticket": ticket}, headers=auth("staff", admin=True))
    assert door.status_code == 200, door.text
    assert (door.json()["admit"], door.json()["status"], door.json()["user_id"]) == (True, "CONFIRMED", "holder")

    public_key = (await client.get("/api/v1/tickets/public-key")).text
    assert "BEGIN PUBLIC KEY" in public_key
    offline = build_ticket_verifier(app_res.settings, public_key).read(ticket)
    assert (offline.reservation_id, offline.seat_no) == (seat["reservation_id"], "B-2")
    key_file = tmp_path / "door.pem"
    key_file.write_text(public_key)
    cli = [sys.executable, "-m", "ticketing.cli", "verify-ticket", "--public-key", str(key_file)]
    good = await asyncio.to_thread(subprocess.run, [*cli, ticket], capture_output=True, text=True, timeout=30)
    assert good.returncode == 0, good.stderr
    assert "VALID ticket" in good.stdout
    assert "seat B-2" in good.stdout
    forged = ticket[:-4] + ("AAAA" if not ticket.endswith("AAAA") else "BBBB")
    bad = await asyncio.to_thread(subprocess.run, [*cli, forged], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1
    assert "INVALID" in bad.stderr

    qr = await client.get(f"/api/v1/me/tickets/{seat['reservation_id']}/qr.svg", headers=auth("holder"))
    assert (qr.status_code, qr.headers["content-type"]) == (200, "image/svg+xml")
    assert qr.text.lstrip().startswith("<svg")


async def test_only_my_confirmed_reservations_have_tickets(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    passes = await admit(client, auth, app_res, schedule.id, ["mine"])
    assert (await hold(client, auth, schedule.id, "mine", passes["mine"], ["A-3"])).status_code == 201
    held = (await my_reservations(client, auth, "mine"))[0]
    not_yet = await client.get(f"/api/v1/me/tickets/{held['reservation_id']}", headers=auth("mine"))
    assert (not_yet.status_code, not_yet.json()["code"]) == (409, "TICKET_NOT_ISSUED")
    theirs = await client.get(f"/api/v1/me/tickets/{held['reservation_id']}", headers=auth("someone-else"))
    assert (theirs.status_code, theirs.json()["code"]) == (404, "RESERVATION_NOT_FOUND")


async def test_the_door_refuses_what_is_not_a_ticket_of_ours(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    staff = auth("staff", admin=True)
    bearer = auth("fan")["Authorization"].removeprefix("Bearer ")
    for text in ["not-a-ticket", bearer, "a.b.c"]:
        r = await client.post("/api/v1/tickets/verify", json={"ticket": text}, headers=staff)
        assert (r.status_code, r.json()["code"]) == (422, "TICKET_INVALID"), text
    fan = await client.post("/api/v1/tickets/verify", json={"ticket": "x"}, headers=auth("fan"))
    assert fan.status_code == 403
    with pytest.raises(TicketInvalid):
        build_ticket_verifier(app_res.settings).read(bearer)
