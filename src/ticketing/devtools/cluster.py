"""``ticketing cluster`` (``make cluster``): the scale-out topology on one machine.

A real Redis Cluster (three masters, each with a replica: ``redis-server`` in cluster mode
on loopback ports in a temp dir, joined by ``redis-cli --cluster create``), the local broker
with the topics created with several partitions, two or more API processes on ports of
their own behind HAProxy (the buyers' address, 127.0.0.1:8000 by default), and two copies of
every worker; the confirm consumers share one group. The app talks to Redis through
redis-py's cluster client (``TICKETING_REDIS_CLUSTER=true``). Ctrl-C stops everything.

``Topology`` is the same thing as a context manager, for the tests and the benchmark.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType

import httpx
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from redis import Redis

from ticketing.devtools.broker import LocalBroker, free_port, port_is_free, port_is_listening, start_broker
from ticketing.devtools.processes import ChildProcess, say, stop_all
from ticketing.devtools.supervisor import Child
from ticketing.domain.messages import CONFIRM_REQUESTED, REFUND_REQUESTED
from ticketing.settings import Settings
from ticketing.workers import WORKER_METRICS_PORTS, WORKER_NAMES

REDIS_MASTERS = 3
API_REPLICAS = 2
WORKER_COPIES = 2
TOPIC_PARTITIONS = 6
# Failure detection: a master silent this long is failed over to its replica.
CLUSTER_NODE_TIMEOUT_MS = 2000
READY_TIMEOUT_S = 60.0
APP_READY_TIMEOUT_S = 180.0
# A second copy of a worker serves /metrics this far above the registry's port.
COPY_PORT_STEP = 100
DEFAULT_BASE_PORT = 7000
CLUSTER_BUS_OFFSET = 10000  # redis-server listens for its cluster bus on port + 10000


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ticketing.cli", *args]


@dataclass(frozen=True)
class ClusterPorts:
    balancer: int
    api: tuple[int, ...]
    redis: tuple[int, ...]
    broker: int
    metrics: Mapping[str, tuple[int, ...]]

    @classmethod
    def starting_at(cls, base: int = DEFAULT_BASE_PORT, balancer: int = 8000) -> ClusterPorts:
        """Fixed ports, for ``make cluster``: Redis on base..base+5, the API replicas from
        base+10, the broker on base+20; each worker's copies on its registry port and that
        plus 100, 200..., moved by as much as ``base`` is from the default (7000)."""
        shift = base - DEFAULT_BASE_PORT
        return cls(
            balancer=balancer,
            api=tuple(base + 10 + i for i in range(API_REPLICAS)),
            redis=tuple(base + i for i in range(REDIS_MASTERS * 2)),
            broker=base + 20,
            metrics={
                name: tuple(port + shift + COPY_PORT_STEP * c for c in range(WORKER_COPIES))
                for name, port in WORKER_METRICS_PORTS.items()
            },
        )

    def all(self) -> list[int]:
        """Every port the topology listens on, the Redis nodes' cluster bus ports included."""
        nodes = [p for port in self.redis for p in (port, port + CLUSTER_BUS_OFFSET)]
        return [self.balancer, *self.api, *nodes, self.broker, *(p for ps in self.metrics.values() for p in ps)]

    @classmethod
    def free(cls) -> ClusterPorts:
        """Ports nobody uses now, for tests and the benchmark (which run beside ``make run``)."""
        return cls(
            balancer=free_port(),
            api=tuple(free_port() for _ in range(API_REPLICAS)),
            redis=free_cluster_ports(REDIS_MASTERS * 2),
            broker=free_port(),
            metrics={name: tuple(free_port() for _ in range(WORKER_COPIES)) for name in WORKER_NAMES},
        )


def app_env(env: Mapping[str, str], ports: ClusterPorts) -> dict[str, str]:
    """The environment every app process of the topology gets: ``env`` (database, prefixes,
    secrets) and where the topology's Redis Cluster and broker are."""
    return {
        **env,
        "TICKETING_REDIS_URL": f"redis://127.0.0.1:{ports.redis[0]}/0",
        "TICKETING_REDIS_CLUSTER": "true",
        "TICKETING_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{ports.broker}",
        "TICKETING_API_HOST": "127.0.0.1",
        "TICKETING_TRUSTED_PROXIES": '["127.0.0.1/32"]',
    }


