"""The consumer loop never skips a record and never dead-letters a transient failure.

Real broker: a commit that fails mid-batch must not lose the rest of the batch (the
fetch position is already past it), and a handler that fails for longer than any fixed
number of tries must keep being retried until it succeeds.
"""

from __future__ import annotations

from typing import Any

from aiokafka.errors import CommitFailedError

from ticketing.adapters.kafka.consumer import KafkaSubscription
from ticketing.bootstrap import Resources, open_resources
from ticketing.devtools.broker import start_broker
from ticketing.domain.messages import Delivery
from ticketing.settings import Settings
from ticketing.workers.consumer_loop import ConsumerWorker

TOPIC = "test.consumer-faults"


class Recording(ConsumerWorker):
    """Handles a test topic: records every payload; fails as the test scripts it."""

    name = "recording"
    topic = TOPIC
    group_id = "recording"

    def __init__(self, resources: Resources, fail_times: int = 0) -> None:
        super().__init__(resources, retry_base_s=0.01)
        self.handled: list[int] = []
        self.fail_times = fail_times

    async def handle(self, payload: dict[str, Any]) -> str:
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ConnectionError("database restarting")
        self.handled.append(int(payload["n"]))
        return "ok"


class CommitFailsOnce(KafkaSubscription):
    """The real subscription, with one failed commit at a chosen offset (a broker blip)."""

    fail_at: int = 1
    failed = False

    async def commit(self, record: Delivery) -> None:
        if record.offset == self.fail_at and not CommitFailsOnce.failed:
            CommitFailsOnce.failed = True
            raise ConnectionError("broker went away during commit")
        await super().commit(record)


class FencedMember(KafkaSubscription):
    """A member the group no longer knows (its broker restarted empty): fetches still work,
    every commit fails. Only leaving and joining the group again cures it."""

    async def commit(self, record: Delivery) -> None:
        raise CommitFailedError("the group has already rebalanced")


class StrandedMember(KafkaSubscription):
    """A member left holding a partition its broker no longer has (restarted empty, the topic
    recreated with fewer partitions): each commit times out and, once the fetched batch was
    rewound, every fetch comes back empty. Empty ticks in between must not hide the failures."""

    async def fetch(self, timeout_ms: int, max_records: int) -> list[Delivery]:
        self.fetches = getattr(self, "fetches", 0) + 1
        return await super().fetch(timeout_ms, max_records) if self.fetches == 1 else []

    async def commit(self, record: Delivery) -> None:
        raise TimeoutError("OffsetCommit: UnknownTopicOrPartitionError, retried until the timeout")


def subscription(kind: type[KafkaSubscription], s: Settings) -> KafkaSubscription:
    return kind(
        s.kafka_bootstrap_servers,
        [TOPIC],
        "recording",
        s.consumer_session_timeout_ms,
        s.network_timeout_s,
        s.kafka_topic_prefix,
        s.consumer_fetch_max_wait_ms,
    )


async def publish(res: Resources, count: int) -> None:
    for n in range(count):
        await res.publisher.publish(TOPIC, "k", {"n": n})


async def drain(worker: ConsumerWorker, rounds: int = 12) -> None:
    for _ in range(rounds):
        try:
            await worker.tick(timeout_ms=200)
        except Exception:
            await worker.tick_failed()


async def test_a_failed_commit_mid_batch_does_not_skip_the_rest_of_the_batch(app_res: Resources) -> None:
    await publish(app_res, 5)
    worker = Recording(app_res)
    worker._subscription = subscription(CommitFailsOnce, app_res.settings)
    await worker._subscription.start()
    try:
        await drain(worker)
    finally:
        await worker.close()
    assert CommitFailsOnce.failed
    assert sorted(set(worker.handled)) == [0, 1, 2, 3, 4], worker.handled


async def test_a_member_whose_commits_keep_failing_joins_the_group_again(app_res: Resources) -> None:
    # Each tick fetches fine and then fails at its first commit: the failed ticks must still
    # count as failures in a row, or the worker never resubscribes and never commits again.
    await publish(app_res, 3)
    worker = Recording(app_res)
    worker._subscription = subscription(FencedMember, app_res.settings)
    await worker._subscription.start()
    try:
        await drain(worker, rounds=12)
        assert not isinstance(worker._subscription, FencedMember)
    finally:
        await worker.close()
    assert sorted(set(worker.handled)) == [0, 1, 2], worker.handled
    again = Recording(app_res)  # the same group: everything was committed, nothing comes back
    try:
        await drain(again, rounds=4)
    finally:
        await again.close()
    assert again.handled == []


async def test_a_member_whose_commit_failed_and_then_fetches_nothing_joins_the_group_again(
    app_res: Resources,
) -> None:
    await publish(app_res, 3)
    worker = Recording(app_res)
    worker._subscription = subscription(StrandedMember, app_res.settings)
    await worker._subscription.start()
    try:
        await drain(worker, rounds=12)
        assert not isinstance(worker._subscription, StrandedMember)
    finally:
        await worker.close()
    assert sorted(set(worker.handled)) == [0, 1, 2], worker.handled


async def test_a_transient_failure_is_retried_past_any_attempt_limit_and_never_dead_lettered(
    app_res: Resources,
) -> None:
    app_res.settings = app_res.settings.model_copy(update={"consumer_retry_max_s": 0.05})
    await publish(app_res, 2)
    worker = Recording(app_res, fail_times=12)
    try:
        await drain(worker, rounds=30)
    finally:
        await worker.close()
    assert worker.handled == [0, 1]
    metrics = app_res.metrics
    assert metrics.consumer_dead_lettered_total.labels("recording")._value.get() == 0
    assert metrics.consumer_retries_total.labels("recording")._value.get() == 12


async def test_a_consumer_recovers_when_the_broker_comes_back_empty(settings: Settings) -> None:
    broker = start_broker()
    port = int(broker.bootstrap_servers.rsplit(":", 1)[1])
    private = settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap_servers})
    try:
        async with open_resources(private) as res:
            worker = Recording(res)
            try:
                await res.publisher.publish(TOPIC, "k", {"n": 1})
                await drain(worker, rounds=8)
                assert worker.handled == [1]
                broker.stop()
                broker = start_broker(port)  # all topics, offsets and groups gone
                await res.publisher.close()
                await res.publisher.publish(TOPIC, "k", {"n": 2})
                for _ in range(40):
                    await drain(worker, rounds=1)
                    if 2 in worker.handled:
                        break
            finally:
                await worker.close()
        assert 2 in worker.handled, worker.handled
    finally:
        broker.stop()
