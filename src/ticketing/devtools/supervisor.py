"""``ticketing dev``: broker, migrations, demo data, API and workers; dead children restart, a signal stops all.

Each child's output comes through this process, one whole line at a time with the child's
name in front (``processes.LineRelay``), so several processes on one terminal stay readable.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from ticketing.bootstrap import open_resources
from ticketing.devtools.broker import LocalBroker, port_is_free, start_broker
from ticketing.devtools.demo import seed_demo
from ticketing.devtools.processes import ChildProcess, say, stop_all
from ticketing.settings import Settings
from ticketing.workers import WORKER_METRICS_PORTS, WORKER_NAMES

WORKERS = WORKER_NAMES
STOP_GRACE_S = 8.0
POLL_INTERVAL_S = 0.2
# As an orchestrator would: a crash-looping child costs a restart every 10 s at most,
# while a child that crashes once after a long healthy run comes back quickly.
RESTART_BACKOFF_INITIAL_S = 0.5
RESTART_BACKOFF_MAX_S = 10.0
RESTART_STABLE_AFTER_S = 30.0


@dataclass
class Child:
    """One supervised child process: restarted with exponential backoff whenever it exits.

    Time is passed in (``now``, monotonic seconds) rather than read, so a test can drive
    the backoff with a real short-lived process and no long sleeps.
    """

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path | None = None  # None: output relayed to this terminal, name-prefixed
    launcher: str = "ticketing dev"
    backoff_initial_s: float = RESTART_BACKOFF_INITIAL_S
    backoff_max_s: float = RESTART_BACKOFF_MAX_S
    stable_after_s: float = RESTART_STABLE_AFTER_S
    process: ChildProcess | None = None
    restarts: int = 0
    next_start_at: float | None = None
    started_at: float = 0.0
    last_exit_code: int | None = None
    backoff_s: float = field(init=False)

    def __post_init__(self) -> None:
        self.backoff_s = self.backoff_initial_s

    def start(self, now: float) -> None:
        """Starts the process now; a restart is scheduled only by ``poll`` seeing it exit."""
        self.process = ChildProcess.spawn(self.name, self.argv, self.log_path, env=self.env)
        self.started_at = now
        self.next_start_at = None

    def poll(self, now: float) -> None:
        """Notices an exit (schedules a restart, counted and logged) or starts a due restart."""
        if self.process is None:
            if self.next_start_at is not None and now >= self.next_start_at:
                self.start(now)
            return
        code = self.process.returncode
        if code is None:
            return
        self.process = None
        self.last_exit_code = code
        if now - self.started_at >= self.stable_after_s:
            self.backoff_s = self.backoff_initial_s
        delay_s = self.backoff_s
        self.backoff_s = min(self.backoff_s * 2, self.backoff_max_s)
        self.restarts += 1
        self.next_start_at = now + delay_s
        say(f"{self.launcher}: {self.name} exited with code {code}; restart {self.restarts} in {delay_s:g} s")


def _port_of(bootstrap_servers: str) -> int:
    return int(bootstrap_servers.split(",", maxsplit=1)[0].rsplit(":", 1)[1])


def _metrics_ports() -> dict[str, int]:
    """Each worker's /metrics port; 0 (off) where the port is taken, so one busy port does not stop the rest."""
    ports = {}
    for name, port in WORKER_METRICS_PORTS.items():
        ports[name] = port if port_is_free(port) else 0
    return ports


def _restart_summary(children: list[Child]) -> str:
    counts = ", ".join(f"{child.name} {child.restarts}" for child in children)
    return f"ticketing dev: restarts: {counts}"


def _stop_all(children: list[ChildProcess], broker: LocalBroker | None) -> None:
    stop_all(children, STOP_GRACE_S)
    if broker is not None:
        broker.stop()


async def _prepare(settings: Settings) -> str:
    from ticketing.adapters.sql.database import migrate

    await migrate(settings.database_url)
    async with open_resources(settings) as res:
        schedule = await seed_demo(res)
        return str(schedule.id)


def _banner(settings: Settings, schedule_id: str, metrics_ports: dict[str, int]) -> str:
    base = f"http://{settings.api_host}:{settings.api_port}"
    workers = "\n".join(
        ("    Workers    " if i == 0 else " " * 15)
        + f"{name:<17}"
        + (f"http://{settings.api_host}:{port}/metrics" if port else "metrics off (port taken)")
        for i, (name, port) in enumerate(metrics_ports.items())
    )
    return f"""
  Ticketing is running (Ctrl-C stops everything).
    Buy        {base}/            (sign in with any name; the demo sale is open)
    API        {base}/api/v1/events
    Docs       {base}/docs
    Health     {base}/readyz      Metrics {base}/metrics
{workers}
    Broker     {settings.kafka_bootstrap_servers}
    Demo       schedule {schedule_id} (sale open)

  Try it:
    TOKEN=$(uv run ticketing token --user alice)
    curl -s -X POST -H "Authorization: Bearer $TOKEN" {base}/api/v1/schedules/{schedule_id}/queue
    curl -s -H "Authorization: Bearer $TOKEN" {base}/api/v1/schedules/{schedule_id}/queue
"""


def run_dev(settings: Settings) -> int:
    """Runs everything until SIGINT/SIGTERM (exit 0); the API and workers restart when they die.

    The broker is not restarted: it keeps its data in memory only, so a silent restart
    would hide the loss. Its death stops everything with exit code 1.
    """
    stopping = False

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    port = _port_of(settings.kafka_bootstrap_servers)
    broker = start_broker(port if port_is_free(port) else None)
    # `ticketing dev` is the explicit request for development mode (unless the environment
    # says otherwise): its API and workers may run on the built-in secrets and the fake provider.
    env = {
        **os.environ,
        "TICKETING_ENVIRONMENT": settings.environment.value,
        "TICKETING_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
    }
    settings = settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap_servers})
    children: list[Child] = []
    try:
        schedule_id = asyncio.run(_prepare(settings))
        cmd = [sys.executable, "-m", "ticketing.cli"]
        children.append(Child("api", [*cmd, "api"], env))
        metrics_ports = _metrics_ports()
        children.extend(
            Child(name, [*cmd, "worker", name], {**env, "TICKETING_METRICS_PORT": str(port)})
            for name, port in metrics_ports.items()
        )
        for child in children:
            child.start(time.monotonic())
        say(_banner(settings, schedule_id, metrics_ports), sys.stdout)
        while not stopping:
            # The broker first: its death takes consumers down with it, and those are not worth restarting.
            if broker.process.poll() is not None:
                say("ticketing dev: the broker exited; stopping (its data was in memory only)")
                return 1
            for child in children:
                # A signal can land mid-loop: no child is restarted once stopping has begun.
                if stopping:
                    break
                child.poll(time.monotonic())
            time.sleep(POLL_INTERVAL_S)
        return 0
    finally:
        _stop_all([child.process for child in children if child.process is not None], broker)
        if children:
            say(_restart_summary(children))
