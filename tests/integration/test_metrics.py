"""Workers keep their gauges current and serve them on their own /metrics port."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import make_schedule
from ticketing.adapters.sql import outbox, tables
from ticketing.bootstrap import Resources
from ticketing.domain.ids import UserId
from ticketing.domain.messages import new_event_id
from ticketing.observability.metrics import Metrics
from ticketing.workers.consumer_loop import ConsumerWorker
from ticketing.workers.outbox_relay import OutboxRelay
from ticketing.workers.queue_advancer import QueueAdvancer
from ticketing.workers.runner import serve_metrics


def sample(res: Resources, name: str, labels: dict[str, str] | None = None) -> float | None:
    return res.metrics.registry.get_sample_value(name, labels or {})


async def test_advancer_tick_sets_the_waiting_room_gauges(res: Resources) -> None:
    schedule = await make_schedule(res, capacity=2, admit_per_tick=5)
    for n in range(5):
        await res.waiting_room.enter(schedule, UserId(f"user{n}"))

    await QueueAdvancer(res).tick()

    assert sample(res, "ticketing_queue_waiting_users") == 3
    assert sample(res, "ticketing_queue_live_passes") == 2
    assert sample(res, "ticketing_queue_admitted_total") == 2
    # The first rate window is still open after one tick: the gauge is exported, not yet measured.
    assert sample(res, "ticketing_queue_admission_rate_per_second") == 0


async def test_relay_tick_reports_rows_it_could_not_send_and_their_age(res: Resources) -> None:
    written_at = res.clock.now() - timedelta(seconds=30)
    event_ids = [new_event_id() for _ in range(2)]
    async with res.engine.begin() as conn:
        for event_id in event_ids:
            await outbox.append(conn, "metrics.test", "k", {"event_id": event_id}, written_at)
    # Leased by a relay that is still alive: this relay may not send them, so they stay PENDING.
    await res.outbox.claim("busy-relay", 100, 600, res.clock.now())
    try:
        await OutboxRelay(res).tick()

        pending = sample(res, "ticketing_outbox_pending_rows")
        oldest_age_s = sample(res, "ticketing_outbox_oldest_pending_age_seconds")
        assert pending is not None
        assert pending >= 2
        assert oldest_age_s is not None
        assert oldest_age_s >= 30
    finally:
        async with res.engine.begin() as conn:
            o = tables.outbox_event
            await conn.execute(o.delete().where(o.c.event_id.in_(event_ids)))


class Collect(ConsumerWorker):
    name = "metrics-test"
    topic = "metrics.lag"
    group_id = "metrics-test"

    async def handle(self, payload: dict[str, Any]) -> str:
        return "seen"


async def test_subscription_lag_counts_messages_not_yet_fetched(res: Resources) -> None:
    for n in range(3):
        await res.publisher.publish("metrics.lag", "k", {"event_id": new_event_id(), "n": n})
    subscription = res.subscription(["metrics.lag"], "lag-reader", res.settings.consumer_session_timeout_ms)
    await subscription.start()
    try:
        fetched = []
        for _ in range(20):
            fetched += await subscription.fetch(300, 1)
            if fetched:
                break
        assert len(fetched) == 1
        assert await subscription.lag() == 2
    finally:
        await subscription.close()


async def test_consumer_tick_sets_its_lag_gauge(res: Resources) -> None:
    await res.publisher.publish("metrics.lag", "k", {"event_id": new_event_id()})
    worker = Collect(res)
    try:
        handled = 0
        for _ in range(20):
            handled += await worker.tick(timeout_ms=300)
            if handled:
                break
    finally:
        await worker.close()
    assert handled == 1
    # Measured once, at the first fetch: before or after the one message was read.
    assert sample(res, "ticketing_consumer_lag_messages", {"consumer": "metrics-test"}) in (0, 1)
    assert sample(res, "ticketing_consumer_dead_lettered_total", {"consumer": "metrics-test"}) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_worker_serves_its_registry_on_the_metrics_port() -> None:
    metrics = Metrics()
    metrics.outbox_pending_rows.set(7)
    server = serve_metrics(metrics, "127.0.0.1", free_port())
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{server.server_port}/metrics")
    finally:
        await asyncio.to_thread(server.shutdown)
        server.server_close()
    assert response.status_code == 200
    assert "ticketing_outbox_pending_rows 7.0" in response.text
