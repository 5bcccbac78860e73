"""A fresh, production-like stack on loopback for one benchmark run: database, broker, API, workers.

Everything the run creates carries the run id (database ``ticketing_bench_<id>``, Redis key
prefix, Kafka topic prefix), so a run never touches anyone else's data on the shared
MariaDB and Redis. Every child process is a ``ChildProcess`` of the project's own launcher
code: it leads its own process group, so stopping it also stops what it forked (the API
server's worker processes).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlalchemy as sa
from redis import Redis
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from ticketing.adapters.sql.database import drop_database
from ticketing.devtools.broker import LocalBroker, free_port, start_broker
from ticketing.devtools.cluster import ClusterPorts, Topology
from ticketing.devtools.processes import ChildProcess, stop_all
from ticketing.settings import Settings
from ticketing.workers import WORKER_NAMES

WORKERS = WORKER_NAMES
API_WORKERS = 2
STOP_GRACE_S = 10.0
READY_TIMEOUT_S = 60.0


def cli_command(*args: str) -> list[str]:
    """The ``ticketing`` CLI of this environment (what ``uv run ticketing`` runs)."""
    return [sys.executable, "-m", "ticketing.cli", *args]


def run_bounded(cmd: Sequence[str], log_path: Path, timeout_s: float, env: dict[str, str] | None = None) -> int:
    """Run a load tool to completion in its own process group, output to ``log_path``; returns the exit code.

    On a timeout, Ctrl-C or any error the whole group is killed, so no load generator
    outlives the run.
    """
    child = ChildProcess.spawn(log_path.stem, cmd, log_path, env=env)
    try:
        if not child.wait_exit(timeout_s):
            raise TimeoutError(f"{cmd[0]} ran longer than {timeout_s:.0f} s; see {log_path}")
        code = child.returncode
        assert code is not None
        return code
    finally:
        child.stop(grace_s=5.0)


@dataclass
class Stack:
    run_id: str
    work_dir: Path
    env: dict[str, str]
    base_url: str
    database_url: str
    redis_url: str
    redis_prefix: str
    children: list[ChildProcess] = field(default_factory=list)
    broker: LocalBroker | None = None
    redis_cluster: bool = False  # a private Redis Cluster, gone with the stack: nothing to delete
    worker_metrics: dict[str, list[str]] = field(default_factory=dict)  # worker -> each copy's /metrics

    def k6_env(self) -> dict[str, str]:
        """What every k6 script is told: where the API is, and the webhook secret with which
        its buyers' side signs the payment provider's callbacks."""
        return {"BASE_URL": self.base_url, "WEBHOOK_SECRET": self.env["TICKETING_WEBHOOK_SECRET"]}

    def cli(self, *args: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run ``ticketing <args>`` against this stack's settings; raises on a non-zero exit."""
        return subprocess.run(
            cli_command(*args), env=self.env, capture_output=True, text=True, timeout=timeout_s, check=True
        )

    def tokens(self, count: int, prefix: str) -> Path:
        """A file of ``count`` bearer tokens (users ``<prefix>1..<prefix><count>``), one per line."""
        path = self.work_dir / f"tokens-{prefix.rstrip('-')}.txt"
        path.write_text(self.cli("token", "--count", str(count), "--prefix", prefix).stdout)
        return path

    def admin_token(self) -> str:
        return self.cli("token", "--user", "bench-admin", "--admin").stdout.strip()

    def process_groups(self) -> dict[int, str]:
        """The run's process groups by name: every child's, and the runner's own."""
        return {child.pid: child.name for child in self.children} | {os.getpgrp(): "bench runner"}

    def assert_alive(self) -> None:
        for child in self.children:
            if not child.alive:
                raise RuntimeError(f"{child.name} exited with code {child.returncode}; see {self.work_dir}")
        if self.broker is not None and self.broker.process.poll() is not None:
            raise RuntimeError("the broker exited")

    def stop_children(self) -> None:
        """SIGTERM every child at once (they stop in parallel), then reap each one."""
        for name in stop_all(self.children, STOP_GRACE_S):
            print(f"  {name} did not stop in time; killed it", file=sys.stderr)
        self.children.clear()


def _database_url(run_id: str) -> str:
    """The configured database server, with this run's own database name."""
    configured = os.environ.get("TICKETING_DATABASE_URL", Settings().database_url)
    url = make_url(configured).set(database=f"ticketing_bench_{run_id}")
    return url.render_as_string(hide_password=False)


def _stack_env(run_id: str, database_url: str) -> dict[str, str]:
    """Production-like settings, except the fake payment provider (how payments complete locally)."""
    return {
        **os.environ,
        "TICKETING_DATABASE_URL": database_url,
        "TICKETING_REDIS_KEY_PREFIX": f"bench:{run_id}:",
        "TICKETING_KAFKA_TOPIC_PREFIX": f"bench-{run_id}.",
        "TICKETING_API_HOST": "127.0.0.1",
        "TICKETING_LOG_LEVEL": "WARNING",
        "TICKETING_LOG_FORMAT": "json",
        "TICKETING_ENVIRONMENT": "development",  # the fake payment provider is development-only
        "TICKETING_FAKE_PAYMENTS_ENABLED": "true",
        "TICKETING_ADVANCER_TICK_MS": "100",
        # Fresh secrets per run, as in production: nothing signed with the dev secrets is accepted.
        "TICKETING_JWT_SECRET": secrets.token_hex(32),
        "TICKETING_PASS_TOKEN_SECRET": secrets.token_hex(32),
        "TICKETING_WEBHOOK_SECRET": secrets.token_hex(32),
    }


