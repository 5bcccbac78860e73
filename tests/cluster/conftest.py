"""The topology of ``make cluster`` for one test module: a Redis Cluster of its own, its own
broker, a database of its own on the shared MariaDB, and the app as processes behind HAProxy.

``ClusterStack`` gives ``tests/faults/sale.py`` what it needs of a stack (base URL, settings,
the database, ``ticketing check``, the API's 5xx count), so a sale runs here unchanged.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import DB_SERVER
from tests.faults.stack import CheckReport
from ticketing.adapters.sql.database import drop_database
from ticketing.devtools.cluster import ClusterPorts, Topology, app_env, running_topology, settings_from_env

pytestmark = pytest.mark.timeout(600)


class Database:
    def __init__(self, url: str) -> None:
        self._url = url

    def url(self, database: str = "") -> str:
        return self._url


class ClusterStack:
    """The topology as the tests see it: started here (``topology``, whose processes a test may
    kill), or by the ``ticketing cluster`` command (``topology`` None; only its ports known)."""

    def __init__(self, ports: ClusterPorts, env: dict[str, str], database_url: str, topology: Topology | None) -> None:
        self.ports = ports
        self._topology = topology
        self.db = Database(database_url)
        self.base_url = f"http://127.0.0.1:{ports.balancer}"
        self.env = app_env(env, ports)
        self.settings = settings_from_env(self.env)

    @property
    def topology(self) -> Topology:
        assert self._topology is not None, "this module's topology was started by `ticketing cluster`"
        return self._topology

    def api_alive(self, name: str) -> bool:
        if self._topology is None:
            return True
        child = self._topology.children.get(name)
        return child is not None and child.process is not None and child.process.alive

    def engine(self) -> AsyncEngine:
        return create_async_engine(self.db.url(), pool_size=2, max_overflow=0, pool_pre_ping=True)

    async def db_rows(self, query: sa.TextClause, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        engine = self.engine()
        try:
            async with engine.connect() as conn:
                return [tuple(row) for row in (await conn.execute(query, dict(params or {}))).all()]
        finally:
            await engine.dispose()

    async def check(self, schedule_id: int, grace_s: float = 0.0) -> CheckReport:
        argv = [sys.executable, "-m", "ticketing.cli", "check", "--schedule", str(schedule_id), "--json"]
        done = await asyncio.to_thread(
            subprocess.run,
            [*argv, "--grace-s", str(grace_s)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        document: dict[str, Any] = json.loads(done.stdout)
        violations = list(document.get("violations", []))
        return CheckReport(schedule_id, done.returncode, violations, dict(document.get("checked", {})))

    async def worker_metric(self, worker: str, copy: int, name: str) -> float:
        """The sum of one worker copy's samples named ``name`` (its own /metrics)."""
        port = self.ports.metrics[worker][copy]
        async with httpx.AsyncClient(timeout=10.0) as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples if s.name == name)

    async def api_5xx(self) -> dict[str, int]:
        """5xx answers counted by every API replica still alive (each one's own /metrics)."""
        counts: dict[str, int] = {}
        async with httpx.AsyncClient(timeout=10.0) as client:
            for name, port in zip(("api-1", "api-2"), self.ports.api, strict=False):
                if not self.api_alive(name):
                    continue
                r = await client.get(f"http://127.0.0.1:{port}/metrics")
                for family in text_string_to_metric_families(r.text):
                    for s in family.samples:
                        if s.name.endswith("http_request_duration_seconds_count") and s.labels["status"][0] == "5":
                            key = f"{s.labels.get('method')} {s.labels.get('route')} {s.labels['status']}"
                            counts[key] = counts.get(key, 0) + int(s.value)
        return dict(sorted(counts.items()))


def topology_env(run: str) -> tuple[dict[str, str], str]:
    database_url = f"{DB_SERVER}/ticketing_cluster_{run}"
    env = {
        **os.environ,
        "TICKETING_ENVIRONMENT": "development",  # the fake payment provider completes payments
        "TICKETING_FAKE_PAYMENTS_ENABLED": "true",
        "TICKETING_DATABASE_URL": database_url,
        "TICKETING_REDIS_KEY_PREFIX": f"cluster:{run}:",
        "TICKETING_KAFKA_TOPIC_PREFIX": f"cluster-{run}.",
        "TICKETING_LOG_LEVEL": "WARNING",
        "TICKETING_LOG_FORMAT": "json",
        "TICKETING_ADVANCER_TICK_MS": "100",
        "TICKETING_CONSUMER_SESSION_TIMEOUT_MS": "3000",
        "TICKETING_JWT_SECRET": secrets.token_hex(32),
        "TICKETING_PASS_TOKEN_SECRET": secrets.token_hex(32),
        "TICKETING_WEBHOOK_SECRET": secrets.token_hex(32),
    }
    return env, database_url


@pytest.fixture(scope="module")
def cluster_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterStack]:
    run = uuid.uuid4().hex[:10]
    env, database_url = topology_env(run)
    logs: Path = tmp_path_factory.mktemp(f"cluster-{run}")
    try:
        with running_topology(env, log_dir=logs) as topology:
            yield ClusterStack(topology.ports, env, database_url, topology)
    finally:
        asyncio.run(drop_database(database_url))
