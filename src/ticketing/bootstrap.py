"""The only composition root: builds every client, adapter and metric from settings.

The API lifespan, every worker, the CLI and every test fixture go through
``open_resources``; nothing is created at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncmy.errors
import sqlalchemy as sa
import structlog
from redis.exceptions import ClusterError, RedisClusterException, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.adapters.access_tokens import AccessTokens, TokenRules
from ticketing.adapters.kafka.consumer import KafkaSubscription
from ticketing.adapters.kafka.dead_letters import KafkaDeadLetters
from ticketing.adapters.kafka.probe import broker_reachable
from ticketing.adapters.kafka.producer import KafkaPublisher
from ticketing.adapters.pass_tokens import PassTokens
from ticketing.adapters.payment_provider import FakePaymentProvider, UnconfiguredPaymentProvider
from ticketing.adapters.redis.audit import RedisAudit
from ticketing.adapters.redis.client import RedisClient, connect
from ticketing.adapters.redis.client import close as close_redis
from ticketing.adapters.redis.event_hub import EventHub
from ticketing.adapters.redis.keys import Keys
from ticketing.adapters.redis.live_state import RedisLiveState
from ticketing.adapters.redis.outbox_signal import RedisOutboxSignal
from ticketing.adapters.redis.rate_limits import RateArgs, RedisRateLimiter
from ticketing.adapters.redis.scripts import Scripts
from ticketing.adapters.redis.seat_locks import RedisSeatLocks
from ticketing.adapters.redis.seat_map import RedisSeatMap
from ticketing.adapters.redis.waiting_room import RedisWaitingRoom
from ticketing.adapters.sql.audit import SqlAudit
from ticketing.adapters.sql.catalog import SqlCatalog
from ticketing.adapters.sql.database import Database, open_database
from ticketing.adapters.sql.errors import server_unavailable
from ticketing.adapters.sql.outbox import SqlOutbox
from ticketing.adapters.sql.payments import SqlPayments
from ticketing.adapters.sql.reservations import SqlReservations
from ticketing.adapters.sql.retention import SqlRetention
from ticketing.adapters.sql.seat_truth import SqlSeatTruth
from ticketing.adapters.sql.transient import RetryPolicy
from ticketing.adapters.sql.unit_of_work import SqlTransactions
from ticketing.adapters.ticket_signing import TicketSigner, TicketVerifier
from ticketing.domain.payments import SettlementPolicy
from ticketing.observability.metrics import Metrics
from ticketing.services.abandoned_holds import AbandonedHolds
from ticketing.settings import Settings

log = structlog.get_logger("ticketing.readiness")

# What a backing service that is down or restarting looks like from here: answered as
# 503 DEPENDENCY_UNAVAILABLE with Retry-After (clients and providers retry), never 500.
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    # A Redis Cluster mid-failover: a slot without a master, a node asking to try again.
    ClusterError,
    TryAgainError,
    RedisClusterException,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    asyncmy.errors.OperationalError,
    asyncmy.errors.InterfaceError,
    ConnectionError,
    TimeoutError,
    # A connection closed under the driver: asyncmy opening one while MariaDB restarts, uvloop
    # writing on one a failover closed. Only those messages: any other RuntimeError is a bug.
    RuntimeError,
)
CLOSED_TRANSPORT = ("Transport does not expose socket instance", "the handler is closed")


def dependency_down(exc: Exception) -> bool:
    """Whether one of ``DEPENDENCY_ERRORS`` means the service is down rather than that the
    database rejected a statement (a driver ``OperationalError`` can be either) or that the
    code is wrong (a ``RuntimeError`` that is not a closed connection)."""
    if isinstance(exc, sa_exc.DBAPIError | asyncmy.errors.OperationalError):
        return server_unavailable(exc)
    if isinstance(exc, RuntimeError):
        return any(sign in str(exc) for sign in CLOSED_TRANSPORT)
    return True


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Resources:
    settings: Settings
    database: Database
    scripts: Scripts
    redis: RedisClient
    keys: Keys
    catalog: SqlCatalog
    waiting_room: RedisWaitingRoom
    seat_map: RedisSeatMap
    seat_locks: RedisSeatLocks
    seat_events: EventHub
    queue_events: EventHub
    reservations: SqlReservations
    payments: SqlPayments
    tx: SqlTransactions
    outbox: SqlOutbox
    outbox_signal: RedisOutboxSignal
    publisher: KafkaPublisher
    refunds: FakePaymentProvider | UnconfiguredPaymentProvider
    fake_provider: FakePaymentProvider | None
    pass_tokens: PassTokens
    access_tokens: AccessTokens
    tickets: TicketSigner
    clock: SystemClock
    metrics: Metrics
    audit_records: SqlAudit
    audit_live: RedisAudit
    dead_letters: KafkaDeadLetters
    settlement: SettlementPolicy
    seat_truth: SqlSeatTruth
    abandoned_holds: AbandonedHolds
    rate_limiter: RedisRateLimiter
    retention: SqlRetention
    live_state: RedisLiveState

    @property
    def engine(self) -> AsyncEngine:
        """The transactional SQLAlchemy pool (``database.tx``)."""
        return self.database.tx

    def subscription(self, topics: list[str], group_id: str, session_timeout_ms: int) -> KafkaSubscription:
        """A consumer-group subscription; the caller starts and closes it."""
        s = self.settings
        return KafkaSubscription(
            s.kafka_bootstrap_servers,
            topics,
            group_id,
            session_timeout_ms,
            s.network_timeout_s,
            s.kafka_topic_prefix,
            s.consumer_fetch_max_wait_ms,
        )

    async def warm_up(self, redis_connections: int = 32) -> None:
        """Open connections and load scripts before the first request: the first burst of a
        sale (often the first requests a process sees) should not pay for them."""
        await asyncio.gather(*(self.redis.ping() for _ in range(redis_connections)))
        await self.scripts.load_all(self.redis)
        if self.settings.jwt_jwks_url:  # the identity provider's keys, before the first buyer
            await asyncio.to_thread(self.access_tokens.prefetch_keys)
        await self.database.driver.execute("SELECT 1", ())
        async with self.database.auto.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def readiness(self) -> dict[str, str]:
        """Probe every dependency concurrently: ``ok`` or ``unavailable`` (the error goes to
        the log, not to whoever asked: it names hosts, ports and driver messages)."""
        timeout = self.settings.network_timeout_s

        async def database() -> None:
            async with asyncio.timeout(timeout), self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))

        async def redis() -> None:
            async with asyncio.timeout(timeout):
                await self.redis.ping()

        async def broker() -> None:
            await broker_reachable(self.settings.kafka_bootstrap_servers, timeout)

        checks = {"database": database(), "redis": redis(), "broker": broker()}
        results = await asyncio.gather(*checks.values(), return_exceptions=True)
        states = dict.fromkeys(checks, "ok")
        for name, result in zip(checks, results, strict=True):
            if isinstance(result, BaseException):
                states[name] = "unavailable"
                log.warning("not_ready", dependency=name, error=f"{type(result).__name__}: {result}"[:300])
        return states


def build_redis(settings: Settings) -> RedisClient:
    return connect(
        settings.redis_url,
        settings.redis_cluster,
        settings.redis_max_connections,
        settings.redis_pool_wait_s,
        settings.network_timeout_s,
    )


def build_access_tokens(settings: Settings) -> AccessTokens:
    rules = TokenRules(settings.jwt_audience, settings.jwt_issuer, settings.jwt_max_lifetime_s, settings.jwt_leeway_s)
    return AccessTokens(
        settings.jwt_secret,
        settings.jwt_algorithm,
        settings.jwt_public_key,
        settings.jwt_jwks_url,
        rules,
        settings.network_timeout_s,
    )


def build_ticket_verifier(settings: Settings, public_pem: str | None = None) -> TicketVerifier:
    """Offline ticket checks: with a door's public key, or the configured signing key's public half."""
    return TicketVerifier(public_pem) if public_pem else TicketSigner(settings.ticket_signing_key)


@asynccontextmanager
async def open_resources(settings: Settings, metrics: Metrics | None = None) -> AsyncIterator[Resources]:
    database = await open_database(
        settings.database_url, settings.database_pool_size, settings.database_lock_wait_timeout_s
    )
    engine = database.tx
    metrics = metrics or Metrics()
    retry = RetryPolicy(
        attempts=settings.database_retry_attempts,
        on_retry=lambda reason: metrics.db_transaction_retries_total.labels(reason).inc(),
    )
    redis = build_redis(settings)
    keys = Keys(settings.redis_key_prefix)
    scripts = Scripts.register(redis, settings.redis_shared_round_trips)
    fake = FakePaymentProvider(settings.webhook_secret) if settings.fake_payments_enabled else None
    rates = RateArgs(settings.rate_limits())
    seat_locks = RedisSeatLocks(redis, keys, scripts, rates)
    resources = Resources(
        settings=settings,
        database=database,
        scripts=scripts,
        redis=redis,
        keys=keys,
        catalog=SqlCatalog(database),
        waiting_room=RedisWaitingRoom(redis, keys, scripts, rates),
        seat_map=RedisSeatMap(redis, keys),
        seat_locks=seat_locks,
        seat_events=EventHub(redis, keys.seat_events),
        queue_events=EventHub(redis, keys.queue_events),
        reservations=SqlReservations(database, retry),
        payments=SqlPayments(database, retry),
        tx=SqlTransactions(engine, retry),
        outbox=SqlOutbox(engine, retry),
        outbox_signal=RedisOutboxSignal(redis, keys),
        # Connects on first publish: API processes never open a broker connection.
        publisher=KafkaPublisher(
            settings.kafka_bootstrap_servers,
            settings.kafka_enable_idempotence,
            settings.network_timeout_s,
            settings.kafka_topic_prefix,
        ),
        refunds=fake or UnconfiguredPaymentProvider(),
        fake_provider=fake,
        pass_tokens=PassTokens(settings.pass_token_secret),
        access_tokens=build_access_tokens(settings),
        tickets=TicketSigner(settings.ticket_signing_key),
        clock=SystemClock(),
        metrics=metrics,
        audit_records=SqlAudit(engine),
        audit_live=RedisAudit(keys, scripts),
        settlement=SettlementPolicy(settings.payment_window_s, settings.settle_within_s),
        seat_truth=SqlSeatTruth(engine),
        abandoned_holds=AbandonedHolds(seat_locks, settle_within_s=settings.network_timeout_s),
        rate_limiter=RedisRateLimiter(keys, scripts, rates),
        retention=SqlRetention(database),
        live_state=RedisLiveState(redis, keys),
        dead_letters=KafkaDeadLetters(
            settings.kafka_bootstrap_servers, settings.network_timeout_s, settings.kafka_topic_prefix
        ),
    )
    try:
        yield resources
    finally:
        await resources.abandoned_holds.close()
        await resources.seat_events.close()
        await resources.queue_events.close()
        await resources.outbox_signal.close()
        await resources.publisher.close()
        await close_redis(redis)
        await database.dispose()
