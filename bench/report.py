"""The run's findings: the targets (met / not met, reported, never asserted) and the markdown summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench import profile
from bench.ceiling import WrkRun, ceiling_rate
from bench.invariants import CheckResult
from bench.machine import CpuShares
from bench.million import MillionRun
from bench.scenarios import ScenarioRun

# Answers a scenario expects that are not successes: losing a seat race is the point of contention.
EXPECTED_NON_2XX = {("hold", "409")}


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "not measured"}[self.met]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "goal": self.goal, "measured": self.measured, "met": self.met}


@dataclass
class Findings:
    """Everything one run measured, as the report needs it."""

    meta: dict[str, Any]
    wrk: dict[str, WrkRun]
    scenarios: dict[str, ScenarioRun]
    checks: dict[str, CheckResult]
    million: MillionRun | None = None

    def contention(self, crowd: int) -> ScenarioRun | None:
        return self.scenarios.get(f"contention_{crowd}")

    @property
    def invariants_ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks.values())

    def fifo(self) -> tuple[int, int]:
        """(admissions checked, fifo_admission violations) over every schedule."""
        admissions = sum(c.checked.get("admissions", 0) for c in self.checks.values())
        return admissions, sum(c.violations_of("fifo_admission") for c in self.checks.values())


def ms(value: float | None) -> str:
    """Milliseconds, or seconds once that reads better (waiting in line takes seconds)."""
    if value is None:
        return "-"
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.1f} ms"


def _winner_line(run: ScenarioRun) -> str:
    return (
        f"{run.count('hold_won')} won (201), {run.count('hold_seat_taken')} lost (409 SEAT_TAKEN), "
        f"{run.count('hold_other')} other"
    )


def _contention_targets(f: Findings, crowds: tuple[int, ...]) -> list[Target]:
    small, large = crowds
    targets = []
    run = f.contention(small)
    if run is None or not run.ran:
        targets.append(Target(f"{small} buyers, one seat", "p95 <= 9.7 ms, exactly one 201", "not run", None))
    else:
        p95 = run.stat("hold_ms", "p(95)")
        one = run.count("hold_won") == 1 and run.count("hold_other") == 0
        met = one and p95 is not None and p95 <= 9.7
        targets.append(
            Target(
                f"{small} buyers, one seat",
                "p95 <= 9.7 ms, exactly one 201",
                f"p95 {ms(p95)}; {_winner_line(run)}",
                met,
            )
        )
    run = f.contention(large)
    goal = "exactly one winner, every request answered, p99 <= 115 ms"
    if run is None or not run.ran:
        targets.append(Target(f"{large} buyers, one seat", goal, "not run", None))
    else:
        p99 = run.stat("hold_ms", "p(99)")
        answered = run.count("hold_won") + run.count("hold_seat_taken")
        met = run.count("hold_won") == 1 and answered == large and p99 is not None and p99 <= 115
        measured = f"p99 {ms(p99)}; {_winner_line(run)}; answered {answered}/{large}"
        targets.append(Target(f"{large} buyers, one seat", goal, measured, met))
    return targets


def _throughput_targets(f: Findings) -> list[Target]:
    if not {"ceiling", "enter", "hold"} <= f.wrk.keys():
        return [Target("enter and hold throughput", "vs the same-run ceiling", "not run", None)]
    base = ceiling_rate(f.wrk)
    enter = f.wrk["enter"].success_per_s
    hold = f.wrk["hold"].success_per_s
    return [
        Target(
            "queue enter throughput",
            ">= 50% of ceiling",
            f"{enter:,.0f}/s = {enter / base:.0%} of {base:,.0f}/s",
            enter / base >= 0.5,
        ),
        Target(
            "hold throughput",
            ">= 60% of ceiling",
            f"{hold:,.0f}/s = {hold / base:.0%} of {base:,.0f}/s",
            hold / base >= 0.6,
        ),
        Target("hold throughput, absolute", ">= 3,000/s", f"{hold:,.0f} successful holds/s", hold >= 3000),
    ]


def _sellout_targets(f: Findings) -> list[Target]:
    run = f.scenarios.get("sellout")
    names = ["sellout", "payment to confirmed (sellout)", "status poll (sellout)"]
    goals = ["<= 10 s, >= 300 confirmations/s", "p99 <= 250 ms", "p99 <= 100 ms"]
    if run is None or not run.ran or not run.count("payment_to_confirmed_ms"):
        return [Target(name, goal, "not run", None) for name, goal in zip(names, goals, strict=True)]
    n = sellout_numbers(run)
    took, per_s = n["time_to_sell_out_s"], n["confirmations_per_s"]
    p99, status_p99 = n["payment_to_confirmed_p99_ms"], run.stat("status_ms", "p(99)")
    return [
        Target(
            names[0],
            goals[0],
            f"{'-' if took is None else f'{took:.1f} s'}, {'-' if per_s is None else f'{per_s:.0f}'} confirmations/s",
            took is not None and per_s is not None and took <= 10 and per_s >= 300,
        ),
        Target(names[1], goals[1], f"p99 {ms(p99)}", p99 is not None and p99 <= 250),
        Target(names[2], goals[2], f"p99 {ms(status_p99)}", status_p99 is not None and status_p99 <= 100),
    ]


# A million waiters against a thousand, same run: "flat" allows the noise of a shared machine.
FLAT_RATIO = 1.5
FLAT_SLACK_MS = 2.0


def _million_targets(f: Findings) -> list[Target]:
    run = f.million
    if run is None:
        return [Target("a million waiters", "flat enter/status; <= 150 B per waiter", "not run", None)]
    small, large = run.sizes["small"], run.sizes["large"]
    targets = []
    for kind in ("enter", "status"):
        a, b = getattr(small, kind), getattr(large, kind)
        p50s, p99s = (a.pct(50), b.pct(50)), (a.pct(99), b.pct(99))
        measured = (
            f"{small.waiting:,}: p50 {ms(p50s[0])}, p99 {ms(p99s[0])}; "
            f"{large.waiting:,}: p50 {ms(p50s[1])}, p99 {ms(p99s[1])}"
        )
        flat = all(x is not None and y is not None and y <= x * FLAT_RATIO + FLAT_SLACK_MS for x, y in (p50s, p99s))
        goal = f"flat (p50, p99 within x{FLAT_RATIO} + {FLAT_SLACK_MS:.0f} ms of the 1,000-line)"
        targets.append(Target(f"{kind} at {large.waiting:,} waiting", goal, measured, flat))
    targets.append(
        Target(
            "Redis memory per waiting user",
            "<= 150 bytes",
            f"{run.bytes_per_waiter:.0f} bytes (used_memory growth over {run.loaded:,} users)",
            run.bytes_per_waiter <= 150,
        )
    )
    return targets


def targets(f: Findings, crowds: tuple[int, ...]) -> list[Target]:
    total = sum(len(c.violations) for c in f.checks.values())
    failed = [c.name for c in f.checks.values() if not c.ok]
    admissions, out_of_order = f.fifo()
    fifo_measured = f"{admissions:,} admissions, {out_of_order} out of order"
    return [
        *_contention_targets(f, crowds),
        *_throughput_targets(f),
        *_sellout_targets(f),
        *_million_targets(f),
        Target(
            "invariant violations",
            "zero",
            f"{total} violations in {len(f.checks)} schedules" + (f" (failed: {', '.join(failed)})" if failed else ""),
            f.invariants_ok if f.checks else None,
        ),
        Target("FIFO admission", "100%", fifo_measured, (out_of_order == 0) if f.checks else None),
    ]


# ---- markdown ----


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _ceiling_section(f: Findings) -> list[str]:
    if "ceiling" not in f.wrk:
        return ["## Throughput (wrk)", "", "not measured", ""]
    base = ceiling_rate(f.wrk)
    labels = {
        "ceiling": "GET /readyz/redis (ceiling, before)",
        "enter": "POST queue (enter)",
        "hold": "POST holds",
        "hold_lost": "POST holds, seat taken (409)",
        "ceiling_after": "GET /readyz/redis (ceiling, after)",
    }
    cpus = int(f.meta.get("cpus") or 1)
    rows = []
    for name, run in f.wrk.items():
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted((run.result.get("statuses") or {}).items())) or "-"
        errors = sum(v for k, v in run.result["errors"].items() if k != "status")
        rows.append(
            [
                labels.get(name, name),
                f"{run.success_per_s:,.0f}",
                f"{run.success_per_s / base:.0%}",
                ms(run.latency_ms("p50")),
                ms(run.latency_ms("p99")),
                statuses,
                str(errors),
                _cpu(run.cpu) + _api_share(run.cpu),
                _api_cpu_per_request(run, cpus),
            ]
        )
    first = f.wrk["ceiling"]
    return [
        "## Throughput against the same-run ceiling (wrk)",
        "",
        f"wrk -t{first.threads} -c{first.connections} -d{first.duration_s}s on loopback. req/s counts the answers "
        "the phase is about (2xx; 409 on the taken seat); "
        f"the ceiling is the mean of the samples before and after ({base:,.0f}/s). enter: each request a new user; "
        "hold: each request a new seat; seat taken: each request another user on the one held seat, counted "
        "are its 409 SEAT_TAKEN answers. CPU: share of both cores for the run / Redis+MariaDB / other work "
        "(and, when any, the time the hypervisor gave these virtual cores to others: stolen), the API's share "
        "in brackets. API CPU per answer: the API's CPU time (all its processes) over every answer it gave.",
        "",
        *_table(
            [
                *("endpoint", "req/s as meant", "of ceiling", "p50", "p99", "statuses", "socket errors"),
                *("CPU", "API CPU per answer"),
            ],
            rows,
        ),
        "",
    ]


def _cpu(cpu: CpuShares) -> str:
    stolen = f", stolen {cpu.stolen_pct:.0f}%" if cpu.stolen_pct >= 0.5 else ""
    return f"{cpu.run_pct:.0f} / {cpu.services_pct:.0f} / {cpu.other_pct:.0f}%{stolen}"


def _by_process(cpu: CpuShares) -> str:
    """The run's share split by process (of both cores), largest first; 0% left out."""
    parts = [
        f"{name} {pct:.0f}%{_processes_of(cpu, name)}"
        for name, pct in sorted(cpu.by_process.items(), key=lambda kv: -kv[1])
        if pct >= 0.5
    ]
    return f" (run: {', '.join(parts)})" if parts else ""


