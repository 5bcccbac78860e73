"""``make soak``: a steady sale for ten minutes, and whether the service stays the same over it.

A fresh stack (as ``make bench`` starts one) with short retention times, then k6's
``loadtest/soak.js``: SOAK_RATE new buyers a second (default 15) for SOAK_DURATION_S (default
600), each buying a seat of their own from queue to CONFIRMED. Every 10 s the runner samples
the resident memory of the API (its forked workers summed) and of every worker, Redis'
``used_memory``, and the rows of the tables a sale fills: outbox_event, processed_event,
reservation. A second schedule whose show starts two minutes in shows its Redis keys
released by the retention job (``live_state_keep_s`` 30 s here, a day by default).

Verdicts (reported, not asserted): each process's memory is flat after the warm-up (the
mean of the last minute within +10% of the minute after warm-up); the outbox and
processed-event tables plateau (at the end no more than 1.2x their size at half time: a
steady sale without retention would double them); the finished show's keys are gone.
Results: bench/results/soak-<UTC timestamp>.md and .json.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from redis import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from bench import buyers, machine
from bench.plan import GRID_COLS
from bench.run import RESULTS_DIR, log, revision
from bench.scenarios import LOADTEST, k6_binary
from bench.stack import Stack, delete_data, run_bounded, running_stack
from ticketing.adapters.redis.keys import Keys
from ticketing.domain.ids import ScheduleId

SAMPLE_S = 10.0
WARM_UP_S = 120.0
FLAT_GROWTH = 0.10
PLATEAU_RATIO = 1.2
SHORT_SHOW_IN_S = 120
SHORT_SHOW_BUYERS = 10
RETENTION = {
    "TICKETING_RETENTION_INTERVAL_S": "10",
    "TICKETING_RETENTION_OUTBOX_KEEP_S": "60",
    "TICKETING_RETENTION_PROCESSED_KEEP_S": "60",
    "TICKETING_RETENTION_LIVE_STATE_KEEP_S": "30",
}
TABLES = ("outbox_event", "processed_event", "reservation")


@dataclass
class Sample:
    t_s: float
    rss: dict[str, int]
    redis_used: int
    rows: dict[str, int]
    short_show_keys: int

    def to_json(self) -> dict[str, Any]:
        return {
            "t_s": round(self.t_s, 1),
            "rss": self.rss,
            "redis_used": self.redis_used,
            "rows": self.rows,
            "short_show_keys": self.short_show_keys,
        }


@dataclass
class Soak:
    meta: dict[str, Any]
    samples: list[Sample] = field(default_factory=list)
    k6: dict[str, Any] = field(default_factory=dict)
    k6_exit: int | None = None

    def series(self, pick: Any) -> list[tuple[float, float]]:
        return [(s.t_s, float(pick(s))) for s in self.samples]


def mean_between(series: list[tuple[float, float]], start_s: float, end_s: float) -> float | None:
    values = [v for t, v in series if start_s <= t < end_s]
    return statistics.fmean(values) if values else None


def growth(series: list[tuple[float, float]], duration_s: float) -> tuple[float | None, float | None]:
    """(mean of the minute after warm-up, mean of the last minute)."""
    return mean_between(series, WARM_UP_S, WARM_UP_S + 60), mean_between(series, duration_s - 60, duration_s + 1)


def at(series: list[tuple[float, float]], t_s: float) -> float | None:
    """The sample nearest ``t_s``."""
    return min(series, key=lambda p: abs(p[0] - t_s))[1] if series else None


class Sampler:
    def __init__(self, stack: Stack, short_show: int) -> None:
        self.stack = stack
        self.redis = Redis.from_url(stack.redis_url)
        self.short_show_tag = f"{{{ScheduleId(short_show)}}}".encode()
        self.pattern = Keys(stack.redis_prefix).pattern()
        self.groups = {child.name: child.pid for child in stack.children}

    async def take(self, t_s: float, conn: Any) -> Sample:
        rss = machine.rss_by_group(self.groups.values())
        rows = {}
        for table in TABLES:
            count = sa.select(sa.func.count()).select_from(sa.table(table))
            rows[table] = int((await conn.execute(count)).scalar_one())
        keys = sum(1 for key in self.redis.scan_iter(match=self.pattern, count=5000) if self.short_show_tag in key)
        return Sample(
            t_s,
            {name: rss[pid] for name, pid in self.groups.items()},
            int(self.redis.info("memory")["used_memory"]),
            rows,
            keys,
        )

    async def run(self, soak: Soak, started: float, done: threading.Event) -> None:
        engine = create_async_engine(self.stack.database_url, pool_size=1)
        try:
            async with engine.connect() as conn:
                while not done.is_set():
                    sample = await self.take(time.monotonic() - started, conn)
                    soak.samples.append(sample)
                    await conn.commit()  # a fresh snapshot next time
                    mib = {k: round(v / 2**20) for k, v in sample.rss.items() if k in ("api", "confirm-consumer")}
                    keys = sample.short_show_keys
                    log(f"  t={sample.t_s:4.0f}s rss MiB {mib} rows {sample.rows} short-show keys {keys}")
                    await asyncio.sleep(max(0.0, SAMPLE_S - (time.monotonic() - started - sample.t_s)))
        finally:
            await engine.dispose()
            self.redis.close()


def short_show(stack: Stack, admin: str) -> int:
    """A small schedule whose show starts SHORT_SHOW_IN_S from now, with a few seats sold."""

    async def go() -> int:
        async with buyers.client(stack.base_url) as http:
            sid = await buyers.create_schedule(
                http,
                admin,
                "soak short show",
                rows=1,
                cols=GRID_COLS,
                capacity=50,
                pass_ttl_s=60,
                admit_per_tick=50,
                starts_in=timedelta(seconds=SHORT_SHOW_IN_S),
            )
            tokens = stack.tokens(SHORT_SHOW_BUYERS, "short-").read_text().split()
            for i, token in enumerate(tokens):
                await buyers.purchase(http, sid, token, f"A-{i + 1}")
            return sid

    return asyncio.run(go())


def main_schedule(stack: Stack, admin: str, buyers_total: int) -> int:
    async def go() -> int:
        async with buyers.client(stack.base_url) as http:
            return await buyers.create_schedule(
                http,
                admin,
                "soak",
                rows=math.ceil(buyers_total / GRID_COLS),
                cols=GRID_COLS,
                capacity=2000,
                pass_ttl_s=60,
                admit_per_tick=200,
                hold_ttl_s=300,
            )

    return asyncio.run(go())


def run_soak(stack: Stack, soak: Soak, rate: int, duration_s: int) -> None:
    admin = stack.admin_token()
    total = rate * duration_s
    soak.meta["short_show"] = short = short_show(stack, admin)
    soak.meta["schedule"] = sid = main_schedule(stack, admin, total)
    tokens = stack.tokens(total, "soak-")
    summary = stack.work_dir / "k6-soak.json"
    cmd = [k6_binary(), "run", "--no-usage-report", "--quiet", "--summary-export", str(summary)]
    env = {
        **stack.k6_env(),
        "SCHEDULE_ID": sid,
        "TOKENS_FILE": tokens,
        "SEAT_COLS": GRID_COLS,
        "RATE": rate,
        "DURATION_S": duration_s,
    }
    for key, value in env.items():
        cmd += ["-e", f"{key}={value}"]
    cmd.append(str(LOADTEST / "soak.js"))
    log(f"k6: {rate} buyers/s for {duration_s} s ({total:,} buyers), sampling every {SAMPLE_S:.0f} s")
    done = threading.Event()
    exit_code: list[int] = []

    def load() -> None:
        try:
            exit_code.append(run_bounded(cmd, stack.work_dir / "k6-soak.log", duration_s + 300))
        finally:
            done.set()

    started = time.monotonic()
    thread = threading.Thread(target=load, name="k6")
    thread.start()
    asyncio.run(Sampler(stack, short).run(soak, started, done))
    thread.join()
    soak.k6_exit = exit_code[0] if exit_code else None
    if summary.exists():
        soak.k6 = json.loads(summary.read_text()).get("metrics", {})
    stack.assert_alive()


def verdicts(soak: Soak) -> list[tuple[str, str, str, bool | None]]:
    duration = soak.meta["duration_s"]
    found: list[tuple[str, str, str, bool | None]] = []
    names = sorted(soak.samples[0].rss) if soak.samples else []
    for name in names:
        first, last = growth(soak.series(lambda s, n=name: s.rss[n]), duration)
        if first is None or last is None:
            found.append((f"{name} memory", "flat after warm-up", "too few samples", None))
            continue
        change = last / first - 1
        measured = f"{first / 2**20:.0f} MiB -> {last / 2**20:.0f} MiB ({change:+.1%})"
        found.append((f"{name} memory", f"<= +{FLAT_GROWTH:.0%} after warm-up", measured, change <= FLAT_GROWTH))
    for table in ("outbox_event", "processed_event"):
        series = soak.series(lambda s, t=table: s.rows[t])
        half, end = at(series, duration / 2), at(series, duration)
        if half is None or end is None or half == 0:
            found.append((f"{table} rows", "plateau", "too few samples", None))
            continue
        ratio = end / half
        measured = f"{half:,.0f} at half time, {end:,.0f} at the end (x{ratio:.2f})"
        found.append((f"{table} rows", f"end <= {PLATEAU_RATIO}x half time", measured, ratio <= PLATEAU_RATIO))
    keys = soak.series(lambda s: s.short_show_keys)
    before = max((v for t, v in keys if t < SHORT_SHOW_IN_S), default=0)
    after = keys[-1][1] if keys else None
    measured = f"{before:.0f} keys before its show, {'-' if after is None else f'{after:.0f}'} at the end"
    found.append(("finished show's Redis keys", "released", measured, bool(before) and after == 0))
    return found


def k6_line(soak: Soak, metric: str) -> str:
    m = soak.k6.get(metric)
    if not m:
        return "-"
    return f"p50 {m.get('med', 0):.1f} ms, p99 {m.get('p(99)', 0):.1f} ms, n {m.get('count', 0):,.0f}"


def markdown(soak: Soak) -> str:
    m = soak.meta
    bought = int(soak.k6.get("bought", {}).get("count", 0))
    rows = [
        [name, goal, measured, {True: "met", False: "NOT met", None: "not measured"}[ok]]
        for name, goal, measured, ok in verdicts(soak)
    ]
    lines = [
        f"# Soak {m['run_id']}",
        "",
        f"- {m['started_at']}, {m['rate']} buyers/s for {m['load_s']} s, revision {m['revision']}, "
        f"{m['cpus']} CPUs, load average before {m['load_before']}",
        f"- retention: every {RETENTION['TICKETING_RETENTION_INTERVAL_S']} s; outbox and processed marks kept "
        f"{RETENTION['TICKETING_RETENTION_OUTBOX_KEEP_S']} s, a finished show's Redis state "
        f"{RETENTION['TICKETING_RETENTION_LIVE_STATE_KEEP_S']} s",
        f"- k6 exit {soak.k6_exit}; bought (CONFIRMED) {bought:,}; "
        f"hold failures {int(soak.k6.get('hold_failed', {}).get('count', 0))}, "
        f"payment failures {int(soak.k6.get('pay_failures', {}).get('count', 0))}, "
        f"confirmation timeouts {int(soak.k6.get('confirm_timeouts', {}).get('count', 0))}",
        "",
        "| measure | goal | measured | verdict |",
        "|---|---|---|---|",
        *["| " + " | ".join(r) + " |" for r in rows],
        "",
        "Latency over the whole run (k6): "
        + "; ".join(f"{ep} {k6_line(soak, ep + '_ms')}" for ep in ("enter", "status", "hold", "pay", "webhook"))
        + f"; payment to confirmed {k6_line(soak, 'payment_to_confirmed_ms')}.",
        "",
        "## Samples (one a minute of the 10 s ones)",
        "",
    ]
    names = sorted(soak.samples[0].rss) if soak.samples else []
    header = ["t", *[f"{n} MiB" for n in names], "Redis MiB", *TABLES, "short-show keys"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for s in soak.samples[:: max(1, int(60 / SAMPLE_S))]:
        cells = [f"{s.t_s:.0f} s", *[f"{s.rss[n] / 2**20:.0f}" for n in names], f"{s.redis_used / 2**20:.1f}"]
        cells += [f"{s.rows[t]:,}" for t in TABLES] + [str(s.short_show_keys)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    rate = int(os.environ.get("SOAK_RATE", "15"))
    duration_s = int(os.environ.get("SOAK_DURATION_S", "600"))
    started = datetime.now(UTC)
    run_id = started.strftime("%Y%m%dT%H%M%SZ")
    work_dir = Path(tempfile.mkdtemp(prefix=f"ticketing-soak-{run_id}-"))
    meta: dict[str, Any] = {
        "run_id": run_id,
        "started_at": started.isoformat(timespec="seconds"),
        "rate": rate,
        "load_s": duration_s,
        "duration_s": float(duration_s),
        "cpus": os.cpu_count(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "revision": revision(),
        "work_dir": str(work_dir),
    }
    soak = Soak(meta)
    log(f"soak {run_id}: logs in {work_dir}")
    with running_stack(f"soak{run_id}", work_dir, settings=RETENTION) as stack:
        try:
            run_soak(stack, soak, rate, duration_s)
        finally:
            stack.stop_children()
            delete_data(stack)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"soak-{run_id}.json"
    document = {"meta": meta, "samples": [s.to_json() for s in soak.samples], "k6": soak.k6, "k6_exit": soak.k6_exit}
    path.write_text(json.dumps(document, indent=2) + "\n")
    summary = markdown(soak)
    path.with_suffix(".md").write_text(summary)
    print("\n" + summary, flush=True)
    log(f"results: {path} and {path.with_suffix('.md')}")
    return 0 if soak.k6_exit == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