def _wait_ready(stack: Stack) -> None:
    """Until ``/readyz`` says the API reaches Redis, the database and the broker."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer"
    while time.monotonic() < deadline:
        stack.assert_alive()
        try:
            r = httpx.get(f"{stack.base_url}/readyz", timeout=2.0)
            if r.status_code == 200:
                return
            last = f"{r.status_code} {r.text[:200]}"
        except httpx.TransportError as exc:
            last = repr(exc)
        time.sleep(0.2)
    raise TimeoutError(f"the API was not ready within {READY_TIMEOUT_S} s: {last}")


@contextmanager
def running_stack(
    run_id: str, work_dir: Path, topology: str = "single", settings: dict[str, str] | None = None
) -> Iterator[Stack]:
    """Broker, migrated database, API and every worker; all stopped on exit.

    ``settings``: TICKETING_* variables over the production-like defaults.
    ``single``: one API process tree (``API_WORKERS`` server processes) and one copy of each
    worker on the shared Redis. ``cluster``: the topology of ``make cluster`` (a Redis Cluster
    of its own, API replicas behind HAProxy, two copies of every worker)."""
    if topology == "cluster":
        with _cluster_stack(run_id, work_dir, settings or {}) as stack:
            yield stack
        return
    database_url = _database_url(run_id)
    broker = start_broker()
    try:
        env = {
            **_stack_env(run_id, database_url),
            **(settings or {}),
            "TICKETING_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "TICKETING_API_PORT": str(free_port()),
        }
        stack = Stack(
            run_id=run_id,
            work_dir=work_dir,
            env=env,
            base_url=f"http://127.0.0.1:{env['TICKETING_API_PORT']}",
            database_url=database_url,
            redis_url=env.get("TICKETING_REDIS_URL", Settings().redis_url),
            redis_prefix=env["TICKETING_REDIS_KEY_PREFIX"],
            broker=broker,
        )
        try:
            stack.cli("migrate")
            # The CLI picks the HTTP server; the bench only says how many processes.
            api = cli_command("api", "--workers", str(API_WORKERS))
            stack.children.append(ChildProcess.spawn("api", api, work_dir / "api.log", env=env))
            for name in WORKERS:
                argv = cli_command("worker", name)
                port = free_port()
                stack.worker_metrics[name] = [f"http://127.0.0.1:{port}/metrics"]
                worker_env = {**env, "TICKETING_METRICS_PORT": str(port)}
                stack.children.append(ChildProcess.spawn(name, argv, work_dir / f"{name}.log", env=worker_env))
            _wait_ready(stack)
            yield stack
        finally:
            stack.stop_children()
    finally:
        broker.stop()


@contextmanager
def _cluster_stack(run_id: str, work_dir: Path, settings: dict[str, str]) -> Iterator[Stack]:
    database_url = _database_url(run_id)
    env = {**_stack_env(run_id, database_url), **settings}
    root = Path(tempfile.mkdtemp(prefix=f"ticketing-bench-cluster-{run_id}-"))
    topology = Topology(env, ClusterPorts.free(), root, log_dir=work_dir)
    try:
        topology.start()
        stack = Stack(
            run_id=run_id,
            work_dir=work_dir,
            env=topology.app_env,
            base_url=topology.base_url,
            database_url=database_url,
            redis_url=topology.redis.url,
            redis_prefix=env["TICKETING_REDIS_KEY_PREFIX"],
            broker=topology.broker,
            redis_cluster=True,
        )
        stack.worker_metrics = {
            name: [f"http://127.0.0.1:{port}/metrics" for port in ports]
            for name, ports in topology.ports.metrics.items()
        }
        # The Redis nodes count as the service too (CPU shares, liveness); the topology stops them.
        stack.children = [c.process for c in topology.children.values() if c.process is not None]
        stack.children += list(topology.redis.nodes.values())
        _wait_ready(stack)
        yield stack
    finally:
        topology.stop()
        shutil.rmtree(root, ignore_errors=True)


def database_connections() -> dict[str, int]:
    """The database server's connection limit and use; the server is shared, and the limit is per server."""

    async def go() -> dict[str, int]:
        engine = create_async_engine(make_url(_database_url("probe")).set(database=""), pool_size=1)
        try:
            async with engine.connect() as conn:
                limit = int((await conn.execute(sa.text("SHOW GLOBAL VARIABLES LIKE 'max_connections'"))).one()[1])
                used = int((await conn.execute(sa.text("SHOW GLOBAL STATUS LIKE 'Threads_connected'"))).one()[1])
        finally:
            await engine.dispose()
        return {"max_connections": limit, "connected": used}

    return asyncio.run(go())


def delete_data(stack: Stack) -> None:
    """Drop this run's database and delete its Redis keys (never FLUSHALL: the Redis is shared)."""
    asyncio.run(drop_database(stack.database_url))
    if stack.redis_cluster:
        return
    client = Redis.from_url(stack.redis_url)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{stack.redis_prefix}*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    finally:
        client.close()
