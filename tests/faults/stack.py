"""The real service as subprocesses (API + every worker) against a test's private instances.

``open_stack()`` starts a private MariaDB, Redis and broker (``instances.py``), migrates the
database with the CLI, then starts ``ticketing api`` (granian, one process) and one
``ticketing worker NAME`` per name in ``ticketing.workers.runner.WORKERS`` (a worker added
there is picked up here without a change), and waits until ``GET /readyz`` answers 200::

    with open_stack() as stack:
        stack.kill("confirm-consumer")      # SIGKILL by pid: a crash mid-message
        stack.start_process("confirm-consumer")
        stack.pause("outbox-relay"); stack.resume("outbox-relay")
        stack.db.kill(); stack.db.start()   # the private instances are stack.db/.redis/.broker
        stack.redis.restart(wipe=True)
        stack.broker.restart()              # back EMPTY: every topic and offset lost
        await stack.api_metric("ticketing_db_transaction_retries_total")  # the API's /metrics

``open_stack(process_env={"hold-expirer": {...}})`` gives one worker (every copy of it)
settings or an environment of its own: a skewed clock (``clock.py``), another timer.

Each process leads its own process group (the API's forked worker dies with it) and logs to
``<work dir>/<name>.log``; ``log_tails()`` gathers the ends of every log for a failure report.
Only processes this module started are ever signalled, by their pid.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.faults.instances import (
    STOP_GRACE_S,
    ChildProcess,
    PrivateBroker,
    PrivateMariaDB,
    PrivateRedis,
    PrivateService,
    keep_dirs,
    start_all,
    tail,
)
from ticketing.devtools.broker import free_port
from ticketing.settings import Settings

DATABASE = "ticketing"
API = "api"
READY_TIMEOUT_S = 60.0
MIGRATE_TIMEOUT_S = 120.0
CHECK_TIMEOUT_S = 60.0
PYCACHE_DIR = Path(tempfile.gettempdir()) / "ticketing-faults" / "pycache"


def worker_names() -> list[str]:
    """Every background worker the service has, from its own registry."""
    from ticketing.workers.runner import WORKERS

    return list(WORKERS)


def cli_argv(*args: str) -> list[str]:
    """``ticketing <args>`` in this environment (what ``uv run ticketing`` runs)."""
    return [sys.executable, "-m", "ticketing.cli", *args]


def service_env(db: PrivateMariaDB, redis: PrivateRedis, broker: PrivateBroker, api_port: int) -> dict[str, str]:
    """Settings for every process of the stack: the private instances, short timers, fresh secrets."""
    return {
        "TICKETING_DATABASE_URL": db.url(DATABASE),
        "TICKETING_REDIS_URL": redis.url,
        "TICKETING_REDIS_KEY_PREFIX": "faults:",
        "TICKETING_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "TICKETING_KAFKA_TOPIC_PREFIX": "faults.",
        "TICKETING_API_HOST": "127.0.0.1",
        "TICKETING_API_PORT": str(api_port),
        "TICKETING_LOG_FORMAT": "json",
        "TICKETING_LOG_LEVEL": "WARNING",
        "TICKETING_CONSUMER_SESSION_TIMEOUT_MS": "2000",
        "TICKETING_ADVANCER_TICK_MS": "100",
        "TICKETING_RELAY_POLL_S": "0.2",
        "TICKETING_ENVIRONMENT": "development",  # the fake payment provider is development-only
        "TICKETING_FAKE_PAYMENTS_ENABLED": "true",
        "TICKETING_METRICS_PORT": "0",
        # Fresh per stack, as in production: nothing signed elsewhere is accepted here.
        "TICKETING_JWT_SECRET": secrets.token_hex(32),
        "TICKETING_PASS_TOKEN_SECRET": secrets.token_hex(32),
        "TICKETING_WEBHOOK_SECRET": secrets.token_hex(32),
    }


@dataclass(frozen=True)
class CheckReport:
    """``ticketing check --json``: the violations (``invariant``, ``detail``) and what was checked."""

    schedule_id: int
    exit_code: int
    violations: list[dict[str, str]]
    checked: dict[str, int]

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.violations

    def by_invariant(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for v in self.violations:
            counts[v["invariant"]] = counts.get(v["invariant"], 0) + 1
        return counts


@dataclass
class Stack:
    """API + workers as child processes, and the private instances they use.

    Process names are ``"api"`` and the worker names (``stack.names``); ``add_worker()``
    starts further copies, named ``"<worker>#2"`` and so on.
    """

    work_dir: Path
    db: PrivateMariaDB
    redis: PrivateRedis
    broker: PrivateBroker
    env: dict[str, str]
    processes: dict[str, ChildProcess] = field(default_factory=dict)
    argvs: dict[str, list[str]] = field(default_factory=dict)
    # Per process (by worker name, so "confirm-consumer#2" too): added on top of child_env().
    process_env: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['TICKETING_API_PORT']}"

    @property
    def settings(self) -> Settings:
        """The service's settings, as its processes read them from ``env``."""
        env = self.child_env()
        fields = {k.removeprefix("TICKETING_").lower(): v for k, v in env.items() if k.startswith("TICKETING_")}
        return Settings.model_validate(fields)

    @property
    def names(self) -> list[str]:
        return list(self.argvs)

    @property
    def instances(self) -> list[PrivateService]:
        return [self.db, self.redis, self.broker]

    def child_env(self) -> dict[str, str]:
        """The environment of every process of the stack. Bytecode is cached for them, apart
        from the source tree (``PYTHONPYCACHEPREFIX``), also where ``PYTHONDONTWRITEBYTECODE``
        is set: compiling every import again costs a restarted worker ~4 s of CPU here
        instead of ~2, which on two cores starves the API the fault test is watching."""
        env = {**os.environ, "PYTHONPYCACHEPREFIX": str(PYCACHE_DIR), **self.env}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    # -- processes -----------------------------------------------------------------------

    def migrate(self) -> None:
        """``ticketing migrate``: create the database and apply every Alembic migration."""
        done = subprocess.run(
            cli_argv("migrate"),
            env=self.child_env(),
            capture_output=True,
            text=True,
            timeout=MIGRATE_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ticketing migrate failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def start(self, ready_timeout_s: float = READY_TIMEOUT_S) -> None:
        """Migrate, start the API and every worker, wait until ``/readyz`` is 200."""
        self.migrate()
        self.argvs.setdefault(API, cli_argv("api"))
        for name in worker_names():
            self.argvs.setdefault(name, cli_argv("worker", name))
        for name in self.argvs:
            self.start_process(name, wait=False)
        self.wait_ready(ready_timeout_s)

    def add_worker(self, worker: str) -> str:
        """Start one more copy of ``worker`` (every worker is safe in many copies); returns its name."""
        n = 2
        while f"{worker}#{n}" in self.argvs:
            n += 1
        name = f"{worker}#{n}"
        self.argvs[name] = cli_argv("worker", worker)
        self.start_process(name)
        return name

    def process(self, name: str) -> ChildProcess:
        if name not in self.processes:
            raise KeyError(f"no process {name!r}; the stack runs {self.names}")
        return self.processes[name]

    def pid(self, name: str) -> int | None:
        child = self.processes.get(name)
        return child.pid if child is not None and child.alive else None

    def alive(self, name: str) -> bool:
        child = self.processes.get(name)
        return child is not None and child.alive

    def start_process(self, name: str, wait: bool = True) -> None:
        """Start ``name`` (again); with ``wait``, for the API: until ``/readyz`` is 200."""
        if self.alive(name):
            return
        log = self.work_dir / f"{name.replace('#', '-')}.log"
        env = {**self.child_env(), **self.process_env.get(name.split("#", maxsplit=1)[0], {})}
        self.processes[name] = ChildProcess.spawn(name, self.argvs[name], log, env=env)
        if wait and name == API:
            self.wait_ready()

    def stop_process(self, name: str, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM (a graceful shutdown), SIGKILL after ``grace_s``."""
        self.process(name).stop(grace_s)

    def kill(self, name: str) -> None:
        """SIGKILL ``name``: a crash, with whatever it was doing left half done."""
        self.process(name).kill()

    def pause(self, name: str) -> None:
        """SIGSTOP ``name``: alive but frozen (its broker session and leases run out)."""
        self.process(name).pause()

    def resume(self, name: str) -> None:
        self.process(name).resume()

    def restart(self, name: str, crash: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL with ``crash``) and start ``name`` again."""
        if crash:
            self.kill(name)
        else:
            self.stop_process(name)
        self.start_process(name)

    async def arestart(self, name: str, crash: bool = False) -> None:
        await asyncio.to_thread(self.restart, name, crash)

    async def astart_process(self, name: str) -> None:
        await asyncio.to_thread(self.start_process, name)

    def exited(self) -> dict[str, int]:
        """Processes that exited by themselves or were killed, with their exit codes."""
        codes = {n: c.returncode for n, c in self.processes.items()}
        return {n: code for n, code in codes.items() if code is not None}

    def stop(self) -> None:
        """SIGTERM every process at once, then SIGKILL whatever is left after the grace period."""
        for child in self.processes.values():
            child.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for child in self.processes.values():
            child.finish(deadline)

    # -- readiness and checks ------------------------------------------------------------

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll ``GET /readyz`` until 200 (Redis, database and broker answer the API)."""
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            api = self.processes.get(API)
            if api is None or not api.alive:
                raise RuntimeError(f"the API is not running (exit {api.returncode if api else None})")
            try:
                r = httpx.get(f"{self.base_url}/readyz", timeout=2.0)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:300]}"
            except httpx.TransportError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise TimeoutError(f"/readyz not 200 within {timeout_s} s (last: {last})")

    async def await_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        await asyncio.to_thread(self.wait_ready, timeout_s)

    async def cli(self, *args: str, timeout_s: float = CHECK_TIMEOUT_S) -> tuple[int, str, str]:
        """Run ``ticketing <args>`` with the stack's settings; (exit code, stdout, stderr)."""
        proc = await asyncio.create_subprocess_exec(
            *cli_argv(*args),
            env=self.child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            async with asyncio.timeout(timeout_s):
                out, err = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        return int(proc.returncode or 0), out.decode(), err.decode()

    async def check(self, schedule_id: int, grace_s: float = 0.0) -> CheckReport:
        """``ticketing check --schedule S --json --grace-s G``; raises if it could not check."""
        code, out, err = await self.cli("check", "--schedule", str(schedule_id), "--json", "--grace-s", str(grace_s))
        try:
            document: dict[str, Any] = json.loads(out)
        except json.JSONDecodeError:
            raise RuntimeError(f"ticketing check failed (exit {code}):\n{out}\n{err}") from None
        return CheckReport(schedule_id, code, list(document.get("violations", [])), dict(document.get("checked", {})))

    def engine(self) -> AsyncEngine:
        """A small engine on the private database (direct reads, never through the service)."""
        return create_async_engine(self.db.url(DATABASE), pool_size=2, max_overflow=0, pool_pre_ping=True)

    async def db_rows(self, query: sa.TextClause, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of one query on the private database, read directly."""
        engine = self.engine()
        try:
            async with engine.connect() as conn:
                return [tuple(row) for row in (await conn.execute(query, dict(params or {}))).all()]
        finally:
            await engine.dispose()

    async def api_metrics(self) -> list[Sample]:
        """Every sample of the API's ``GET /metrics`` (Prometheus text format)."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as client:
            r = await client.get("/metrics")
            r.raise_for_status()
        return [sample for family in text_string_to_metric_families(r.text) for sample in family.samples]

    async def api_metric(self, name: str, **labels: str) -> float:
        """The sum of the API's samples named ``name`` whose labels include ``labels``."""
        return sum(
            s.value
            for s in await self.api_metrics()
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    async def api_5xx(self) -> dict[str, int]:
        """Requests the API answered with a 5xx, by "METHOD route status" (from its own
        request histogram: also the webhook calls the payment provider makes in-process)."""
        counts: dict[str, int] = {}
        for s in await self.api_metrics():
            if s.name == "ticketing_http_request_duration_seconds_count" and s.labels.get("status", "").startswith("5"):
                key = f"{s.labels.get('method')} {s.labels.get('route')} {s.labels['status']}"
                counts[key] = counts.get(key, 0) + int(s.value)
        return dict(sorted(counts.items()))

    def log_tails(self, lines: int = 30) -> str:
        """The last lines of every process's and instance's log, for a failure report."""
        parts = []
        for name, child in self.processes.items():
            state = "running" if child.alive else f"exited {child.returncode}"
            log = self.work_dir / f"{name.replace('#', '-')}.log"
            parts.append(f"--- {name} (pid {child.pid}, {state}) {log}\n{tail(log, lines)}")
        for inst in self.instances:
            parts.append(f"--- {inst.kind} {inst!r} {inst.log_path}\n{tail(inst.log_path, lines)}")
        return "\n".join(parts)


@contextmanager
def open_stack(
    env: Mapping[str, str] | None = None,
    start: bool = True,
    process_env: Mapping[str, Mapping[str, str]] | None = None,
) -> Iterator[Stack]:
    """Private instances + the whole service, all stopped and removed on exit.

    ``env`` overrides or adds ``TICKETING_*`` settings (e.g. ``{"TICKETING_RELAY_LEASE_S": "3"}``);
    ``process_env`` adds variables for one process name only (``{"hold-expirer": {...}}``).
    With ``start=False`` only the instances run; call ``stack.start()`` yourself.
    """
    work_dir = Path(tempfile.mkdtemp(prefix="faults-stack-"))
    db = PrivateMariaDB(work_dir / "mariadb")
    redis = PrivateRedis(work_dir / "redis")
    broker = PrivateBroker(work_dir / "broker")
    stack = Stack(work_dir, db, redis, broker, {})
    stack.process_env = {name: dict(extra) for name, extra in (process_env or {}).items()}
    try:
        start_all(stack.instances)
        stack.env = {**service_env(db, redis, broker, free_port()), **(env or {})}
        if start:
            stack.start()
        yield stack
    except BaseException:
        # Shown by pytest with the failure; the directory is gone afterwards.
        print(f"fault stack logs ({work_dir}):\n{stack.log_tails()}", file=sys.stderr)
        raise
    finally:
        try:
            for inst in stack.instances:
                inst.resume()  # a paused database would hold up every graceful shutdown
            stack.stop()
        finally:
            for inst in stack.instances:
                inst.stop()
            if not keep_dirs():
                shutil.rmtree(work_dir, ignore_errors=True)
