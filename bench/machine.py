"""How busy the shared machine was: the run's own CPU against everything else running beside it.

Other work shares these two cores, and a measurement is only as good as the CPU it got.
Each measured phase records the share of CPU time (of all cores) that went to the run
(its process groups and the load tool), to the shared Redis and MariaDB, and to other work.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = frozenset({"redis-server", "mariadbd", "mysqld"})
LOAD_TOOL = "load tool"  # k6 or wrk: started and reaped inside the measured block
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _system_ticks() -> tuple[int, int, int]:
    """(busy, total, stolen) CPU ticks of all cores since boot; stolen: time the hypervisor
    gave this machine's virtual cores to someone else (counted as busy, not ours)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time (fields 9 and 10) is already in user time
    return total - idle, total, fields[7]


def _processes() -> Iterator[tuple[int, str, list[str]]]:
    """(process id, command name, the fields of /proc/PID/stat after it) of every live process;
    field N of proc(5) is at index N - 3."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        yield int(entry.name), raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :].split()


def _process_ticks(groups: Mapping[int, str]) -> tuple[dict[tuple[str, int], int], int]:
    """(ticks by (the group's name, process id) for every live process of ``groups``, ticks of
    the shared services)."""
    ours: dict[tuple[str, int], int] = {}
    services = 0
    for pid, comm, rest in _processes():
        pgrp, ticks = int(rest[2]), int(rest[11]) + int(rest[12])  # fields 5, 14 and 15 of proc(5)
        if pgrp in groups:
            ours[groups[pgrp], pid] = ticks
        elif comm in SERVICES:
            services += ticks
    return ours, services


def _reaped_children_ticks() -> int:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((usage.ru_utime + usage.ru_stime) * TICKS_PER_S)


@dataclass
class CpuShares:
    """Percent of all cores' time during the phase."""

    run_pct: float = 0.0
    services_pct: float = 0.0
    other_pct: float = 0.0
    stolen_pct: float = 0.0
    seconds: float = 0.0
    # The run's share by process group (the API, each worker, the runner) and the load tool's.
    by_process: dict[str, float] = field(default_factory=dict)
    # A group of several busy processes (the API's server and its workers): each one's share,
    # largest first, so that an uneven split between server processes shows.
    split: dict[str, list[float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "run_pct": round(self.run_pct, 1),
            "services_pct": round(self.services_pct, 1),
            "other_pct": round(self.other_pct, 1),
            "stolen_pct": round(self.stolen_pct, 1),
            "by_process_pct": {name: round(pct, 1) for name, pct in self.by_process.items()},
            "split_pct": {name: [round(pct, 1) for pct in pcts] for name, pcts in self.split.items()},
            "seconds": round(self.seconds, 1),
        }


@contextmanager
def cpu_watch(groups: Mapping[int, str]) -> Iterator[CpuShares]:
    """Shares of CPU during the ``with`` block; ``groups`` are the run's process groups, named.

    A load tool started and reaped inside the block counts as the run's (through the
    children's resource usage); other processes that start and end inside it are missed,
    so "other" is a lower bound.
    """
    shares = CpuShares()
    started = time.monotonic()
    busy0, total0, stolen0 = _system_ticks()
    ours0, services0 = _process_ticks(groups)
    reaped0 = _reaped_children_ticks()
    try:
        yield shares
    finally:
        busy1, total1, stolen1 = _system_ticks()
        ours1, services1 = _process_ticks(groups)
        reaped = _reaped_children_ticks() - reaped0
        total = max(1, total1 - total0)
        per_pid = {key: max(0, ticks - ours0.get(key, 0)) for key, ticks in ours1.items()}
        by_process: dict[str, int] = dict.fromkeys(groups.values(), 0)
        for (name, _), ticks in per_pid.items():
            by_process[name] += ticks
        by_process[LOAD_TOOL] = reaped
        shares.by_process = {name: 100.0 * ticks / total for name, ticks in by_process.items()}
        shares.split = _split(per_pid, total)
        run = sum(by_process.values())
        services = max(0, services1 - services0)
        shares.run_pct = 100.0 * run / total
        shares.services_pct = 100.0 * services / total
        stolen = stolen1 - stolen0
        shares.stolen_pct = 100.0 * stolen / total
        shares.other_pct = max(0.0, 100.0 * (busy1 - busy0 - run - services - stolen) / total)
        shares.seconds = time.monotonic() - started


def _split(per_pid: Mapping[tuple[str, int], int], total: int, busy_pct: float = 0.5) -> dict[str, list[float]]:
    """The groups with more than one process busier than ``busy_pct``: each one's share."""
    shares: dict[str, list[float]] = {}
    for (name, _), ticks in per_pid.items():
        shares.setdefault(name, []).append(100.0 * ticks / total)
    return {
        name: sorted(busy, reverse=True)
        for name, pcts in shares.items()
        if len(busy := [pct for pct in pcts if pct >= busy_pct]) > 1
    }


def idle_cpu_pct(sample_s: float = 1.0) -> float:
    """Share of CPU time idle over a short sample."""
    busy0, total0, _ = _system_ticks()
    time.sleep(sample_s)
    busy1, total1, _ = _system_ticks()
    return 100.0 * (1 - (busy1 - busy0) / max(1, total1 - total0))


PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def rss_by_group(groups: Iterable[int]) -> dict[int, int]:
    """Resident memory (bytes) of every process group in ``groups``, summed over its live
    processes (an API server's forked workers share its group)."""
    wanted = set(groups)
    rss = dict.fromkeys(wanted, 0)
    for _, _, rest in _processes():
        pgrp = int(rest[2])
        if pgrp in wanted:
            rss[pgrp] += int(rest[21]) * PAGE_BYTES  # field 24 of proc(5): resident pages
    return rss
