"""One registry of workers (``ticketing.workers.WORKER_NAMES``): every name can be run, every
runnable worker is on it, and every launcher starts exactly those (the compose and Prometheus
files are checked against it in test_deployment.py)."""

import argparse

from bench import stack as bench_stack
from tests.faults.stack import worker_names as fault_suite_workers
from ticketing import cli
from ticketing.devtools import cluster, supervisor
from ticketing.workers import WORKER_METRICS_PORTS, WORKER_NAMES
from ticketing.workers.runner import WORKERS


def test_the_worker_list_names_exactly_the_runnable_workers() -> None:
    assert tuple(WORKERS) == WORKER_NAMES
    assert tuple(WORKER_METRICS_PORTS) == WORKER_NAMES
    assert len(set(WORKER_METRICS_PORTS.values())) == len(WORKER_NAMES)


def test_the_cli_accepts_exactly_the_registered_workers() -> None:
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    worker = commands.choices["worker"]
    name = next(a for a in worker._actions if a.dest == "name")
    assert tuple(name.choices or ()) == WORKER_NAMES


def test_every_launcher_starts_the_registered_workers() -> None:
    assert supervisor.WORKERS == WORKER_NAMES
    assert bench_stack.WORKERS == WORKER_NAMES
    assert tuple(fault_suite_workers()) == WORKER_NAMES
    plan = cluster.plan_processes(cluster.ClusterPorts.starting_at(20000))
    started = [p.worker for p in plan if p.worker is not None]
    assert sorted(set(started)) == sorted(WORKER_NAMES)
    assert all(started.count(name) >= 2 for name in WORKER_NAMES), "two copies of every worker"
