"""Every Prometheus metric, declared once, on a registry made by bootstrap (never at import)."""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.http_request_duration_seconds = Histogram(
            "ticketing_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.queue_entered_total = Counter(
            "ticketing_queue_entered_total", "Waiting-room enter calls by outcome", ["outcome"], registry=r
        )
        self.requests_refused_total = Counter(
            "ticketing_requests_refused_total",
            "Requests refused 429 before any work: over a rate limit (rate) or a poll before its pace (pace)",
            ["action", "reason"],
            registry=r,
        )
        self.queue_admitted_total = Counter(
            "ticketing_queue_admitted_total", "Users moved from the line into the pass set", registry=r
        )
        self.queue_passes_expired_total = Counter(
            "ticketing_queue_passes_expired_total", "Passes dropped by the advancer after their TTL", registry=r
        )
        self.queue_waiting_users = Gauge(
            "ticketing_queue_waiting_users", "People in line, summed over schedules on sale", registry=r
        )
        self.queue_live_passes = Gauge(
            "ticketing_queue_live_passes", "Live passes, summed over schedules on sale", registry=r
        )
        self.queue_admission_rate_per_second = Gauge(
            "ticketing_queue_admission_rate_per_second",
            "Admissions per second measured by this advancer, summed over schedules",
            registry=r,
        )
        self.queue_advance_tick_seconds = Histogram(
            "ticketing_queue_advance_tick_seconds",
            "Duration of one advancer tick over every schedule",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.holds_total = Counter(
            "ticketing_holds_total",
            "Hold attempts by outcome (won, seat_taken, too_many_seats, pass_*)",
            ["outcome"],
            registry=r,
        )
        self.payment_orders_created_total = Counter(
            "ticketing_payment_orders_created_total",
            "Payment orders created (idempotent replays of the same key not counted)",
            registry=r,
        )
        self.payment_webhooks_total = Counter(
            "ticketing_payment_webhooks_total",
            "Webhook calls by resulting order status or error code",
            ["outcome"],
            registry=r,
        )
        self.sse_connections = Gauge("ticketing_sse_connections", "Open seat-map event streams", registry=r)
        self.outbox_relayed_total = Counter(
            "ticketing_outbox_relayed_total", "Outbox rows published to the broker and marked SENT", registry=r
        )
        self.outbox_publish_failures_total = Counter(
            "ticketing_outbox_publish_failures_total", "Outbox batches with at least one failed publish", registry=r
        )
        self.outbox_pending_rows = Gauge(
            "ticketing_outbox_pending_rows",
            "PENDING outbox rows, table-wide (every relay reports it: aggregate with max)",
            registry=r,
        )
        self.outbox_oldest_pending_age_seconds = Gauge(
            "ticketing_outbox_oldest_pending_age_seconds",
            "Age of the oldest PENDING outbox row (grows while relaying stalls)",
            registry=r,
        )
        self.consumer_messages_total = Counter(
            "ticketing_consumer_messages_total",
            "Messages handled by consumer and outcome",
            ["consumer", "outcome"],
            registry=r,
        )
        self.consumer_processing_seconds = Histogram(
            "ticketing_consumer_processing_seconds",
            "Time to handle one message, retries included",
            ["consumer"],
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.consumer_lag_messages = Gauge(
            "ticketing_consumer_lag_messages",
            "Messages on the consumer's assigned partitions not yet fetched",
            ["consumer"],
            registry=r,
        )
        self.consumer_dead_lettered_total = Counter(
            "ticketing_consumer_dead_lettered_total", "Messages sent to the dead-letter topic", ["consumer"], registry=r
        )
        self.consumer_retries_total = Counter(
            "ticketing_consumer_retries_total",
            "Messages that failed for a passing reason and will be tried again",
            ["consumer"],
            registry=r,
        )
        self.confirmations_total = Counter(
            "ticketing_confirmations_total", "Holds confirmed (guard rows written)", registry=r
        )
        self.guard_conflicts_total = Counter(
            "ticketing_guard_conflicts_total", "Paid holds refused by the seat guard (refund requested)", registry=r
        )
        self.refunds_total = Counter("ticketing_refunds_total", "Refunds completed by the provider", registry=r)
        self.refunds_failed_total = Counter(
            "ticketing_refunds_failed_total",
            "Refund attempts the provider did not carry out (the order stays REFUND_PENDING and is retried)",
            registry=r,
        )
        self.retention_deleted_total = Counter(
            "ticketing_retention_deleted_total",
            "What the retention job deleted: outbox rows, processed-event marks, Redis keys, released schedules",
            ["kind"],
            registry=r,
        )
        self.reconciler_repairs_total = Counter(
            "ticketing_reconciler_repairs_total",
            "Things the reconciler had to repair, by kind",
            ["kind"],
            registry=r,
        )
        self.holds_expired_total = Counter(
            "ticketing_holds_expired_total", "Reservations expired unpaid by the hold expirer", registry=r
        )
        self.db_transaction_retries_total = Counter(
            "ticketing_db_transaction_retries_total",
            "Transactions run again after a deadlock or lock-wait timeout",
            ["reason"],
            registry=r,
        )
        self.pass_checks_total = Counter(
            "ticketing_queue_pass_checks_total", "Pass verifications by outcome", ["outcome"], registry=r
        )


def serve_metrics(metrics: Metrics, host: str, port: int) -> WSGIServer:
    """``/metrics`` of this process on a port of its own, on a daemon thread (a scrape never
    waits for the event loop). ``shutdown()`` the returned server to stop it."""
    server, _thread = start_http_server(port, addr=host, registry=metrics.registry)
    return server
