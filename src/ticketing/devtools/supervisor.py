"""``ticketing dev``: broker + migrations + demo data + API + every worker, stopped together."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from ticketing.bootstrap import open_resources
from ticketing.devtools.broker import LocalBroker, port_is_free, start_broker
from ticketing.devtools.demo import seed_demo
from ticketing.settings import Settings

WORKERS = ("queue-advancer", "hold-expirer", "outbox-relay", "confirm-consumer", "refunder")
STOP_GRACE_S = 8.0
# deploy/prometheus/prometheus.yml scrapes 9101-9105: keep this base and the WORKERS order in step with it.
WORKER_METRICS_BASE_PORT = 9101


def _port_of(bootstrap_servers: str) -> int:
    return int(bootstrap_servers.split(",", maxsplit=1)[0].rsplit(":", 1)[1])


def _metrics_ports() -> dict[str, int]:
    """Each worker's /metrics port; 0 (off) where the port is taken, so one busy port does not stop the rest."""
    ports = {}
    for i, name in enumerate(WORKERS):
        port = WORKER_METRICS_BASE_PORT + i
        ports[name] = port if port_is_free(port) else 0
    return ports


def _stop_all(children: list[subprocess.Popen[bytes]], broker: LocalBroker | None) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
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
    stopping = False

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    port = _port_of(settings.kafka_bootstrap_servers)
    broker = start_broker(port if port_is_free(port) else None)
    env = {**os.environ, "TICKETING_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers}
    settings = settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap_servers})
    children: list[subprocess.Popen[bytes]] = []
    try:
        schedule_id = asyncio.run(_prepare(settings))
        cmd = [sys.executable, "-m", "ticketing.cli"]
        children.append(subprocess.Popen([*cmd, "api"], env=env))
        metrics_ports = _metrics_ports()
        children.extend(
            subprocess.Popen([*cmd, "worker", name], env={**env, "TICKETING_METRICS_PORT": str(port)})
            for name, port in metrics_ports.items()
        )
        print(_banner(settings, schedule_id, metrics_ports), flush=True)
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    print(f"a child process exited with code {child.returncode}; stopping", file=sys.stderr)
                    return 1
            if broker.process.poll() is not None:
                print("the broker exited; stopping", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        _stop_all(children, broker)
