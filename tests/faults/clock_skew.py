"""A process whose wall clock is off, with libfaketime (Debian: ``make fault-tools``).

``skewed_env(+20)`` is the environment that makes a child's ``time.time()`` and
``datetime.now()`` run 20 s ahead of the host's; ``time.monotonic()`` is left alone
(``FAKETIME_DONT_FAKE_MONOTONIC``), so the child's timers and asyncio loop run as usual:
only what it believes the time of day to be is wrong, as on a host whose NTP drifted.
``measured_skew_s()`` checks that the library really does that to a Python child.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from pathlib import Path

LIBRARY_GLOB = "/usr/lib/*/faketime/libfaketime.so.1"


def libfaketime() -> str | None:
    """The path of libfaketime.so.1 (Debian package ``libfaketime``), or None."""
    found = sorted(glob.glob(LIBRARY_GLOB))
    return found[0] if found else None


def skewed_env(offset_s: int) -> dict[str, str]:
    """Variables for a child whose wall clock is ``offset_s`` seconds off (+ fast, - slow).
    Without the library (check ``libfaketime()`` first) the child runs on the true time."""
    library = libfaketime() or LIBRARY_GLOB.replace("*", "x86_64-linux-gnu")
    preload = " ".join(p for p in (library, os.environ.get("LD_PRELOAD", "")) if p)
    return {"LD_PRELOAD": preload, "FAKETIME": f"{offset_s:+d}s", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


PROBE = "import datetime, time; print(time.time(), datetime.datetime.now(datetime.UTC).timestamp(), time.monotonic())"


def measured_skew_s(offset_s: int) -> tuple[float, float]:
    """(skew of ``time.time()``, skew of ``datetime.now(UTC)``) in a Python child run with
    ``skewed_env(offset_s)``, against this process's clock (within the child's start-up time)."""
    before = time.time()
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**os.environ, **skewed_env(offset_s)},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    after = time.time()
    wall, now, _monotonic = (float(x) for x in done.stdout.split())
    midpoint = (before + after) / 2
    return wall - midpoint, now - midpoint


def process_skew(pid: int) -> str | None:
    """The ``FAKETIME`` a running process was started with (from /proc), or None."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in environ:
        if item.startswith(b"FAKETIME="):
            return item.removeprefix(b"FAKETIME=").decode()
    return None
