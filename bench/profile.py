"""BENCH_PROFILE=1: py-spy samples the API (its forked workers too) and every worker process
during the losing-hold (wrk), contention and sellout phases, and the report says where their CPU went.

Each process gets one ``py-spy record`` (raw format, 20 samples/s, only samples that hold
the GIL, non-blocking so the sampled process is never paused) for the length of the phase;
the raw stacks stay in the run's work directory, ready for flamegraph.pl or speedscope. The
summary is each process's functions by own time (the leaf of each sample), as shares of its
samples: the Python CPU time, not the waits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from bench.stack import Stack

# A full-size run at 100/s on every process starved the sale (150 of 1,000 seats sold; holds
# written 3 s after their lock script): sample less, and only where Python holds the GIL.
RATE_HZ = 20
TOP = 8


def enabled() -> bool:
    return os.environ.get("BENCH_PROFILE") == "1"


def py_spy() -> str:
    return str(Path(sys.executable).with_name("py-spy"))


def top_functions(raw: Path, top: int = TOP) -> tuple[int, list[tuple[str, float]]]:
    """(samples, [(function, share of samples %)]) by own time, from py-spy's raw output:
    one line per distinct stack, ``frame;frame;...;leaf count``."""
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        if leaf.startswith("process "):
            continue  # --subprocesses roots each stack in its process; no Python frame under it
        own[leaf] += int(count)
        total += int(count)
    if total == 0:
        return 0, []
    return total, [(name, 100 * n / total) for name, n in own.most_common(top)]


@contextlib.contextmanager
def during(stack: Stack, phase: str, profiles: dict[str, dict[str, object]]) -> Iterator[None]:
    """Sample every process of the stack while the block runs (nothing when BENCH_PROFILE is not 1)."""
    if not enabled():
        yield
        return
    recorders: list[tuple[str, Path, subprocess.Popen[bytes]]] = []
    for child in stack.children:
        if not child.alive or child.name.startswith("redis"):
            continue
        out = stack.work_dir / f"profile-{phase}-{child.name}.txt"
        argv = [py_spy(), "record", "--pid", str(child.pid), "--rate", str(RATE_HZ), "--nonblocking", "--gil"]
        argv += ["--format", "raw", "--output", str(out)]
        argv += ["--subprocesses"] if child.name.startswith("api") else []
        recorders.append((child.name, out, subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
    try:
        yield
    finally:
        for _, _, recorder in recorders:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        found: dict[str, object] = {}
        for name, out, recorder in recorders:
            try:
                recorder.wait(timeout=60)
            except subprocess.TimeoutExpired:
                recorder.kill()
                recorder.wait()
            if out.exists():
                samples, functions = top_functions(out)
                found[name] = {"samples": samples, "top": functions, "raw": str(out)}
        profiles[phase] = found


def markdown_section(profiles: dict[str, dict[str, object]]) -> list[str]:
    if not profiles:
        return []
    lines = [
        "## Where the CPU went (py-spy, BENCH_PROFILE=1)",
        "",
        f"Own time per function, as a share of each process's samples ({RATE_HZ}/s, holding the GIL);"
        " raw stacks in the work dir. The sampling slows the stack: compare runs without it.",
        "",
    ]
    for phase, processes in profiles.items():
        lines += [f"### {phase}", ""]
        for name, found in processes.items():
            assert isinstance(found, dict)
            top = ", ".join(f"{function} {share:.0f}%" for function, share in found["top"])
            lines.append(f"- **{name}** ({found['samples']:,} samples): {top or 'no samples'}")
        lines.append("")
    return lines