def _settings_line(settings: dict[str, str]) -> str:
    return "; set for this run: " + ", ".join(f"`{k}={v}`" for k, v in settings.items()) if settings else ""


def _api_cpu_per_request(run: WrkRun, cpus: int) -> str:
    api = run.cpu.by_process.get("api")
    if api is None or not run.result["requests"]:
        return "-"
    return f"{api / 100 * cpus * run.cpu.seconds * 1000 / run.result['requests']:.2f} ms"


def _api_share(cpu: CpuShares) -> str:
    api = cpu.by_process.get("api")
    return f" (api {api:.0f}%{_processes_of(cpu, 'api')})" if api is not None else ""


def _processes_of(cpu: CpuShares, name: str) -> str:
    """`` (processes 22 + 20%)`` for a group split over several busy processes."""
    pcts = cpu.split.get(name)
    return f" (processes {' + '.join(f'{pct:.0f}' for pct in pcts)}%)" if pcts else ""


def _scenario_outcome(run: ScenarioRun) -> str:
    if run.script == "contention.js":
        return f"{run.params.get('VUS')} buyers with passes, one seat: {_winner_line(run)}."
    unanswered = sum(statuses.get("0", 0) for statuses in run.statuses().values())
    lost = (
        f" Requests without an answer (timeout or reset): {unanswered:,}; payment calls retried: "
        f"{run.count('no_answer_retries')}, holds found again in my reservations: {run.count('holds_recovered')}."
        if unanswered
        else ""
    )
    return _buyers_outcome(run) + lost


