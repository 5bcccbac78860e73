"""`ticketing dlq list` shows what the consumers gave up on; `ticketing dlq replay` sends it back."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.conftest import make_schedule
from tests.e2e.flows import Auth, eventually
from tests.e2e.test_cli import run_cli
from tests.e2e.test_confirmation import buy, drain, hold_statuses, outbox_payload
from ticketing.bootstrap import Resources
from ticketing.domain.messages import CONFIRM_REQUESTED, dead_letter_topic
from ticketing.workers.confirm_consumer import ConfirmConsumer


@pytest.fixture
def cli_env(app_res: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    s = app_res.settings
    for name, value in {
        "DATABASE_URL": s.database_url,
        "REDIS_URL": s.redis_url,
        "REDIS_KEY_PREFIX": s.redis_key_prefix,
        "KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
        "KAFKA_TOPIC_PREFIX": s.kafka_topic_prefix,
    }.items():
        monkeypatch.setenv(f"TICKETING_{name}", value)


async def test_dlq_list_shows_a_dead_lettered_message_with_its_error(app_res: Resources, cli_env: None) -> None:
    await app_res.publisher.publish(CONFIRM_REQUESTED, "7", {"event_id": "e-bad", "hold_id": 12})
    consumer = ConfirmConsumer(app_res)
    try:
        assert await drain(consumer) == 1
    finally:
        await consumer.close()
    letters = json.loads(await asyncio.to_thread(run_cli, "dlq", "list", "--json"))
    assert [(x["topic"], x["key"], x["consumer"]) for x in letters] == [
        (dead_letter_topic(CONFIRM_REQUESTED), "7", "confirm-consumer")
    ]
    assert "ConfirmRequested.order_no must be str" in letters[0]["error"]
    text = await asyncio.to_thread(run_cli, "dlq", "list", "--topic", CONFIRM_REQUESTED)
    assert text.strip().endswith("1 dead letters")


async def test_dlq_replay_sends_a_stranded_confirmation_back_and_it_is_confirmed_once(
    client: httpx.AsyncClient, auth: Auth, app_res: Resources, cli_env: None
) -> None:
    schedule = await make_schedule(app_res)
    hold_id, _ = await buy(client, auth, app_res, schedule.id, "stranded", ["A-1"])
    payload = await outbox_payload(app_res, hold_id)
    # As an earlier release did after five failed tries during a database restart:
    envelope = {
        "consumer": "confirm-consumer",
        "topic": CONFIRM_REQUESTED,
        "partition": 0,
        "offset": 0,
        "key": str(schedule.id),
        "raw": json.dumps(payload),
        "error": "OperationalError: (2013, 'Lost connection to server during query')",
    }
    await app_res.publisher.publish(dead_letter_topic(CONFIRM_REQUESTED), str(schedule.id), envelope)
    out = await asyncio.to_thread(run_cli, "dlq", "replay", "--topic", CONFIRM_REQUESTED, "--offset", "0")
    assert out.strip().endswith("1 replayed, 0 skipped")
    await asyncio.to_thread(run_cli, "dlq", "replay")  # again: harmless, the consumer is idempotent
    consumer = ConfirmConsumer(app_res)

    async def confirmed() -> bool:
        await consumer.tick(timeout_ms=200)
        return await hold_statuses(client, auth, "stranded", hold_id) == {"CONFIRMED"}

    try:
        await eventually(confirmed, timeout_s=15)
        await drain(consumer, rounds=3)
    finally:
        await consumer.close()
    metric = app_res.metrics.consumer_messages_total
    assert metric.labels("confirm-consumer", "confirmed")._value.get() == 1
    assert metric.labels("confirm-consumer", "duplicate")._value.get() == 1  # the second replay
