"""Throughput against a same-run ceiling, measured with wrk (its client costs far less CPU than k6's).

The ceiling is ``GET /readyz/redis``: the same server setup doing one Redis GET per request.
Queue enter and seat hold are reported as ratios of it, which stay comparable between runs
on a shared two-core machine where absolute numbers move with whatever else runs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import CpuShares, cpu_watch
from bench.plan import HOLD_GRID_COLS, Plan
from bench.scenarios import LOADTEST, admitted_passes
from bench.stack import Stack, run_bounded
from ticketing.domain.catalog import row_letters

LOST_SEAT = "A-1"  # the one seat every losing hold asks for

WRK_DIR = LOADTEST / "wrk"
WRK_SLACK_S = 30
SUCCESS = frozenset(range(200, 300))
SEAT_TAKEN = frozenset({409})


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise FileNotFoundError("wrk not found: `make bench` installs it (apt-get install -y wrk)")
    return found


@dataclass
class WrkRun:
    name: str
    target: str
    connections: int
    threads: int
    duration_s: int
    result: dict[str, Any]
    cpu: CpuShares
    meant: frozenset[int] = SUCCESS  # the answers the phase is about

    @property
    def seconds(self) -> float:
        return float(self.result["duration_us"]) / 1e6

    @property
    def requests_per_s(self) -> float:
        return float(self.result["requests"]) / self.seconds

    @property
    def success_per_s(self) -> float:
        """Answers the phase means per second (2xx; a lost hold's 409); without per-status counts
        (the ceiling), every non-error answer."""
        statuses = self.result.get("statuses") or {}
        if statuses:
            return float(sum(n for code, n in statuses.items() if int(code) in self.meant)) / self.seconds
        return float(self.result["requests"] - self.result["errors"]["status"]) / self.seconds

    def latency_ms(self, percentile: str) -> float:
        return float(self.result["latency_us"][percentile]) / 1000

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "connections": self.connections,
            "threads": self.threads,
            "duration_s": self.duration_s,
            "requests_per_s": round(self.requests_per_s, 1),
            "success_per_s": round(self.success_per_s, 1),
            "latency_ms": {p: self.latency_ms(p) for p in ("p50", "p90", "p99", "max")},
            "cpu": self.cpu.to_json(),
            "raw": self.result,
        }


def run_wrk(
    stack: Stack,
    plan: Plan,
    name: str,
    script: str,
    path: str,
    env: dict[str, str] | None = None,
    meant: frozenset[int] = SUCCESS,
) -> WrkRun:
    cmd = [
        wrk_binary(),
        f"-t{plan.wrk_threads}",
        f"-c{plan.wrk_connections}",
        f"-d{plan.wrk_duration_s}s",
        "--latency",
        "-s",
        str(WRK_DIR / script),
        f"{stack.base_url}{path}",
    ]
    log = stack.work_dir / f"wrk-{name}.log"
    wrk_env = {**stack.env, "WRK_THREADS": str(plan.wrk_threads), **(env or {})}
    with cpu_watch(stack.process_groups()) as cpu:
        exit_code = run_bounded(cmd, log, plan.wrk_duration_s + WRK_SLACK_S, env=wrk_env)
    lines = [line for line in log.read_text().splitlines() if line.startswith("WRK_JSON ")]
    if exit_code != 0 or not lines:
        raise RuntimeError(f"wrk {name} failed (exit {exit_code}); see {log}")
    stack.assert_alive()
    result = json.loads(lines[-1].removeprefix("WRK_JSON "))
    return WrkRun(name, path, plan.wrk_connections, plan.wrk_threads, plan.wrk_duration_s, result, cpu, meant)


def ceiling(stack: Stack, plan: Plan, name: str = "ceiling") -> WrkRun:
    """Measured before and after enter and hold: two samples show how steady the machine was."""
    return run_wrk(stack, plan, name, "ceiling.lua", "/readyz/redis")


def enter(stack: Stack, plan: Plan, schedule_id: int) -> WrkRun:
    """Every request a first entry of a different user (the token file outlasts the run)."""
    tokens = stack.tokens(plan.enter_tokens, "enter-")
    env = {"TOKENS_FILE": str(tokens), "SCHEDULE_ID": str(schedule_id)}
    return run_wrk(stack, plan, "enter", "enter.lua", "/", env)


def hold(stack: Stack, plan: Plan, schedule_id: int) -> WrkRun:
    """Every request a different seat: admitted users, each holding up to its per-user limit."""
    holds = write_holds(stack, plan, schedule_id)
    env = {"HOLDS_FILE": str(holds), "SCHEDULE_ID": str(schedule_id)}
    return run_wrk(stack, plan, "hold", "hold.lua", "/", env)


def hold_lost(stack: Stack, plan: Plan, schedule_id: int) -> WrkRun:
    """Every request a different user with a pass on the same seat: the first one wins, every
    other is the losing hold of a stampede (409 SEAT_TAKEN, answered by the lock script alone)."""
    tokens, passes = admitted_passes(stack, schedule_id, stack.tokens(plan.hold_lost_users, "lost-"))
    path = stack.work_dir / "holds-lost.txt"
    path.write_text("".join(f"{token} {pass_} {LOST_SEAT}\n" for token, pass_ in zip(tokens, passes, strict=True)))
    env = {"HOLDS_FILE": str(path), "SCHEDULE_ID": str(schedule_id)}
    return run_wrk(stack, plan, "hold_lost", "hold.lua", "/", env, meant=SEAT_TAKEN)


def write_holds(stack: Stack, plan: Plan, schedule_id: int) -> Path:
    """Lines ``<token> <pass> <seat>``: line j is user j mod U on seat j, so neighbours are different users."""
    tokens, passes = admitted_passes(stack, schedule_id, stack.tokens(plan.hold_users, "hold-"))
    users = len(tokens)
    lines = []
    for j in range(users * plan.hold_seats_per_user):
        seat = f"{row_letters(j // HOLD_GRID_COLS)}-{j % HOLD_GRID_COLS + 1}"
        lines.append(f"{tokens[j % users]} {passes[j % users]} {seat}\n")
    path = stack.work_dir / "holds.txt"
    path.write_text("".join(lines))
    return path


def ceiling_rate(runs: dict[str, WrkRun]) -> float:
    """The mean of the ceiling samples taken around enter and hold."""
    samples = [run.success_per_s for name, run in runs.items() if name.startswith("ceiling")]
    return sum(samples) / len(samples)