def _buyers_outcome(run: ScenarioRun) -> str:
    p = run.params
    if run.script == "burst.js":
        wait = run.stat("admission_wait_ms", "med"), run.stat("admission_wait_ms", "p(99)")
        return (
            f"{run.count('enter_reqs')} buyers entered within {p.get('RAMP_S')} s; {run.count('burst_held')} held "
            f"their seat; admission wait p50 {ms(wait[0])}, p99 {ms(wait[1])}; "
            f"{run.count('gave_up_waiting')} gave up."
        )
    if run.script == "pass_ttl.js":
        return (
            f"{run.count('walked_away')} walked away with a pass, {run.count('bought')} bought; "
            f"{run.count('requeued')} buyers lost an unused pass and queued again; "
            f"seats unsold at the end: {run.count('seats_unsold_at_end')}."
        )
    wait = run.stat("admission_wait_ms", "med"), run.stat("admission_wait_ms", "p(99)")
    return (
        f"{run.count('enter_reqs')} buyers entered within {p.get('RAMP_S')} s for {p.get('SEATS')} seats: "
        f"{run.count('bought')} confirmed, {run.count('seat_taken')} holds lost to someone faster, "
        f"{run.count('sold_out_seen')} buyers found the map sold out and {run.count('told_sold_out')} were told"
        f" SOLD_OUT by the line, {run.count('requeued')} requeued; admission wait "
        f"(of the {run.count('admission_wait_ms')} admitted before the end) p50 {ms(wait[0])}, p99 {ms(wait[1])}."
    )


