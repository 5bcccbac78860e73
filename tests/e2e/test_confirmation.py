"""Payment to confirmation through the outbox, the broker and the confirm consumer.

Exactly once under redelivery, relay and consumer crashes, and Redis losing its data;
refunds when the guard says the seat is someone else's.
"""

import asyncio
import dataclasses
from typing import Any

import httpx
import sqlalchemy as sa

from tests.conftest import delete_keys, make_schedule
from tests.e2e.flows import Auth, admit, buy, eventually, hold, my_reservations, order, seat_states, webhook
from ticketing.adapters.sql import tables
from ticketing.bootstrap import Resources
from ticketing.domain.messages import CONFIRM_REQUESTED
from ticketing.workers.confirm_consumer import ConfirmConsumer
from ticketing.workers.hold_expirer import HoldExpirer
from ticketing.workers.outbox_relay import OutboxRelay
from ticketing.workers.refunder import Refunder


async def hold_statuses(client: httpx.AsyncClient, auth: Auth, user: str, hold_id: str) -> set[str]:
    return {r["status"] for r in await my_reservations(client, auth, user) if r["hold_id"] == hold_id}


async def guard_rows(res: Resources, schedule_id: int) -> list[tuple[str, int]]:
    g = tables.confirmed_seat_guard
    async with res.engine.connect() as conn:
        rows = await conn.execute(sa.select(g.c.seat_no, g.c.reservation_id).where(g.c.schedule_id == schedule_id))
        return sorted((r.seat_no, r.reservation_id) for r in rows)


async def confirmed_rows(res: Resources, schedule_id: int) -> list[str]:
    r = tables.reservation
    async with res.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(r.c.seat_no).where(r.c.schedule_id == schedule_id, r.c.status == "CONFIRMED")
        )
        return sorted(row.seat_no for row in rows)


async def outbox_payload(res: Resources, hold_id: str) -> dict[str, Any]:
    import json

    o = tables.outbox_event
    async with res.engine.connect() as conn:
        rows = (await conn.execute(sa.select(o.c.payload).where(o.c.topic == CONFIRM_REQUESTED))).all()
    payloads = [json.loads(row.payload) for row in rows]
    return next(p for p in payloads if p["hold_id"] == hold_id)


async def drain(consumer: ConfirmConsumer | Refunder, rounds: int = 6) -> int:
    handled = 0
    for _ in range(rounds):
        handled += await consumer.tick(timeout_ms=300)
    return handled


async def test_paid_hold_is_confirmed_sold_and_the_pass_given_back(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, workers: dict[str, object]
) -> None:
    schedule = await make_schedule(app_res, capacity=5)
    hold_id, order_no = await buy(client, auth, app_res, schedule.id, "buyer", ["A-1", "A-2"])

    async def confirmed() -> bool:
        return await hold_statuses(client, auth, "buyer", hold_id) == {"CONFIRMED"}

    await eventually(confirmed, timeout_s=15)
    states = await seat_states(client, schedule.id)
    assert (states["A-1"], states["A-2"], states["A-3"]) == ("SOLD", "SOLD", "AVAILABLE")
    assert [s for s, _ in await guard_rows(app_res, schedule.id)] == ["A-1", "A-2"]
    status = (await client.get(f"/api/v1/schedules/{schedule.id}/queue", headers=auth("buyer"))).json()
    assert status["status"] == "NOT_IN_QUEUE"  # the pass went back to the line
    assert (await client.get(f"/api/v1/payments/{order_no}", headers=auth("buyer"))).json()["status"] == "PAID"