def settings_from_env(env: Mapping[str, str]) -> Settings:
    """The settings an app process reads from ``env`` (JSON lists decoded as they would be)."""
    fields: dict[str, object] = {}
    for key, value in env.items():
        if key.startswith("TICKETING_"):
            fields[key.removeprefix("TICKETING_").lower()] = json.loads(value) if value.startswith("[") else value
    return Settings.model_validate(fields)


def free_cluster_ports(count: int) -> tuple[int, ...]:
    """Ports whose cluster bus port (+10000) is free too."""
    found: list[int] = []
    while len(found) < count:
        port = free_port()
        if port < 50000 and port not in found and port_is_free(port + CLUSTER_BUS_OFFSET):
            found.append(port)
    return tuple(found)


@dataclass(frozen=True)
class ProcessSpec:
    """One process of the app tier: an API replica or one copy of a worker."""

    name: str
    argv: list[str]
    env: dict[str, str]
    worker: str | None = None


def plan_processes(ports: ClusterPorts) -> list[ProcessSpec]:
    """The API replicas, then every worker of the registry in ``WORKER_COPIES`` copies."""
    plan = [
        ProcessSpec(f"api-{i + 1}", cli("api"), {"TICKETING_API_PORT": str(port)}) for i, port in enumerate(ports.api)
    ]
    for name in WORKER_NAMES:
        for copy, port in enumerate(ports.metrics[name]):
            plan.append(
                ProcessSpec(f"{name}-{copy + 1}", cli("worker", name), {"TICKETING_METRICS_PORT": str(port)}, name)
            )
    return plan


def haproxy_config(ports: ClusterPorts) -> str:
    """HAProxy in front of the API replicas: a dead or hung replica leaves the rotation within
    about three seconds (its connections refused at once are retried on the other replica
    meanwhile); a request is retried elsewhere only when its connection could not be made,
    never after it was sent (a hold is not sent twice). The check asks /healthz, not /readyz:
    a replica whose Redis or database is down answers 503 + Retry-After itself, and a
    /readyz slowed by a stampede must not take every replica out at once."""
    servers = "\n".join(f"    server api-{i + 1} 127.0.0.1:{port} check" for i, port in enumerate(ports.api))
    return f"""global
    maxconn 8000

defaults
    mode http
    option forwardfor
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    retries 2
    option redispatch

frontend sale
    bind 127.0.0.1:{ports.balancer}
    default_backend api

backend api
    balance leastconn
    option httpchk GET /healthz
    http-check expect status 200
    timeout check 2s
    default-server inter 1s fall 3 rise 2
{servers}
"""


