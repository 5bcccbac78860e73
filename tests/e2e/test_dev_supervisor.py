"""`ticketing dev` as an orchestrator: a dead worker or API is restarted with backoff, a signal stops all."""

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_cli import alive, descendants, start_dev
from ticketing.devtools.processes import ChildProcess
from ticketing.devtools.supervisor import Child
from ticketing.settings import Settings


def test_child_that_keeps_dying_is_restarted_with_doubling_capped_backoff_and_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    child = Child("crasher", [sys.executable, "-c", "import sys; sys.exit(3)"], dict(os.environ))
    # The clock is ours: the processes are real, the waits between restarts are not slept.
    now = 100.0
    child.start(now)
    delays_s = []
    pids = []
    try:
        for _ in range(6):
            assert child.process is not None
            pids.append(child.process.pid)
            assert child.process.wait_exit(timeout_s=10)
            now += 1.0
            child.poll(now)
            assert child.process is None
            assert child.next_start_at is not None
            delays_s.append(child.next_start_at - now)
            child.poll(child.next_start_at - 0.01)
            assert child.process is None, "restarted before its backoff was over"
            now = child.next_start_at
            child.poll(now)
        assert delays_s == pytest.approx([0.5, 1.0, 2.0, 4.0, 8.0, 10.0])
        assert (child.restarts, child.last_exit_code) == (6, 3)
        assert len(set(pids)) == 6

        # Up for 30 s before dying again: the next restart comes after the initial delay again.
        assert child.process is not None
        assert child.process.wait_exit(timeout_s=10)
        child.poll(now + 30.0)
        assert child.next_start_at == pytest.approx(now + 30.5)
        assert child.restarts == 7
    finally:
        if child.process is not None:
            child.process.kill()

    log = capsys.readouterr().err.splitlines()
    assert log[0] == "ticketing dev: crasher exited with code 3; restart 1 in 0.5 s"
    assert log[5] == "ticketing dev: crasher exited with code 3; restart 6 in 10 s"
    assert len(log) == 7


def running_children(parent: int, cmdline_part: str) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and cmdline_part in cmdline:
            found.add(int(stat.parent.name))
    return found


def test_dev_restarts_a_killed_worker_and_sigterm_still_stops_every_child(settings: Settings, tmp_path: Path) -> None:
    proc, _, log = start_dev(settings, tmp_path)
    try:
        [killed] = running_children(proc.pid, "worker hold-expirer")
        os.kill(killed, signal.SIGKILL)
        deadline = time.monotonic() + 10
        replacement: set[int] = set()
        while time.monotonic() < deadline and not replacement:
            time.sleep(0.1)
            replacement = running_children(proc.pid, "worker hold-expirer") - {killed}
        assert len(replacement) == 1, "no new hold-expirer within 10 s\n" + log.read_text()
        assert proc.poll() is None, log.read_text()
        assert not alive(killed)

        tree = descendants(proc.pid)
        assert replacement <= tree
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0, log.read_text()
        time.sleep(0.2)
        assert not [pid for pid in tree if alive(pid)], "orphaned children left behind"
        output = log.read_text()
        assert "ticketing dev: hold-expirer exited with code -9; restart 1 in 0.5 s" in output
        assert "hold-expirer 1, outbox-relay 0" in output.splitlines()[-1]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


WRITER = r"""
import os, sys, time
name = sys.argv[1]
for i in range(40):
    line = f"{name} line {i} " + name[0] * 6000
    # Written in pieces with pauses between, as a logger flushing a long record may: a
    # terminal shared by plain inheritance gets the pieces of several writers mixed up.
    for start in range(0, len(line), 1000):
        os.write(1, line[start:start + 1000].encode())
        time.sleep(0.0005)
    os.write(1, b"\n")
sys.stdout.write("no newline at the end")
"""


def test_children_sharing_one_terminal_never_cut_into_each_others_lines(tmp_path: Path) -> None:
    out_path = tmp_path / "terminal"
    names = ["alpha", "bravo", "charlie"]
    with out_path.open("wb") as terminal:
        children = [ChildProcess.spawn(n, [sys.executable, "-c", WRITER, n], sink=terminal) for n in names]
        for child in children:
            assert child.wait_exit(timeout_s=30)
            child.kill()  # reaps, and waits for the relay to pass on the last line
    lines = out_path.read_text().splitlines()
    assert len(lines) == 3 * 41
    for name in names:
        mine = [line for line in lines if line.startswith(f"{name:<18}| ")]
        expected = [f"{name:<18}| {name} line {i} " + name[0] * 6000 for i in range(40)]
        assert mine == [*expected, f"{name:<18}| no newline at the end"]
