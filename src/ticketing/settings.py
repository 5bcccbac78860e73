"""Configuration from the environment (prefix ``TICKETING_``); refuses unsafe production setups."""

from __future__ import annotations

import ipaddress
from enum import StrEnum

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ticketing.domain.rate_limits import Action, Rate

# Development defaults; production mode refuses to start with any of them.
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789"  # noqa: S105
DEV_PASS_SECRET = "dev-only-pass-secret-change-me-0123456789"  # noqa: S105
DEV_WEBHOOK_SECRET = "dev-only-webhook-secret-change-me-0123456789"  # noqa: S105
# Development only (refused in production): the Ed25519 key that signs tickets.
DEV_TICKET_SIGNING_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIOnV19c4D7PkdCfdPL9S2ex98cYckyNq1x//qb1OqqBo\n"
    "-----END PRIVATE KEY-----\n"
)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TICKETING_", env_file=None, extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "mysql+asyncmy://ticketing:ticketing@127.0.0.1:3306/ticketing"
    database_pool_size: int = Field(
        default=16,
        ge=2,
        description="bare-driver connections per process; the SQLAlchemy pools get a half and a quarter",
    )
    database_lock_wait_timeout_s: int = Field(
        default=10, ge=1, description="how long a transaction waits for a row lock before it is retried"
    )
    database_retry_attempts: int = Field(
        default=8, ge=1, description="tries of a transaction that lost a deadlock or a lock wait"
    )
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = Field(
        default=False,
        description="TICKETING_REDIS_URL names one node of a Redis Cluster: use redis-py's cluster client",
    )
    redis_key_prefix: str = Field(default="tk:", description="prepended to every Redis key")
    redis_max_connections: int = Field(default=256, ge=1)
    redis_pool_wait_s: float = Field(
        default=10.0,
        gt=0,
        description="how long a request waits for a free pooled Redis connection (every one busy: a saturated "
        "process in a poll wave) before the answer is 503; a wait is not an outage, so longer than network_timeout_s",
    )
    redis_shared_round_trips: bool = Field(
        default=True,
        description="the script calls a process makes in one turn of its event loop go to Redis as one pipeline "
        "(one server only; a Redis Cluster is always called per script)",
    )
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_enable_idempotence: bool = False
    kafka_topic_prefix: str = Field(default="", description="prepended to every topic name (shared clusters, tests)")

    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithm: str = "HS256"
    jwt_public_key: str | None = Field(default=None, description="PEM; set for RS256")
    jwt_jwks_url: str | None = Field(
        default=None, description="an identity provider's JWKS (RS256 keys by kid); instead of jwt_public_key"
    )
    jwt_audience: str | None = Field(default=None, description="required `aud` claim when set")
    jwt_issuer: str | None = Field(default=None, description="required `iss` claim when set")
    jwt_max_lifetime_s: int | None = Field(
        default=86_400, ge=1, description="a token whose exp - iat is longer is refused (iat required); None: no cap"
    )
    jwt_leeway_s: int = Field(default=30, ge=0, le=300, description="clock difference forgiven on exp, nbf and iat")
    pass_token_secret: str = DEV_PASS_SECRET
    webhook_secret: str = DEV_WEBHOOK_SECRET
    ticket_signing_key: str = Field(
        default=DEV_TICKET_SIGNING_KEY,
        description="PEM Ed25519 private key that signs tickets; door scanners verify with its public key",
    )
    webhook_tolerance_s: int = Field(
        default=300, ge=1, description="a webhook signed further than this from now is refused (replays)"
    )
    fake_payments_enabled: bool = True
    dev_login_enabled: bool = Field(
        default=True, description="POST /api/v1/dev/login issues a token for any user name (the demo pages' sign-in)"
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_backlog: int = Field(
        default=4096, ge=64, description="pending connections the kernel may queue (capped by net.core.somaxconn)"
    )
    api_keep_alive_s: int = Field(
        default=75,
        ge=1,
        description="how long an idle keep-alive connection stays open; longer than the longest poll interval the "
        "waiting room asks for (30 s + 20 %), or a buyer's next request races the server closing the connection",
    )
    sse_max_per_process: int = Field(default=5_000, ge=1, description="live seat-map streams one API process serves")
    sse_max_per_client: int = Field(default=4, ge=1, description="live seat-map streams per client address")
    trusted_proxies: list[str] = Field(
        default=[],
        description="addresses or networks (JSON list) of the load balancers in front of the API: a request from "
        "one of them is counted against the client it names in X-Forwarded-For, not against the balancer",
    )
    rate_limits_enabled: bool = Field(default=True, description="off: no request is counted or refused by rate")
    rate_limit_enter: str = Field(default="10/second", description="waiting-room entries per user")
    rate_limit_status: str = Field(
        default="10/second", description="status polls per user (besides the pace: none before poll_after_ms)"
    )
    rate_limit_hold: str = Field(default="5/second", description="hold requests per user")
    rate_limit_payment: str = Field(default="5/second", description="payment-order requests per user")
    rate_limit_seat_map: str = Field(default="10/second", description="seat-map reads per signed-in user")
    rate_limit_seat_map_anonymous: str = Field(
        default="20/second", description="seat-map reads per client address without a token"
    )
    api_metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="the API's /metrics only on this port of api_host (one API process per port); 0: on the API port",
    )
    metrics_port: int = Field(default=0, ge=0, le=65535, description="a worker's /metrics port on api_host; 0: off")
    log_format: str = Field(default="console", pattern="^(console|json)$")
    log_level: str = "INFO"

    advancer_tick_ms: int = Field(default=200, ge=10)
    relay_batch: int = Field(default=200, ge=1)
    relay_poll_s: float = Field(default=1.0, gt=0, description="fallback when no wake-up signal comes")
    relay_lease_s: float = Field(default=15.0, gt=0, description="a dead relay's rows are resent after this")
    consumer_session_timeout_ms: int = Field(default=6000, ge=1000)
    consumer_fetch_max_wait_ms: int = Field(
        default=20, ge=1, description="how long a fetch may wait for data (Tansu always waits this long)"
    )
    consumer_retry_max_s: float = Field(
        default=5.0, gt=0, description="longest pause between retries of a message that failed for a passing reason"
    )
    payment_window_s: int = Field(
        default=600,
        ge=1,
        description="a hold with an order keeps its seats this long while the payment is in flight",
    )
    settle_within_s: float = Field(
        default=60.0,
        gt=0,
        description="a paid order not confirmed or refunded by then is re-published (or its refund retried)",
    )
    reconciler_interval_s: float = Field(default=2.0, gt=0, description="pause between reconciler rounds")
    reconciler_drift_check_s: float = Field(
        default=30.0,
        gt=0,
        description="how often the reconciler compares whole seat maps with the database (rebuild checks: every round)",
    )
    reconciler_orphan_after_s: float = Field(
        default=30.0,
        gt=0,
        description="a seat lock whose hold has no database row this long after it was taken is dropped",
    )
    retention_interval_s: float = Field(default=60.0, gt=0, description="pause between retention rounds")
    retention_outbox_keep_s: int = Field(
        default=7 * 86400, ge=0, description="a published outbox row is deleted this long after it was sent"
    )
    retention_processed_keep_s: int = Field(
        default=7 * 86400,
        ge=0,
        description="a consumer's mark of a processed event is deleted this long after; keep it longer than "
        "any redelivery can come (the topics' retention, a consumer's longest outage)",
    )
    retention_live_state_keep_s: int = Field(
        default=86400,
        ge=0,
        description="a schedule's Redis state (line, passes, FIFO audit list, seat state) is deleted this long "
        "after its show started; `ticketing check` needs it until then",
    )
    retention_batch: int = Field(default=1000, ge=1, description="rows per delete statement")
    expirer_batch: int = Field(default=500, ge=1)
    expirer_interval_s: float = Field(default=1.0, gt=0)
    registry_resync_s: float = Field(default=10.0, gt=0)
    network_timeout_s: float = Field(default=2.0, gt=0)

    def development_only(self) -> list[str]:
        """What in this configuration is fit for development only: the built-in secrets, the
        fake payment provider (which lets anyone mark an order paid) and the development
        sign-in (which lets anyone be anyone)."""
        found = []
        if self.jwt_secret == DEV_JWT_SECRET and self.jwt_public_key is None and self.jwt_jwks_url is None:
            found.append("TICKETING_JWT_SECRET is the development secret")
        if self.pass_token_secret == DEV_PASS_SECRET:
            found.append("TICKETING_PASS_TOKEN_SECRET is the development secret")
        if self.webhook_secret == DEV_WEBHOOK_SECRET:
            found.append("TICKETING_WEBHOOK_SECRET is the development secret")
        if self.ticket_signing_key == DEV_TICKET_SIGNING_KEY:
            found.append("TICKETING_TICKET_SIGNING_KEY is the development key")
        if self.fake_payments_enabled:
            found.append("TICKETING_FAKE_PAYMENTS_ENABLED is on")
        if self.dev_login_enabled:
            found.append("TICKETING_DEV_LOGIN_ENABLED is on")
        return found

    @property
    def development_asked_for(self) -> bool:
        """Development mode set explicitly (``TICKETING_ENVIRONMENT=development``, as
        ``ticketing dev`` does), not merely left at its default."""
        return self.environment is Environment.DEVELOPMENT and "environment" in self.model_fields_set

    def rate_limits(self) -> dict[Action, Rate]:
        """The limit of each counted action (empty when rate limits are off)."""
        if not self.rate_limits_enabled:
            return {}
        return {action: Rate.parse(getattr(self, f"rate_limit_{action.value}")) for action in Action}

    @field_validator("ticket_signing_key")
    @classmethod
    def _pem_lines(cls, value: str) -> str:
        """A PEM may arrive on one line with literal \\n (an .env file holds one line a value)."""
        return value.replace("\\n", "\n")

    @model_validator(mode="after")
    def _rates_are_readable(self) -> Settings:
        self.rate_limits()  # a rate that does not parse stops the process at start-up
        for network in self.trusted_proxies:
            ipaddress.ip_network(network, strict=False)
        return self

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and (found := self.development_only()):
            raise ValueError("refusing to start in production: " + "; ".join(found))
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION
