"""``make bench``: a fresh production-like stack, the load scenarios, the invariant checks, a report.

Phases, each bounded in time (about 5-8 minutes in all at full size, a minute or two at 0.1):
  1. stack: its own database (migrated), Redis key prefix, Kafka topics and broker; the API
     with several worker processes and every background worker; one warm-up purchase proves
     the whole pipeline (and lets the confirm consumer join its group) before any load;
  2. throughput (wrk): the ceiling GET /readyz/redis, then queue enter, seat hold and the
     losing hold (a taken seat);
  3. scenarios (k6, loadtest/): contention with 80 and 1,000 buyers, burst, pass_ttl, sellout;
  4. a million waiters (bench/million.py): one line bulk-loaded to 1,000,000, probed against 1,000;
  5. ``ticketing check --schedule S --json`` for every schedule the run created.
Then bench/results/<UTC timestamp>.json and .md, and the markdown printed. Every process the
run started is stopped on the way out, also on Ctrl-C or an error. The exit code is 1 when
an invariant check fails or a phase could not run; the targets are reported, not asserted.

Env: BENCH_SCALE (0 < s <= 1, scales the crowds; default 1), BENCH_WRK_DURATION_S (default 10),
BENCH_PROFILE=1 samples the API and every worker with py-spy during the contention and sellout phases,
BENCH_KEEP_DATA=1 keeps the run's database and Redis keys (kept anyway when a check fails),
BENCH_TOPOLOGY=cluster runs it all against the topology of `make cluster` (default: single).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import buyers, ceiling, machine, million, profile, scenarios
from bench.invariants import check_all, command_available
from bench.plan import Plan
from bench.report import Findings, markdown, ms, sellout_numbers, targets
from bench.scenarios import ScenarioRun, new_schedule
from bench.stack import API_WORKERS, Stack, database_connections, delete_data, running_stack

RESULTS_DIR = Path(__file__).resolve().parent / "results"
STARTED = time.monotonic()


def log(message: str) -> None:
    elapsed = int(time.monotonic() - STARTED)
    print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", flush=True)


def revision() -> str:
    """The commit measured, marked dirty when the working tree has changes."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip()


def preflight() -> None:
    """Fail before starting anything when a tool the run needs is missing."""
    scenarios.k6_binary()
    ceiling.wrk_binary()
    if not command_available(dict(os.environ)):
        raise SystemExit(
            "`ticketing check --schedule S --json` is not available in this checkout; the bench needs it "
            "to verify the invariants after the load. Nothing was started."
        )


def settings_from_environment() -> dict[str, str]:
    """The TICKETING_ settings the operator set for this run (secrets and addresses left out),
    so that a run with a setting changed says so in its report."""
    private = ("SECRET", "KEY", "PASSWORD", "URL")
    return {
        name: value
        for name, value in sorted(os.environ.items())
        if name.startswith("TICKETING_") and not any(word in name for word in private)
    }


def warm_up(stack: Stack, plan: Plan, admin: str, schedules: dict[str, int]) -> None:
    schedules["warmup"] = sid = new_schedule(stack, admin, "bench warm-up", plan.warmup_schedule())
    token = stack.tokens(1, "warm-").read_text().strip()

    async def go() -> float:
        async with buyers.client(stack.base_url) as http:
            return await buyers.purchase(http, sid, token, "A-1")

    log(f"warm-up purchase confirmed in {asyncio.run(go()):.1f} s")


def measure_throughput(stack: Stack, plan: Plan, admin: str, f: Findings, schedules: dict[str, int]) -> None:
    log(f"wrk: ceiling GET /readyz/redis ({plan.wrk_duration_s} s)")
    f.wrk["ceiling"] = ceiling.ceiling(stack, plan)
    schedules["wrk_enter"] = sid = new_schedule(stack, admin, "bench enter", plan.enter_schedule())
    log(f"wrk: queue enter, {plan.enter_tokens:,} distinct users available")
    f.wrk["enter"] = ceiling.enter(stack, plan, sid)
    schedules["wrk_hold"] = sid = new_schedule(stack, admin, "bench hold", plan.hold_schedule())
    log(f"wrk: hold, preparing {plan.hold_users:,} admitted users x {plan.hold_seats_per_user} seats")
    f.wrk["hold"] = ceiling.hold(stack, plan, sid)
    schedules["wrk_hold_lost"] = sid = new_schedule(
        stack, admin, "bench hold lost", plan.contention_schedule(plan.hold_lost_users)
    )
    log(f"wrk: hold on a taken seat, preparing {plan.hold_lost_users:,} admitted users")
    with profile.during(stack, "hold_lost", f.meta.setdefault("profiles", {})):
        f.wrk["hold_lost"] = ceiling.hold_lost(stack, plan, sid)
    log("wrk: ceiling again")
    f.wrk["ceiling_after"] = ceiling.ceiling(stack, plan, "ceiling_after")
    base = ceiling.ceiling_rate(f.wrk)
    for name, run in f.wrk.items():
        rate, p99, other = run.success_per_s, run.latency_ms("p99"), round(run.cpu.other_pct)
        log(f"  {name}: {rate:,.0f} 2xx/s ({rate / base:.0%} of the ceiling), p99 {p99:.1f} ms, others' CPU {other}%")


def run_scenarios(stack: Stack, plan: Plan, admin: str, f: Findings, schedules: dict[str, int]) -> None:
    def done(run: ScenarioRun) -> None:
        f.scenarios[run.name] = run
        failed = f"; failed thresholds: {'; '.join(run.failed_thresholds)}" if run.failed_thresholds else ""
        log(f"  {run.name}: k6 exit {run.exit_code} after {run.duration_s:.0f} s{failed}")

    for crowd in plan.contention_crowds:
        name = f"contention_{crowd}"
        schedules[name] = sid = new_schedule(stack, admin, f"bench {name}", plan.contention_schedule(crowd))
        log(f"k6: {crowd} buyers with passes on one seat")
        with profile.during(stack, name, f.meta.setdefault("profiles", {})):
            done(scenarios.contention(stack, sid, crowd))
        run = f.scenarios[name]
        p95, p99 = run.stat("hold_ms", "p(95)"), run.stat("hold_ms", "p(99)")
        log(f"  {run.count('hold_won')} won, {run.count('hold_seat_taken')} lost; hold p95 {ms(p95)}, p99 {ms(p99)}")

    schedules["burst"] = sid = new_schedule(stack, admin, "bench burst", plan.burst_schedule())
    log(f"k6: burst, {plan.burst_users:,} buyers entering within 3 s")
    done(scenarios.burst(stack, sid, plan.burst_users))

    schedules["pass_ttl"] = sid = new_schedule(stack, admin, "bench pass ttl", plan.pass_ttl_schedule())
    log(f"k6: pass_ttl, {plan.pass_ttl_users:,} users, half walk away with 5 s passes")
    done(scenarios.pass_ttl(stack, sid, plan.pass_ttl_users))

    schedules["sellout"] = sid = new_schedule(stack, admin, "bench sellout", plan.sellout_schedule())
    log(f"k6: sellout, {plan.sellout_users:,} buyers for {plan.sellout_seats:,} seats")
    with profile.during(stack, "sellout", f.meta.setdefault("profiles", {})):
        done(scenarios.sellout(stack, sid, plan.sellout_users, plan.sellout_seats))


def load_and_check(stack: Stack, plan: Plan, f: Findings, schedules: dict[str, int]) -> None:
    """Every phase; the checks run for whatever schedules exist, also when a phase failed."""
    try:
        admin = stack.admin_token()
        warm_up(stack, plan, admin, schedules)
        measure_throughput(stack, plan, admin, f, schedules)
        run_scenarios(stack, plan, admin, f, schedules)
        log(f"a million waiters: one line filled to {million.total_waiters(plan):,}")
        f.million = million.run(stack, plan, admin, schedules, log)
    except Exception:
        f.meta["error"] = traceback.format_exc(limit=8)
        log("a phase failed:\n" + f.meta["error"])
    finally:
        if schedules:
            log(f"ticketing check for {len(schedules)} schedules")
            f.checks = check_all(stack, schedules)
            for c in f.checks.values():
                log(f"  {c.name} (schedule {c.schedule_id}): {'ok' if c.ok else 'FAILED'} {c.error or ''}")


def write_results(f: Findings, plan: Plan, schedules: dict[str, int], ok: bool) -> tuple[Path, str]:
    target_list = targets(f, plan.contention_crowds)
    document: dict[str, Any] = {
        "meta": f.meta,
        "plan": asdict(plan),
        "ok": ok,
        "schedules": schedules,
        "targets": [t.to_json() for t in target_list],
        "wrk": {name: run.to_json() for name, run in f.wrk.items()},
        "scenarios": {name: run.to_json() for name, run in f.scenarios.items()},
        "sellout": sellout_numbers(f.scenarios["sellout"]) if "sellout" in f.scenarios else None,
        "million": f.million.to_json() if f.million else None,
        "checks": {name: c.to_json() for name, c in f.checks.items()},
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{f.meta['run_id']}.json"
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    summary = markdown(f, target_list)
    path.with_suffix(".md").write_text(summary + "\n")
    return path, summary


def keep_data(stack: Stack, f: Findings) -> None:
    """Drop the run's database and Redis keys, unless asked to keep them or a check failed (for a look)."""
    if os.environ.get("BENCH_KEEP_DATA") == "1" or any(not c.ok for c in f.checks.values()):
        log(f"kept: database {stack.database_url.rsplit('/', 1)[-1]}, Redis keys {stack.redis_prefix}*")
        return
    try:
        delete_data(stack)
    except Exception as exc:  # the results matter more than the clean-up
        log(f"could not delete the run's data: {exc!r}")


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM behaves like Ctrl-C: the finally blocks stop every process this run started.
    # Once: a second signal raised inside that clean-up would abort it and leave processes behind.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    plan = Plan.from_env()
    preflight()
    started = datetime.now(UTC)
    run_id = started.strftime("%Y%m%dT%H%M%SZ")
    work_dir = Path(tempfile.mkdtemp(prefix=f"ticketing-bench-{run_id}-"))
    meta: dict[str, Any] = {
        "run_id": run_id,
        "started_at": started.isoformat(timespec="seconds"),
        "scale": plan.scale,
        "cpus": os.cpu_count(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "idle_cpu_before_pct": machine.idle_cpu_pct(),
        "database_connections_before": database_connections(),
        "topology": plan.topology,
        "api_workers": API_WORKERS if plan.topology == "single" else "2 replicas x 1 behind HAProxy",
        "revision": revision(),
        "advancer_tick_ms": 100,
        "settings_from_environment": settings_from_environment(),
        "work_dir": str(work_dir),
    }
    f = Findings(meta, {}, {}, {})
    schedules: dict[str, int] = {}
    log(f"run {run_id}, scale {plan.scale}; logs and load files in {work_dir}")
    stack: Stack | None = None
    try:
        with running_stack(run_id, work_dir, plan.topology) as stack:
            log(f"stack up at {stack.base_url} (database {stack.database_url.rsplit('/', 1)[-1]})")
            load_and_check(stack, plan, f, schedules)
            log("stopping the stack")
    except KeyboardInterrupt:
        meta["error"] = "interrupted"
        raise
    except Exception:
        meta["error"] = traceback.format_exc(limit=8)
        log("the run failed:\n" + meta["error"])
    finally:
        finished = datetime.now(UTC)
        meta["finished_at"] = finished.isoformat(timespec="seconds")
        meta["duration_s"] = (finished - started).total_seconds()
        all_ran = bool(f.scenarios) and all(r.ran for r in f.scenarios.values()) and "error" not in meta
        ok = all_ran and f.invariants_ok
        if stack is not None:
            keep_data(stack, f)
        path, summary = write_results(f, plan, schedules, ok)
        print("\n" + summary, flush=True)
        log(f"results: {path} and {path.with_suffix('.md')}")
    if not ok:
        log("BENCH FAILED: " + ("invariant violations" if not f.invariants_ok else "a phase did not run"))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted; every process of the run was stopped")
        sys.exit(130)
