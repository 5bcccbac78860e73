"""The shipped dashboard and alert rules query only metrics the code exports, so a renamed
metric fails here instead of leaving an empty panel or an alert that can never fire."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ticketing.observability.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "ticketing.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"

METRIC_NAME = re.compile(r"\bticketing_[a-zA-Z0-9_:]*")
# Label values and legends may mention ticketing_* without being a metric name.
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')

# The series names a scrape shows for each family type (prometheus_client's text format).
SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "enum": ("",),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "unknown": ("",),
}


def exported_series() -> set[str]:
    """Every series name a fresh registry can expose, labelled families included: those
    have no samples until first used, so names come from the family and its type."""
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.update(family.name + suffix for suffix in SAMPLE_SUFFIXES[family.type])
        names.update(sample.name for sample in family.samples)
    return names


def metric_names(expr: str) -> set[str]:
    return set(METRIC_NAME.findall(STRING_LITERAL.sub('""', expr)))


def dashboard_exprs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from dashboard_exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_exprs(item)


def alert_exprs() -> list[str]:
    document = yaml.safe_load(ALERTS.read_text())
    return [str(rule["expr"]) for group in document["groups"] for rule in group["rules"]]


def test_metric_name_extraction_ignores_label_values_and_reads_every_name() -> None:
    expr = 'sum(rate(ticketing_a_total{job="ticketing_api"}[1m])) / ticketing_b_seconds_bucket'
    assert metric_names(expr) == {"ticketing_a_total", "ticketing_b_seconds_bucket"}


def test_every_exported_metric_follows_the_naming_convention() -> None:
    for family in Metrics().registry.collect():
        assert re.fullmatch(r"ticketing_[a-z][a-z0-9]*(_[a-z0-9]+)*", family.name), family.name


def test_dashboard_queries_only_exported_metrics() -> None:
    exprs = list(dashboard_exprs(json.loads(DASHBOARD.read_text())))
    used = set().union(*(metric_names(e) for e in exprs))
    assert len(used) >= 15, "the dashboard lost most of its queries"
    assert sorted(used - exported_series()) == []


def test_alert_rules_query_only_exported_metrics() -> None:
    used = set().union(*(metric_names(e) for e in alert_exprs()))
    assert used, "no alert rule queries a ticketing metric"
    assert sorted(used - exported_series()) == []


@pytest.mark.parametrize(
    "needed",
    [
        "ticketing_queue_waiting_users",
        "ticketing_queue_live_passes",
        "ticketing_queue_admission_rate_per_second",
        "ticketing_queue_admitted_total",
        "ticketing_holds_total",
        "ticketing_payment_orders_created_total",
        "ticketing_confirmations_total",
        "ticketing_guard_conflicts_total",
        "ticketing_refunds_total",
        "ticketing_http_request_duration_seconds_bucket",
        "ticketing_outbox_pending_rows",
        "ticketing_outbox_oldest_pending_age_seconds",
        "ticketing_consumer_lag_messages",
        "ticketing_consumer_processing_seconds_bucket",
        "ticketing_consumer_dead_lettered_total",
        "ticketing_sse_connections",
    ],
)
def test_dashboard_shows(needed: str) -> None:
    exprs = dashboard_exprs(json.loads(DASHBOARD.read_text()))
    assert any(needed in metric_names(e) for e in exprs)