class RedisClusterNodes:
    """Six ``redis-server`` processes in cluster mode, three masters with one replica each."""

    def __init__(self, root: Path, ports: Sequence[int]) -> None:
        self.root = root
        self.ports = tuple(ports)
        self.nodes: dict[int, ChildProcess] = {}

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start_node(self, port: int) -> None:
        node_dir = self.root / f"redis-{port}"
        node_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            "redis-server",
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(node_dir),
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(CLUSTER_NODE_TIMEOUT_MS),
            "--save", "",
            "--appendonly", "no",
        ]  # fmt: skip
        self.nodes[port] = ChildProcess.spawn(f"redis-{port}", argv, self.root / f"redis-{port}.log")

    def start(self) -> None:
        for port in self.ports:
            self.start_node(port)
        for port in self.ports:
            _until(partial(self.answers, port), f"redis {port} did not answer")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        done = subprocess.run(
            ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "1", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{done.stdout}\n{done.stderr}")
        _until(self.healthy, "the Redis Cluster did not reach cluster_state:ok on every node")

    def answers(self, port: int) -> bool:
        with self.client(port) as r:
            return bool(r.ping())

    def client(self, port: int) -> Redis:
        return Redis(host="127.0.0.1", port=port, socket_timeout=2, socket_connect_timeout=2)

    def healthy(self) -> bool:
        """Every node says ok, and every node knows three masters with a replica each."""
        for port in self.ports:
            with self.client(port) as r:
                info = r.execute_command("CLUSTER", "INFO")
                if b"cluster_state:ok" not in (info if isinstance(info, bytes) else str(info).encode()):
                    return False
                if len(self.topology(port)["masters"]) != REDIS_MASTERS:
                    return False
        return True

    def topology(self, port: int | None = None) -> dict[str, dict[int, int | None]]:
        """As one node sees it: ``masters`` {port: None}, ``replicas`` {port: its master's port}."""
        with self.client(port or self.alive_port()) as r:
            raw = r.execute_command("CLUSTER", "NODES")
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        ids: dict[str, int] = {}
        rows = [line.split() for line in text.splitlines() if line.strip()]
        for row in rows:
            ids[row[0]] = int(row[1].split("@")[0].rsplit(":", 1)[1])
        masters: dict[int, int | None] = {}
        replicas: dict[int, int | None] = {}
        for row in rows:
            flags, port_of = row[2].split(","), ids[row[0]]
            if "fail" in flags or "fail?" in flags:
                continue
            if "master" in flags and len(row) > 8:  # a master that serves slots
                masters[port_of] = None
            elif "slave" in flags:
                replicas[port_of] = ids.get(row[3])
        return {"masters": masters, "replicas": replicas}

    def alive_port(self) -> int:
        return next(port for port, node in self.nodes.items() if node.alive)

    def master_of(self, key: str) -> int:
        """The port of the master serving ``key``'s slot."""
        with self.client(self.alive_port()) as r:
            slot = int(r.execute_command("CLUSTER", "KEYSLOT", key))
            for start, end, master, *_ in r.execute_command("CLUSTER", "SLOTS"):
                if int(start) <= slot <= int(end):
                    return int(master[1])
        raise LookupError(f"no master serves slot {slot}")

    def fail_over(self, master: int, timeout_s: float = 30.0) -> int:
        """``CLUSTER FAILOVER`` on ``master``'s replica; returns the replica's port once it is master."""
        replica = next(p for p, m in self.topology()["replicas"].items() if m == master)
        with self.client(replica) as r:
            r.execute_command("CLUSTER", "FAILOVER")
        _until(lambda: replica in self.topology(replica)["masters"], "the failover did not complete", timeout_s)
        return replica

    def stop(self) -> None:
        stop_all(self.nodes.values(), grace_s=5.0)


def _until(check: Callable[[], object], message: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # a node still starting, a gossip still spreading
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{message} within {timeout_s:g} s" + (f" (last: {last!r})" if last else ""))


async def create_topics(bootstrap_servers: str, prefix: str, partitions: int = TOPIC_PARTITIONS) -> None:
    """The consumed topics with ``partitions`` partitions each, before anything auto-creates them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        topics = [NewTopic(prefix + t, partitions, 1) for t in (CONFIRM_REQUESTED, REFUND_REQUESTED)]
        await admin.create_topics(topics)
    finally:
        await admin.close()


@dataclass
class Topology:
    """The whole topology, started by ``start()`` and stopped by ``stop()``.

    ``env`` is the environment every app process gets (database, prefixes, secrets); the
    topology adds Redis, the broker and the ports. ``log_dir`` set: each process logs to
    ``<log_dir>/<name>.log``; unset: output is relayed to this terminal, name-prefixed.
    """

    env: dict[str, str]
    ports: ClusterPorts
    root: Path
    log_dir: Path | None = None
    redis: RedisClusterNodes = field(init=False)
    broker: LocalBroker | None = None
    children: dict[str, Child] = field(default_factory=dict)
    demo: str = ""

    def __post_init__(self) -> None:
        self.redis = RedisClusterNodes(self.root, self.ports.redis)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.balancer}"

    @property
    def app_env(self) -> dict[str, str]:
        return app_env(self.env, self.ports)

    @property
    def settings(self) -> Settings:
        return settings_from_env(self.app_env)

    def _log(self, name: str) -> Path | None:
        return None if self.log_dir is None else self.log_dir / f"{name}.log"

    def start(self, seed_demo: bool = False) -> None:
        self.redis.start()
        self.broker = start_broker(self.ports.broker)
        asyncio.run(create_topics(self.broker.bootstrap_servers, self.env.get("TICKETING_KAFKA_TOPIC_PREFIX", "")))
        for step in (["migrate"], ["seed-demo"]) if seed_demo else (["migrate"],):
            done = subprocess.run(
                cli(*step), env=self.app_env, capture_output=True, text=True, timeout=120, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"ticketing {step[0]} failed:\n{done.stdout}\n{done.stderr}")
            if step == ["seed-demo"]:
                self.demo = done.stdout.strip()
        now = time.monotonic()
        for spec in plan_processes(self.ports):
            child = Child(
                spec.name,
                spec.argv,
                {**self.app_env, **spec.env},
                log_path=self._log(spec.name),
                launcher="ticketing cluster",
            )
            child.start(now)
            self.children[spec.name] = child
        config = self.root / "haproxy.cfg"
        config.write_text(haproxy_config(self.ports))
        balancer = Child(
            "haproxy",
            ["haproxy", "-db", "-f", str(config)],
            dict(os.environ),
            self._log("lb"),
            launcher="ticketing cluster",
        )
        balancer.start(now)
        self.children["haproxy"] = balancer
        # Sixteen Python processes start at once: on two busy cores that takes a while.
        _until(self._every_replica_ready, "the API replicas were not ready behind the balancer", APP_READY_TIMEOUT_S)

    def _every_replica_ready(self) -> bool:
        for name, child in self.children.items():
            if child.process is None or not child.process.alive:
                raise RuntimeError(f"{name} exited with code {child.process and child.process.returncode}")
        urls = [f"http://127.0.0.1:{port}/readyz" for port in self.ports.api] + [f"{self.base_url}/readyz"]
        return all(httpx.get(url, timeout=2.0).status_code == 200 for url in urls)

    def process(self, name: str) -> ChildProcess:
        child = self.children[name].process
        assert child is not None, f"{name} is not running"
        return child

    def kill(self, name: str) -> None:
        """SIGKILL one process of the app tier (its whole group), as a crash would."""
        self.process(name).kill()
        self.children[name].process = None

    def poll(self) -> None:
        """Restart, with backoff, what died (the interactive launcher calls this)."""
        now = time.monotonic()
        for child in self.children.values():
            child.poll(now)

    def stop(self) -> None:
        stop_all([c.process for c in self.children.values() if c.process is not None])
        self.children.clear()
        if self.broker is not None:
            self.broker.stop()
        self.redis.stop()


@contextmanager
def running_topology(env: dict[str, str], log_dir: Path | None = None, seed_demo: bool = False) -> Iterator[Topology]:
    """A topology on free ports in a temp dir; everything stopped and the dir removed on exit."""
    root = Path(tempfile.mkdtemp(prefix="ticketing-cluster-"))
    topology = Topology(env, ClusterPorts.free(), root, log_dir or root)
    try:
        topology.start(seed_demo)
        yield topology
    finally:
        topology.stop()
        shutil.rmtree(root, ignore_errors=True)


def _banner(topology: Topology) -> str:
    ports = topology.ports
    workers = ", ".join(f"{name} x{WORKER_COPIES}" for name in WORKER_NAMES)
    return f"""
  Ticketing cluster is running (Ctrl-C stops everything).
    Balancer   {topology.base_url}/api/v1/events   (HAProxy -> API {", ".join(map(str, ports.api))})
    Redis      Cluster on 127.0.0.1:{ports.redis[0]}-{ports.redis[-1]} (3 masters, 3 replicas)
    Broker     127.0.0.1:{ports.broker}   topics with {TOPIC_PARTITIONS} partitions
    Workers    {workers}
    Demo       {topology.demo}

  The same walk-through as `make run`, against {topology.base_url}; the bench: BENCH_TOPOLOGY=cluster make bench
"""


def run_cluster(settings: Settings, base_port: int = DEFAULT_BASE_PORT) -> int:
    """Runs the topology until SIGINT/SIGTERM; a dead API replica or worker is restarted.
    ``base_port`` places every port but the balancer's (``TICKETING_API_PORT``)."""
    stopping = False

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    for tool in ("redis-server", "redis-cli", "haproxy"):
        if shutil.which(tool) is None:
            say(
                f"ticketing cluster: {tool} is missing (make cluster installs it: apt-get install redis-server haproxy)"
            )
            return 1
    env = {
        **os.environ,
        "TICKETING_ENVIRONMENT": settings.environment.value,
        "TICKETING_DATABASE_URL": settings.database_url,
        "TICKETING_REDIS_KEY_PREFIX": settings.redis_key_prefix,
    }
    root = Path(tempfile.mkdtemp(prefix="ticketing-cluster-"))
    ports = ClusterPorts.starting_at(base_port, settings.api_port)
    busy = [port for port in ports.all() if port_is_listening(port)]
    if busy:
        say(f"ticketing cluster: ports in use: {', '.join(map(str, busy[:10]))} (choose others with --base-port)")
        return 1
    topology = Topology(env, ports, root)
    try:
        topology.start(seed_demo=True)
        say(_banner(topology), sys.stdout)
        while not stopping:
            topology.poll()
            time.sleep(0.2)
        return 0
    finally:
        topology.stop()
        shutil.rmtree(root, ignore_errors=True)
