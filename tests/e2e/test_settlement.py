"""Every captured payment ends in a ticket or a refund, whatever order the news arrives in,
and Redis is brought back in line with what the database decided."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.conftest import delete_keys, make_schedule
from tests.e2e.flows import Auth, admit, eventually, hold, order, seat_states, webhook
from tests.e2e.test_confirmation import buy, confirmed_rows, hold_statuses, outbox_payload
from ticketing.bootstrap import Resources, open_resources
from ticketing.devtools.broker import free_port
from ticketing.domain.messages import ConfirmRequested
from ticketing.domain.reservations import ConfirmOutcome
from ticketing.services.confirmation import confirm_seats


async def declined_order(client: httpx.AsyncClient, auth: Auth, res: Resources, schedule_id: int) -> tuple[str, str]:
    """A-1 held and ordered by "declined", whose charge the provider reported FAILED."""
    passes = await admit(client, auth, res, schedule_id, ["declined"])
    hold_id = (await hold(client, auth, schedule_id, "declined", passes["declined"], ["A-1"])).json()["hold_id"]
    order_no = (await order(client, auth, "declined", hold_id)).json()["order_no"]
    assert (await webhook(client, res, order_no, "FAILED")).json()["status"] == "FAILED"
    return hold_id, order_no


async def test_paid_after_failed_is_confirmed_when_the_seats_are_still_free(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, workers: dict[str, object]
) -> None:
    schedule = await make_schedule(app_res)
    hold_id, order_no = await declined_order(client, auth, app_res, schedule.id)
    assert (await webhook(client, app_res, order_no, "PAID", pg_tx_id=f"pg-late-{order_no}")).json()["status"] == "PAID"

    async def confirmed() -> bool:
        return await hold_statuses(client, auth, "declined", hold_id) == {"CONFIRMED"}

    await eventually(confirmed, timeout_s=15)
    assert (await seat_states(client, schedule.id))["A-1"] == "SOLD"
    assert (await client.get(f"/api/v1/payments/{order_no}", headers=auth("declined"))).json()["status"] == "PAID"


async def test_paid_after_failed_is_refunded_when_someone_else_bought_the_seat(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, workers: dict[str, object]
) -> None:
    schedule = await make_schedule(app_res)
    hold_id, order_no = await declined_order(client, auth, app_res, schedule.id)
    other_hold, _ = await buy(client, auth, app_res, schedule.id, "other", ["A-1"])

    async def other_confirmed() -> bool:
        return await hold_statuses(client, auth, "other", other_hold) == {"CONFIRMED"}

    await eventually(other_confirmed, timeout_s=15)
    assert (await webhook(client, app_res, order_no, "PAID", pg_tx_id=f"pg-late-{order_no}")).json()["status"] == "PAID"

    async def refunded() -> bool:
        return await hold_statuses(client, auth, "declined", hold_id) == {"REFUNDED"}

    await eventually(refunded, timeout_s=15)
    assert (await client.get(f"/api/v1/payments/{order_no}", headers=auth("declined"))).json()["status"] == "REFUNDED"
    assert await confirmed_rows(app_res, schedule.id) == ["A-1"]


async def test_redelivered_refund_decision_reapplies_the_release_redis_missed(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    first_hold, _ = await buy(client, auth, app_res, schedule.id, "first", ["A-1"])
    first = ConfirmRequested.from_dict(await outbox_payload(app_res, first_hold))
    await confirm_seats(app_res.tx, app_res.seat_locks, app_res.outbox_signal, app_res.clock, first, app_res.settlement)
    assert await hold_statuses(client, auth, "first", first_hold) == {"CONFIRMED"}
    await delete_keys(app_res.settings.redis_url, app_res.settings.redis_key_prefix)  # Redis forgets the sale
    await app_res.waiting_room.register(schedule)
    # ... and is wrongly taken as intact (no rebuild), the worst case the guard exists for:
    # the second buyer can hold and pay for the sold seat.
    await app_res.seat_locks.mark_intact(schedule.id, len(await app_res.catalog.list_seats(schedule.id)))
    passes = await admit(client, auth, app_res, schedule.id, ["second"])
    second_hold = (await hold(client, auth, schedule.id, "second", passes["second"], ["A-1", "A-2"])).json()["hold_id"]
    message = ConfirmRequested.from_dict(await _paid_message(client, auth, app_res, second_hold))
    # The decision commits, then Redis is unreachable: the release never happens.
    unreachable = app_res.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with open_resources(unreachable) as cut_off:
        with pytest.raises(RedisConnectionError):
            await confirm_seats(
                app_res.tx, cut_off.seat_locks, app_res.outbox_signal, app_res.clock, message, app_res.settlement
            )
    assert (await seat_states(client, schedule.id))["A-2"] == "HELD"
    # The redelivery is a duplicate for the database, but Redis must still be told.
    again = await confirm_seats(
        app_res.tx, app_res.seat_locks, app_res.outbox_signal, app_res.clock, message, app_res.settlement
    )
    assert again.outcome is ConfirmOutcome.DUPLICATE
    states = await seat_states(client, schedule.id)
    assert (states["A-1"], states["A-2"]) == ("SOLD", "AVAILABLE")


async def _paid_message(client: httpx.AsyncClient, auth: Auth, res: Resources, hold_id: str) -> dict[str, object]:
    order_no = (await order(client, auth, "second", hold_id)).json()["order_no"]
    body = await webhook(client, res, order_no, "PAID")
    assert body.status_code == 200
    return await outbox_payload(res, hold_id)


async def test_a_hold_being_paid_keeps_its_seats_past_the_hold_ttl_until_the_payment_settles(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, workers: dict[str, object]
) -> None:
    schedule = await make_schedule(app_res, hold_ttl_s=1)
    passes = await admit(client, auth, app_res, schedule.id, ["payer", "snatcher"])
    hold_id = (await hold(client, auth, schedule.id, "payer", passes["payer"], ["A-1"])).json()["hold_id"]
    order_no = (await order(client, auth, "payer", hold_id)).json()["order_no"]
    await asyncio.sleep(1.5)  # past the hold TTL while the buyer is on the provider's page
    r = await hold(client, auth, schedule.id, "snatcher", passes["snatcher"], ["A-1"])
    assert (r.status_code, r.json()["code"]) == (409, "SEAT_TAKEN")
    assert await hold_statuses(client, auth, "payer", hold_id) == {"HELD"}, "the expirer left it alone"
    assert (await webhook(client, app_res, order_no, "PAID")).json()["status"] == "PAID"

    async def confirmed() -> bool:
        return await hold_statuses(client, auth, "payer", hold_id) == {"CONFIRMED"}

    await eventually(confirmed, timeout_s=15)
    assert await confirmed_rows(app_res, schedule.id) == ["A-1"]


async def test_the_per_user_limit_holds_at_payment_even_when_redis_forgot_the_count(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, max_seats_per_user=2)
    passes = await admit(client, auth, app_res, schedule.id, ["greedy"])
    first = (await hold(client, auth, schedule.id, "greedy", passes["greedy"], ["A-1", "A-2"])).json()["hold_id"]
    assert (await order(client, auth, "greedy", first)).status_code == 201
    # Redis loses this user's count (and only that): the hold script lets two more seats through.
    await app_res.redis.delete(app_res.keys.user_holds(schedule.id, "greedy"))
    r = await hold(client, auth, schedule.id, "greedy", passes["greedy"], ["A-3", "A-4"])
    assert r.status_code == 201
    r = await order(client, auth, "greedy", r.json()["hold_id"])
    assert (r.status_code, r.json()["code"]) == (422, "TOO_MANY_SEATS")
    assert r.json()["already_held"] == 2