async def test_same_confirm_message_delivered_twice_confirms_once(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    hold_id, _ = await buy(client, auth, app_res, schedule.id, "twice", ["A-1"])
    payload = await outbox_payload(app_res, hold_id)
    await app_res.publisher.publish(CONFIRM_REQUESTED, str(schedule.id), payload)
    await app_res.publisher.publish(CONFIRM_REQUESTED, str(schedule.id), payload)
    consumer = ConfirmConsumer(app_res)
    try:
        assert await drain(consumer) == 2
    finally:
        await consumer.close()
    metric = app_res.metrics.consumer_messages_total
    assert metric.labels("confirm-consumer", "confirmed")._value.get() == 1
    assert metric.labels("confirm-consumer", "duplicate")._value.get() == 1
    assert await confirmed_rows(app_res, schedule.id) == ["A-1"]
    assert len(await guard_rows(app_res, schedule.id)) == 1


async def test_relay_dying_after_publish_before_marking_sent_republishes_and_still_confirms_once(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    app_res.settings = app_res.settings.model_copy(update={"relay_lease_s": 0.3})
    schedule = await make_schedule(app_res)
    hold_id, _ = await buy(client, auth, app_res, schedule.id, "crashy", ["A-1"])
    # The first relay claims and publishes, then "dies" before marking the row SENT.
    claimed = await app_res.outbox.claim("dead-relay", 100, 0.3, app_res.clock.now())
    mine = [m for m in claimed if m.payload.get("hold_id") == hold_id]
    assert len(mine) == 1
    await app_res.publisher.publish(mine[0].topic, mine[0].key, mine[0].payload)
    assert await OutboxRelay(app_res).tick() == 0  # leased: a live relay must not take it yet
    await asyncio.sleep(0.35)
    assert await OutboxRelay(app_res).tick() >= 1  # the lease ran out: published again
    consumer = ConfirmConsumer(app_res)
    try:
        await drain(consumer)
    finally:
        await consumer.close()
    metric = app_res.metrics.consumer_messages_total
    assert metric.labels("confirm-consumer", "confirmed")._value.get() == 1
    assert metric.labels("confirm-consumer", "duplicate")._value.get() == 1
    assert await confirmed_rows(app_res, schedule.id) == ["A-1"]


async def test_consumer_dying_before_committing_its_offset_gets_a_redelivery_that_confirms_once(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res)
    await buy(client, auth, app_res, schedule.id, "redeliver", ["A-1"])
    assert await OutboxRelay(app_res).tick() >= 1
    first = ConfirmConsumer(app_res)
    await first.start()
    assert first._subscription is not None
    records = []
    for _ in range(10):
        records += await first._subscription.fetch(300, 100)
        if records:
            break
    assert len(records) == 1
    await first.process(records[0])  # database committed ...
    await first.close()  # ... and the process dies before committing the offset
    assert await confirmed_rows(app_res, schedule.id) == ["A-1"]
    await app_res.redis.hdel(app_res.keys.seat_state(schedule.id), "A-1")  # the Redis step was lost too

    second = ConfirmConsumer(app_res)
    try:
        assert await drain(second) == 1  # the same message again
    finally:
        await second.close()
    metric = app_res.metrics.consumer_messages_total
    assert metric.labels("confirm-consumer", "duplicate")._value.get() == 1
    assert await confirmed_rows(app_res, schedule.id) == ["A-1"]
    assert len(await guard_rows(app_res, schedule.id)) == 1
    assert (await seat_states(client, schedule.id))["A-1"] == "SOLD"  # healed on redelivery


async def test_redis_losing_its_data_mid_sale_refuses_holds_until_rebuilt_then_knows_every_sold_seat(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, workers: dict[str, object]
) -> None:
    schedule = await make_schedule(app_res, max_seats_per_user=2)
    first_hold, _ = await buy(client, auth, app_res, schedule.id, "first", ["A-1"])

    async def first_confirmed() -> bool:
        return await hold_statuses(client, auth, "first", first_hold) == {"CONFIRMED"}

    await eventually(first_confirmed, timeout_s=15)
    passes = await admit(client, auth, app_res, schedule.id, ["holder"])
    live = await hold(client, auth, schedule.id, "holder", passes["holder"], ["B-1"])
    assert live.status_code == 201
    await delete_keys(app_res.settings.redis_url, app_res.settings.redis_key_prefix)  # Redis forgets everything
    await app_res.waiting_room.register(schedule)

    passes = await admit(client, auth, app_res, schedule.id, ["second", "first"])
    r = await hold(client, auth, schedule.id, "second", passes["second"], ["A-1"])
    if r.status_code == 503:  # the reconciler has not rebuilt the seat state yet
        assert (r.json()["code"], r.headers["retry-after"]) == ("SEAT_MAP_REBUILDING", "1")

        async def rebuilt() -> bool:
            answer = await hold(client, auth, schedule.id, "second", passes["second"], ["A-1"])
            return answer.status_code != 503

        await eventually(rebuilt, timeout_s=15, interval_s=0.2)
    r = await hold(client, auth, schedule.id, "second", passes["second"], ["A-1"])
    assert (r.status_code, r.json()["code"]) == (409, "SEAT_TAKEN"), "the sold seat is known again"
    r = await hold(client, auth, schedule.id, "second", passes["second"], ["B-1"])
    assert (r.status_code, r.json()["code"]) == (409, "SEAT_TAKEN"), "the live hold's lock is back"
    r = await hold(client, auth, schedule.id, "first", passes["first"], ["A-2", "A-3"])
    assert (r.status_code, r.json()["code"]) == (422, "TOO_MANY_SEATS"), "the user's count is back"
    r = await hold(client, auth, schedule.id, "second", passes["second"], ["A-2"])
    assert r.status_code == 201
    states = await seat_states(client, schedule.id)
    assert (states["A-1"], states["B-1"], states["A-2"], states["A-3"]) == ("SOLD", "HELD", "HELD", "AVAILABLE")
    assert [s for s, _ in await guard_rows(app_res, schedule.id)] == ["A-1"]


def short_window(res: Resources) -> None:
    """An order keeps its hold's seats for the payment window; these tests need that window
    to run out (the buyer left the provider's page open) so the hold expires unpaid."""
    res.settlement = dataclasses.replace(res.settlement, payment_window_s=1)


async def test_payment_landing_after_hold_expiry_still_confirms_when_the_guard_admits_it(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    short_window(app_res)
    schedule = await make_schedule(app_res, hold_ttl_s=1)
    passes = await admit(client, auth, app_res, schedule.id, ["late"])
    hold_id = (await hold(client, auth, schedule.id, "late", passes["late"], ["A-1"])).json()["hold_id"]
    order_no = (await order(client, auth, "late", hold_id)).json()["order_no"]
    await asyncio.sleep(1.1)
    assert await HoldExpirer(app_res).tick() == 1
    assert await hold_statuses(client, auth, "late", hold_id) == {"EXPIRED"}
    assert (await seat_states(client, schedule.id))["A-1"] == "AVAILABLE"
    assert (await webhook(client, app_res, order_no, "PAID")).json()["status"] == "PAID"
    await OutboxRelay(app_res).tick()
    consumer = ConfirmConsumer(app_res)
    try:
        await drain(consumer)
    finally:
        await consumer.close()
    assert await hold_statuses(client, auth, "late", hold_id) == {"CONFIRMED"}
    assert (await seat_states(client, schedule.id))["A-1"] == "SOLD"


async def test_payment_landing_after_the_seat_was_resold_is_refunded(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, workers: dict[str, object]
) -> None:
    short_window(app_res)
    schedule = await make_schedule(app_res, hold_ttl_s=1)
    passes = await admit(client, auth, app_res, schedule.id, ["slow"])
    slow_hold = (await hold(client, auth, schedule.id, "slow", passes["slow"], ["A-1"])).json()["hold_id"]
    slow_order = (await order(client, auth, "slow", slow_hold)).json()["order_no"]

    async def expired() -> bool:
        return await hold_statuses(client, auth, "slow", slow_hold) == {"EXPIRED"}

    await eventually(expired, timeout_s=10)
    fast_hold, _ = await buy(client, auth, app_res, schedule.id, "fast", ["A-1"])

    async def fast_confirmed() -> bool:
        return await hold_statuses(client, auth, "fast", fast_hold) == {"CONFIRMED"}

    await eventually(fast_confirmed, timeout_s=15)
    assert (await webhook(client, app_res, slow_order, "PAID")).json()["status"] == "PAID"

    async def slow_refunded() -> bool:
        return await hold_statuses(client, auth, "slow", slow_hold) == {"REFUNDED"}

    await eventually(slow_refunded, timeout_s=15)
    assert await confirmed_rows(app_res, schedule.id) == ["A-1"]
    # The organiser's dashboard counts it: one guard conflict, refunded; one seat sold.
    board = await client.get(f"/api/v1/admin/schedules/{schedule.id}/dashboard", headers=auth("boss", admin=True))
    d = board.json()
    assert (d["guard_conflicts"], d["refunds_done"], d["refunds"], d["confirmed_seats"]) == (1, 1, 1, 1)


async def test_a_late_payment_yields_the_seat_to_the_buyer_who_holds_it_in_time(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    # "slow" pays after the payment window; meanwhile "fast" took the free seat and is
    # within its hold. The seat belongs to the one paying in time: slow is refunded even
    # though its money arrived first, and fast's payment confirms.
    short_window(app_res)
    schedule = await make_schedule(app_res, hold_ttl_s=1)
    passes = await admit(client, auth, app_res, schedule.id, ["slow", "fast"])
    slow_hold = (await hold(client, auth, schedule.id, "slow", passes["slow"], ["A-1"])).json()["hold_id"]
    slow_order = (await order(client, auth, "slow", slow_hold)).json()["order_no"]
    await asyncio.sleep(1.1)
    assert await HoldExpirer(app_res).tick() == 1
    app_res.settlement = dataclasses.replace(app_res.settlement, payment_window_s=60)
    fast = await hold(client, auth, schedule.id, "fast", passes["fast"], ["A-1"])
    assert fast.status_code == 201, fast.text
    fast_hold = fast.json()["hold_id"]
    fast_order = (await order(client, auth, "fast", fast_hold)).json()["order_no"]
    assert (await webhook(client, app_res, slow_order, "PAID")).json()["status"] == "PAID"
    consumer = ConfirmConsumer(app_res)
    try:
        await OutboxRelay(app_res).tick()
        await drain(consumer)
        assert await hold_statuses(client, auth, "slow", slow_hold) == {"REFUND_PENDING"}
        assert await hold_statuses(client, auth, "fast", fast_hold) == {"HELD"}
        assert (await seat_states(client, schedule.id))["A-1"] == "HELD"
        assert (await webhook(client, app_res, fast_order, "PAID")).json()["status"] == "PAID"
        await OutboxRelay(app_res).tick()
        await drain(consumer)
    finally:
        await consumer.close()
    assert await hold_statuses(client, auth, "fast", fast_hold) == {"CONFIRMED"}
    assert await confirmed_rows(app_res, schedule.id) == ["A-1"]
    assert (await seat_states(client, schedule.id))["A-1"] == "SOLD"


async def test_only_a_message_of_the_wrong_shape_goes_to_the_dead_letter_topic(app_res: Resources) -> None:
    calls = 0

    class Flaky(ConfirmConsumer):
        async def handle(self, payload: dict[str, Any]) -> str:
            nonlocal calls
            calls += 1
            if calls <= 3:
                raise RuntimeError("database unavailable")  # passing: retried, never dead-lettered
            return await super().handle(payload)

    await app_res.publisher.publish(CONFIRM_REQUESTED, "1", {"event_id": "e-1", "hold_id": "h_x"})
    await app_res.publisher.publish(
        CONFIRM_REQUESTED,
        "1",
        {"event_id": "e-2", "order_no": "ord_x", "hold_id": "h_x", "schedule_id": 1, "user_id": "u"},
    )
    consumer = Flaky(app_res, retry_base_s=0.01)
    try:
        assert await drain(consumer, rounds=10) == 2
    finally:
        await consumer.close()
    assert calls == 3 + 1 + 1
    assert app_res.metrics.consumer_dead_lettered_total.labels("confirm-consumer")._value.get() == 1
    assert app_res.metrics.consumer_retries_total.labels("confirm-consumer")._value.get() == 3

    from ticketing.domain.messages import dead_letter_topic

    dlq = app_res.subscription([dead_letter_topic(CONFIRM_REQUESTED)], "dlq-reader", 2000)
    await dlq.start()
    try:
        letters = []
        for _ in range(10):
            letters += await dlq.fetch(300, 10)
            if letters:
                break
    finally:
        await dlq.close()
    errors = [letter.payload["error"] for letter in letters if letter.payload]
    assert len(errors) == 1
    assert errors[0].startswith("PermanentError: ConfirmRequested.order_no must be str")


async def test_undecodable_message_is_dead_lettered_without_retries(app_res: Resources) -> None:
    producer_topic = app_res.settings.kafka_topic_prefix + CONFIRM_REQUESTED
    from aiokafka import AIOKafkaProducer

    raw = AIOKafkaProducer(bootstrap_servers=app_res.settings.kafka_bootstrap_servers)
    await raw.start()
    try:
        await raw.send_and_wait(producer_topic, b"\xff not json")
    finally:
        await raw.stop()
    consumer = ConfirmConsumer(app_res)
    try:
        assert await drain(consumer) == 1
    finally:
        await consumer.close()
    assert app_res.metrics.consumer_dead_lettered_total.labels("confirm-consumer")._value.get() == 1


async def test_several_relays_at_once_publish_every_row_exactly_once(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    from ticketing.adapters.sql import outbox
    from ticketing.domain.messages import new_event_id

    now = app_res.clock.now()
    async with app_res.engine.begin() as conn:
        for i in range(60):
            await outbox.append(conn, "relay.test", "k", {"event_id": new_event_id(), "n": i}, now)
    app_res.settings = app_res.settings.model_copy(update={"relay_batch": 7})
    relays = [OutboxRelay(app_res) for _ in range(3)]
    sent = 0
    for _ in range(20):
        sent += sum(await asyncio.gather(*(r.tick() for r in relays)))
    assert sent >= 60
    reader = app_res.subscription(["relay.test"], "relay-reader", 2000)
    await reader.start()
    try:
        got: list[int] = []
        for _ in range(20):
            got += [d.payload["n"] for d in await reader.fetch(300, 500) if d.payload]
            if len(got) >= 60:
                break
    finally:
        await reader.close()
    assert sorted(got) == list(range(60))


async def test_relay_is_woken_by_the_commit_signal_not_the_poll(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    app_res.settings = app_res.settings.model_copy(update={"relay_poll_s": 30.0})
    relay = OutboxRelay(app_res)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(0.3)  # the relay is idle, waiting on the signal
        schedule = await make_schedule(app_res)
        hold_id, _ = await buy(client, auth, app_res, schedule.id, "woken", ["A-1"])
        o = tables.outbox_event

        async def sent() -> bool:
            async with app_res.engine.connect() as conn:
                rows = (await conn.execute(sa.select(o.c.payload, o.c.status))).all()
            return any(hold_id in r.payload and r.status == "SENT" for r in rows)

        await eventually(sent, timeout_s=5)  # far sooner than the 30 s poll
    finally:
        stop.set()
        await task


async def test_two_expirers_at_once_expire_each_hold_once(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources
) -> None:
    schedule = await make_schedule(app_res, hold_ttl_s=1, capacity=20, admit_per_tick=20, max_seats_per_user=1)
    users = [f"exp{i}" for i in range(10)]
    passes = await admit(client, auth, app_res, schedule.id, users)
    for i, u in enumerate(users):
        assert (await hold(client, auth, schedule.id, u, passes[u], [f"{'AB'[i // 5]}-{i % 5 + 1}"])).status_code == 201
    await asyncio.sleep(1.1)
    app_res.settings = app_res.settings.model_copy(update={"expirer_batch": 3})
    a, b = HoldExpirer(app_res), HoldExpirer(app_res)
    total = 0
    for _ in range(5):
        total += sum(await asyncio.gather(a.tick(), b.tick()))
    assert total == 10
    assert set((await seat_states(client, schedule.id)).values()) == {"AVAILABLE"}