def sellout_numbers(run: ScenarioRun) -> dict[str, float | None]:
    """Time to sell out, confirmation rate and payment-to-confirmed latency, from the buyers' own clocks."""
    bought = run.count("bought")
    seats = int(run.params.get("SEATS", 0))
    first = run.stat("confirmed_at_ms", "min")
    last = run.stat("confirmed_at_ms", "max")
    sold_out_s = last / 1000 if last is not None and seats and bought >= seats else None
    spread_s = (last - first) / 1000 if first is not None and last is not None and last > first else None
    return {
        "time_to_sell_out_s": sold_out_s,
        "watcher_saw_sold_out_s": (run.stat("sold_out_seen_at_ms", "max") or 0) / 1000 or None,
        "confirmations_per_s": bought / spread_s if spread_s else None,
        "seats_per_s_until_sold_out": seats / sold_out_s if sold_out_s else None,
        "payment_to_confirmed_p50_ms": run.stat("payment_to_confirmed_ms", "med"),
        "payment_to_confirmed_p99_ms": run.stat("payment_to_confirmed_ms", "p(99)"),
        "payment_to_confirmed_max_ms": run.stat("payment_to_confirmed_ms", "max"),
    }


def _sellout_section(f: Findings) -> list[str]:
    run = f.scenarios.get("sellout")
    if run is None or not run.ran:
        return []
    n = sellout_numbers(run)

    def num(key: str, unit: str, fmt: str = "{:.1f}") -> str:
        value = n[key]
        return "-" if value is None else fmt.format(value) + unit

    return [
        "## Sellout",
        "",
        f"- time to sell out: {num('time_to_sell_out_s', ' s')} from the first buyer entering to the last "
        f"CONFIRMED seen (watcher's seat map: all SOLD at {num('watcher_saw_sold_out_s', ' s')})",
        f"- confirmations per second: {num('confirmations_per_s', '/s')} between the first and the last "
        f"confirmation ({num('seats_per_s_until_sold_out', '/s')} averaged from the start)",
        f"- payment to confirmed: p50 {num('payment_to_confirmed_p50_ms', ' ms')}, "
        f"p99 {num('payment_to_confirmed_p99_ms', ' ms')}, max {num('payment_to_confirmed_max_ms', ' ms')} "
        "(the provider's PAID webhook answered -> CONFIRMED seen; "
        "polled every 10 ms growing to 100 ms, so an upper bound)",
        "",
    ]


def _scenarios_section(f: Findings) -> list[str]:
    lines = ["## Scenarios (k6)", ""]
    for name, run in f.scenarios.items():
        state = "" if run.exit_code in (0, 108) else f" (k6 exit {run.exit_code})"
        took = f" Took {run.duration_s:.0f} s; CPU run / services / other: {_cpu(run.cpu)}{_by_process(run.cpu)}."
        lines += [f"### {name}{state}", "", _scenario_outcome(run) + took, ""]
        if run.failed_thresholds:
            lines += ["Failed k6 thresholds: " + "; ".join(run.failed_thresholds), ""]
        rows = [
            [ep, f"{v['requests']:,.0f}", f"{v['rate']:,.1f}", ms(v["p50"]), ms(v["p95"]), ms(v["p99"]), ms(v["max"])]
            for ep, v in run.endpoints().items()
        ]
        lines += [*_table(["endpoint", "requests", "req/s (avg)", "p50", "p95", "p99", "max"], rows), ""]
    return lines


def _million_section(f: Findings) -> list[str]:
    run = f.million
    if run is None:
        return []
    rows = []
    for size in run.sizes.values():
        tick = (
            "-"
            if size.tick_ms is None
            else f"{size.tick_ms:.2f} ms ({size.ticks} ticks, {size.admitted_per_s:.0f} admitted/s)"
        )
        rows.append(
            [
                f"{size.waiting:,}",
                f"{ms(size.enter.pct(50))} / {ms(size.enter.pct(99))}",
                f"{ms(size.status.pct(50))} / {ms(size.status.pct(99))}",
                tick,
                ", ".join(f"{k}: {v}" for k, v in sorted({**size.enter.statuses, **size.status.statuses}.items())),
            ]
        )
    per_key = ", ".join(f"{name} {used:.0f} B" for name, used in run.key_bytes_per_waiter.items())
    return [
        "## A million waiters",
        "",
        f"Schedule {run.schedule_id}: {run.loaded:,} waiting users loaded by a Lua script in {run.load_s:.1f} s "
        f"(what enter leaves: a ticket in the line, a next-poll time). Redis memory per waiting user: "
        f"{run.bytes_per_waiter:.0f} B by `INFO memory` growth; by `MEMORY USAGE` per key: {per_key}. "
        "Probes: status by users at the front of the small line and the middle of the large one, enter by new "
        "users; a few at a time. Tick: the advancer's mean tick (every registered schedule) while admitting.",
        "",
        *_table(["waiting", "enter p50 / p99", "status p50 / p99", "advancer tick", "statuses"], rows),
        "",
    ]


def _errors_section(f: Findings) -> list[str]:
    rows = []
    for name, run in f.scenarios.items():
        for endpoint, statuses in sorted(run.statuses().items()):
            for code, n in sorted(statuses.items()):
                if not code.startswith("2"):
                    note = "expected (seat taken)" if (endpoint, code) in EXPECTED_NON_2XX else ""
                    rows.append([name, endpoint, code, f"{n:,}", note])
    for name, wrk in f.wrk.items():
        for code, n in sorted((wrk.result.get("statuses") or {}).items()):
            if not code.startswith("2"):
                rows.append([f"wrk {name}", wrk.target, code, f"{n:,}", ""])
        errors = {k: v for k, v in wrk.result["errors"].items() if v and k != "status"}
        if errors:
            rows.append([f"wrk {name}", wrk.target, "socket", str(errors), ""])
    body = _table(["run", "endpoint", "status", "count", "note"], rows) if rows else ["none"]
    return ["## Errors by status (every non-2xx answer; 0 = no answer)", "", *body, ""]


def _invariants_section(f: Findings) -> list[str]:
    rows = []
    for c in f.checks.values():
        by_invariant: dict[str, int] = {}
        for v in c.violations:
            by_invariant[v["invariant"]] = by_invariant.get(v["invariant"], 0) + 1
        found = ", ".join(f"{k}: {n}" for k, n in by_invariant.items()) or ("-" if c.ok else (c.error or "failed"))
        rows.append(
            [
                c.name,
                str(c.schedule_id),
                "ok" if c.ok else "FAILED",
                found[:300],
                str(c.checked.get("admissions", "-")),
                str(c.checked.get("confirmed_reservations", "-")),
            ]
        )
    admissions, out_of_order = f.fifo()
    fifo = "100%" if admissions and not out_of_order else f"{out_of_order} out of order"
    return [
        "## Invariants (`ticketing check --schedule S --json`)",
        "",
        *_table(["schedule", "id", "result", "violations", "admissions", "confirmed"], rows),
        "",
        f"FIFO admission: {admissions:,} admissions checked, {out_of_order} out of order ({fifo}).",
        "",
    ]


def markdown(f: Findings, target_list: list[Target]) -> str:
    m = f.meta
    db = m["database_connections_before"]
    lines = [
        f"# Benchmark {m['run_id']}",
        "",
        f"- {m['started_at']} to {m['finished_at']} ({m['duration_s']:.0f} s), scale {m['scale']}"
        + ("" if m["scale"] == 1 else " (a smoke run: the targets are stated for the full sizes)"),
        f"- machine: {m['cpus']} CPUs, load average before {m['load_before']}, idle CPU before "
        f"{m['idle_cpu_before_pct']:.0f}%; load generators (k6, wrk) share the same cores; MariaDB (shared) "
        f"max_connections {db['max_connections']}, {db['connected']} in use before the run",
        f"- revision {m.get('revision', 'unknown')}; stack: "
        + (
            "the cluster topology (Redis Cluster 3+3, 2 API replicas behind HAProxy, 2x every worker)"
            if m.get("topology") == "cluster"
            else f"`ticketing api --workers {m['api_workers']}` (the CLI's default server) + every worker"
        )
        + ", advancer tick "
        f"{m['advancer_tick_ms']} ms, JSON logs at WARNING, fake payment provider; "
        "its own database, Redis key prefix and Kafka topics"
        + _settings_line(m.get("settings_from_environment") or {}),
        "",
        "## Targets (reported, not asserted)",
        "",
        *_table(
            ["target", "goal", "measured", "verdict"], [[t.name, t.goal, t.measured, t.verdict] for t in target_list]
        ),
        "",
        *_ceiling_section(f),
        *_sellout_section(f),
        *_scenarios_section(f),
        *_million_section(f),
        *_errors_section(f),
        *_invariants_section(f),
        *profile.markdown_section(m.get("profiles", {})),
    ]
    if m.get("error"):
        lines += ["## The run failed", "", "```", m["error"], "```", ""]
    return "\n".join(lines)
