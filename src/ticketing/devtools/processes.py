"""The processes the project's own launchers start: ``ticketing dev``, ``ticketing cluster``,
the benchmark and the fault suite all hold their children through ``ChildProcess``.

A child leads its own session, so signals go to its whole process group (an API server's
forked workers stop and die with it) and a Ctrl-C in the terminal reaches only the launcher,
which then stops every child in order. Its output goes either to a log file or, through a
``LineRelay``, to the launcher's terminal one whole line at a time, prefixed with its name:
several processes sharing one terminal never cut into each other's lines.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, BinaryIO

STOP_GRACE_S = 10.0
PREFIX_WIDTH = 18

# One lock for everything this process writes to its terminal: the relayed lines of every
# child and the launcher's own messages.
_terminal = threading.Lock()


def say(message: str, stream: IO[str] | None = None) -> None:
    """One line from the launcher itself, never cut into a relayed line (stderr by default)."""
    out = sys.stderr if stream is None else stream
    with _terminal:
        out.write(message.rstrip("\n") + "\n")
        out.flush()


class LineRelay:
    """Copies a child's output to ``sink`` line by line, each line whole and prefixed with
    ``name``; a thread per child, one lock for the sink."""

    def __init__(self, name: str, source: IO[bytes], sink: BinaryIO, width: int = PREFIX_WIDTH) -> None:
        self._prefix = f"{name:<{width}}| ".encode()
        self._source = source
        self._sink = sink
        self._thread = threading.Thread(target=self._copy, name=f"relay-{name}", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        with self._source:
            for line in iter(self._source.readline, b""):
                text = self._prefix + (line if line.endswith(b"\n") else line + b"\n")
                with _terminal:
                    try:
                        self._sink.write(text)
                        self._sink.flush()
                    except (BrokenPipeError, ValueError):  # the terminal went away
                        return

    def join(self, timeout_s: float) -> None:
        """Until the child's last line is out (its side of the pipe closed) or ``timeout_s``."""
        self._thread.join(timeout_s)


class ChildProcess:
    """One process a launcher started, signalled only while it is alive and unreaped.

    With ``own_group`` (the default) the process leads a new session, and signals go to its
    whole process group. The exit is detected with ``waitid(WNOWAIT)``, which leaves the
    zombie in place, so the pid (and the group id) cannot be recycled until ``_reap()``;
    stragglers of the group are SIGKILLed before that.
    """

    def __init__(
        self, name: str, process: subprocess.Popen[bytes], own_group: bool = True, relay: LineRelay | None = None
    ) -> None:
        self.name = name
        self.process = process
        self.own_group = own_group
        self.relay = relay
        self.paused = False
        self._reaped = False

    @classmethod
    def spawn(
        cls,
        name: str,
        argv: Sequence[str],
        log_path: Path | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        sink: BinaryIO | None = None,
    ) -> ChildProcess:
        """Start ``argv`` in its own session; stdout and stderr appended to ``log_path``, or
        (without one) relayed whole-line and name-prefixed to ``sink`` (this process's stdout)."""
        if log_path is not None:
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    list(argv),
                    env=env,
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            return cls(name, process)
        process = subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert process.stdout is not None
        return cls(name, process, relay=LineRelay(name, process.stdout, sink or sys.stdout.buffer))

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        """Running or stopped (SIGSTOP), not exited. Does not reap."""
        if self._reaped:
            return False
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return info is None

    @property
    def returncode(self) -> int | None:
        """The exit code (negative: the signal), once exited; ``None`` while alive. Reaps."""
        if self.alive:
            return None
        self.kill()
        return self.process.returncode

    def send(self, sig: signal.Signals) -> bool:
        """Signal the process (its group when it leads one); ``False`` if it already exited."""
        if not self.alive:
            return False
        try:
            if self.own_group:
                os.killpg(self.pid, sig)
            else:
                os.kill(self.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def pause(self) -> None:
        if self.send(signal.SIGSTOP):
            self.paused = True

    def resume(self) -> None:
        self.send(signal.SIGCONT)
        self.paused = False

    def wait_exit(self, timeout_s: float) -> bool:
        """Until the process exits or ``timeout_s`` passes; ``True`` if it exited. Does not reap."""
        deadline = time.monotonic() + timeout_s
        while self.alive:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True

    def terminate(self) -> None:
        """SIGTERM, without waiting. A paused process is resumed first, or it could not act on it."""
        if self.paused:
            self.resume()
        self.send(signal.SIGTERM)

    def finish(self, deadline: float) -> bool:
        """After ``terminate()``: wait until ``deadline`` (monotonic), then SIGKILL what is left;
        reap. Returns ``True`` when the process had exited by itself."""
        exited = self.wait_exit(max(0.0, deadline - time.monotonic()))
        self.kill()
        return exited

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``; returns once the process is gone."""
        self.terminate()
        self.finish(time.monotonic() + grace_s)

    def kill(self) -> None:
        """SIGKILL (the group too, so no forked child survives its parent); returns once gone."""
        if self._reaped:
            return
        if self.own_group:
            # Also when the leader already exited: its zombie keeps the group id ours.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        elif self.alive:
            os.kill(self.pid, signal.SIGKILL)
        self._reap()

    def _reap(self) -> None:
        if not self._reaped:
            self.process.wait()
            self._reaped = True
            self.paused = False
            if self.relay is not None:
                self.relay.join(2.0)


def stop_all(children: Iterable[ChildProcess], grace_s: float = STOP_GRACE_S) -> list[str]:
    """SIGTERM every child at once (they stop in parallel), then reap each one, SIGKILLing
    what is still there after ``grace_s``. Returns the names of the ones that had to be killed."""
    children = list(children)
    for child in children:
        child.terminate()
    deadline = time.monotonic() + grace_s
    return [child.name for child in children if not child.finish(deadline)]
