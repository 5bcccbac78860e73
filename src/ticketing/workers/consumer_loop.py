"""The shared shape of every Kafka consumer worker: fetch, handle, retry what failed for a
passing reason until it succeeds, dead-letter only what can never be handled, and commit
each offset only after its message was handled (the DB commit came first)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, ClassVar, TypeVar

import structlog

from ticketing.bootstrap import Resources
from ticketing.domain.messages import Delivery, MalformedMessage, WireMessage, dead_letter_topic
from ticketing.services.ports import Subscription
from ticketing.workers.loop import Worker

log = structlog.get_logger("ticketing.worker.consumer")
W = TypeVar("W", bound=WireMessage)

FETCH_TIMEOUT_MS = 500
FETCH_MAX_RECORDS = 100
# Lag costs a broker round trip (end offsets); once a second is plenty for a gauge.
LAG_EVERY_S = 1.0
RESUBSCRIBE_AFTER_FAILED_TICKS = 3
FAILED_TICK_PAUSE_S = 1.0


class PermanentError(Exception):
    """The message can never be handled (undecodable, wrong shape): dead-letter it at once."""


class ConsumerWorker(Worker):
    name: ClassVar[str]
    topic: ClassVar[str]
    group_id: ClassVar[str]

    def __init__(self, resources: Resources, retry_base_s: float = 0.2) -> None:
        super().__init__(resources)
        self.retry_base_s = retry_base_s
        self._subscription: Subscription | None = None
        self._next_lag_at = 0.0
        self._failures: dict[tuple[str, int, int], int] = {}
        self._stop = asyncio.Event()
        self._failed_ticks = 0
        # Exported at 0 from the start: increase() in the alerts cannot see the first
        # increment of a series that first appears already at 1.
        resources.metrics.consumer_dead_lettered_total.labels(self.name)
        resources.metrics.consumer_retries_total.labels(self.name)

    @staticmethod
    def parse(payload: dict[str, Any], message_type: type[W]) -> W:
        """The payload as ``message_type``; a wrong shape is permanent, so dead-letter it."""
        try:
            return message_type.from_dict(payload)
        except MalformedMessage as exc:
            raise PermanentError(str(exc)) from exc

    async def handle(self, payload: dict[str, Any]) -> str:
        """Handle one message; returns the outcome label for metrics. Must be idempotent."""
        raise NotImplementedError

    async def start(self) -> None:
        if self._subscription is None:
            self._subscription = self.res.subscription(
                [self.topic], self.group_id, self.res.settings.consumer_session_timeout_ms
            )
            await self._subscription.start()

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None

    async def tick(self, timeout_ms: int = FETCH_TIMEOUT_MS) -> int:
        """Fetch and handle one batch; each offset is committed right after its message.

        The fetch moved this consumer's position past the whole batch, so when record k
        cannot be finished (a transient failure, a failed commit or dead-letter publish)
        every partition is rewound to its first unfinished record before the tick ends:
        the next fetch starts there, and nothing after k is skipped. Returns how many
        records were finished.
        """
        await self.start()
        assert self._subscription is not None
        subscription = self._subscription
        records = await subscription.fetch(timeout_ms, FETCH_MAX_RECORDS)
        await self._measure_lag(subscription)
        if not records and self._failed_ticks:
            # In doubt since a failed tick, and the rewound records did not come back: the
            # member may hold a partition its broker no longer has (restarted empty). An
            # empty tick is no proof of health, so it counts as failed until a commit works.
            await self.tick_failed()
            return 0
        for done, record in enumerate(records):
            try:
                retry_in_s = await self.process(record)
                if retry_in_s is None:
                    await subscription.commit(record)
                    # Only a commit that got through proves the subscription: a member the
                    # group forgot still fetches fine and then fails every commit.
                    self._failed_ticks = 0
            except BaseException:
                await subscription.rewind(records[done:])
                raise
            if retry_in_s is not None:
                # The handler failed, not the subscription: the count stands as it was.
                await subscription.rewind(records[done:])
                await self._pause(retry_in_s)
                return done
        return len(records)

    async def tick_failed(self) -> None:
        """After a few failed ticks with no commit getting through, drop the subscription; the
        next tick joins the group again with fresh metadata. A broker that restarted empty
        (topics, offsets and groups gone) otherwise leaves the old member failing its commits,
        or fetching from a partition that is gone, forever."""
        self._failed_ticks += 1
        if self._failed_ticks >= RESUBSCRIBE_AFTER_FAILED_TICKS:
            log.warning("resubscribing", consumer=self.name, failed_ticks=self._failed_ticks)
            self._failed_ticks = 0
            try:
                await self.close()
            except Exception as exc:
                log.warning("close_failed", consumer=self.name, error=f"{type(exc).__name__}: {exc}")
                self._subscription = None

    async def _pause(self, seconds: float) -> None:
        """Wait before a retry, cut short when the worker is told to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)

    async def _measure_lag(self, subscription: Subscription) -> None:
        if time.monotonic() < self._next_lag_at:
            return
        self._next_lag_at = time.monotonic() + LAG_EVERY_S
        try:
            lag = await subscription.lag()
        except Exception as exc:
            # A gauge must never stop message handling; the next measurement may well succeed.
            log.warning("lag_unmeasured", consumer=self.name, error=f"{type(exc).__name__}: {exc}")
            return
        self.res.metrics.consumer_lag_messages.labels(self.name).set(lag)

    async def process(self, record: Delivery) -> float | None:
        """Handle one record. Returns None when it is finished (handled, or dead-lettered as
        permanently unhandleable), else the seconds to wait before it is tried again.

        Only a permanent error (undecodable, wrong shape) goes to the dead-letter topic. Any
        other failure -- a database restarting, a lock timeout, Redis unreachable -- is
        retried without limit, with a doubling delay capped at ``consumer_retry_max_s``:
        dead-lettering it would strand a paid order until someone replayed it by hand.
        """
        metrics = self.res.metrics
        started = time.perf_counter()
        where = (record.topic, record.partition, record.offset)
        try:
            if record.payload is None:
                raise PermanentError(f"undecodable message: {record.decode_error}")
            outcome = await self.handle(record.payload)
        except PermanentError as exc:
            await self.dead_letter(record, exc)
            self._failures.pop(where, None)
            return None
        except Exception as exc:
            attempt = self._failures.get(where, 0) + 1
            self._failures = {where: attempt}  # only the record at the head of the line matters
            delay_s = float(min(self.res.settings.consumer_retry_max_s, self.retry_base_s * 2 ** (attempt - 1)))
            metrics.consumer_retries_total.labels(self.name).inc()
            log.warning(
                "message_retry",
                consumer=self.name,
                attempt=attempt,
                partition=record.partition,
                offset=record.offset,
                retry_in_s=round(delay_s, 3),
                error=f"{type(exc).__name__}: {exc}"[:300],
            )
            return delay_s
        finally:
            metrics.consumer_processing_seconds.labels(self.name).observe(time.perf_counter() - started)
        self._failures.pop(where, None)
        metrics.consumer_messages_total.labels(self.name, outcome).inc()
        return None

    async def dead_letter(self, record: Delivery, error: BaseException | None) -> None:
        envelope = {
            "consumer": self.name,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key,
            "raw": (record.raw or b"").decode("utf-8", "replace"),
            "error": f"{type(error).__name__}: {error}"[:1000],
        }
        await self.res.publisher.publish(dead_letter_topic(record.topic), record.key or "", envelope)
        self.res.metrics.consumer_dead_lettered_total.labels(self.name).inc()
        self.res.metrics.consumer_messages_total.labels(self.name, "dead_lettered").inc()
        log.error("message_dead_lettered", consumer=self.name, offset=record.offset, error=envelope["error"])

    def interval_s(self) -> float:
        return FAILED_TICK_PAUSE_S

    async def step(self, stop: asyncio.Event) -> bool:
        self._stop = stop
        await self.tick()
        return True  # the fetch itself waits for messages; the loop idles only after a failure

    async def failed(self) -> None:
        await self.tick_failed()
