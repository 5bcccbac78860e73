"""Private MariaDB, Redis and Kafka-protocol broker for one fault test, on free loopback ports.

A fault test kills, pauses, restarts or wipes these, so it never uses the shared services
(``../shared/services.md``, "Private instances"). Each instance:

- lives in a temporary directory of its own, removed by ``close()`` (``TICKETING_FAULTS_KEEP=1``
  keeps it for a post-mortem);
- picks a free port on 127.0.0.1 once, at construction, and keeps it across restarts, so the
  service's clients reconnect to the same address as they would in production;
- signals only the process it started, by pid (and that process's own group), and only
  while the process is known to be alive and unreaped, so a recycled pid is never hit.

Controls (all synchronous; ``astart``/``astop``/``arestart`` run them in a thread so an async
test's buyers keep running meanwhile):

==============  ===================================================================
``start()``     start and wait until it answers (a restart keeps the port)
``stop()``      SIGTERM, then SIGKILL after a grace period; waits for the exit
``kill()``      SIGKILL (a crash); waits for the exit
``pause()``     SIGSTOP: the process keeps its sockets but answers nothing (a hang)
``resume()``    SIGCONT
``restart()``   ``stop()`` then ``start()`` on the same port
``close()``     stop and remove the directory; ``with PrivateRedis() as r:`` does both ends
==============  ===================================================================
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from ticketing.devtools.broker import LocalBroker, free_port, start_broker
from ticketing.devtools.processes import STOP_GRACE_S, ChildProcess

T = TypeVar("T")

KEEP_ENV = "TICKETING_FAULTS_KEEP"
READY_TIMEOUT_S = 60.0
# A free port found by binding port 0 can be taken by someone else before the server binds it.
START_ATTEMPTS = 3


def keep_dirs() -> bool:
    """``TICKETING_FAULTS_KEEP=1``: leave temporary directories (logs, datadirs) behind for a post-mortem."""
    return os.environ.get(KEEP_ENV, "") not in ("", "0")


def run_coroutine(coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
    """Run ``coro`` to completion on a fresh event loop in a fresh thread: works from sync
    code and from inside a running loop alike (the caller blocks, its loop does not run)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=timeout_s)


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ('' if it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class PrivateService:
    """What every private instance shares: a directory, a fixed port, one child process."""

    kind: ClassVar[str] = "service"

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix=f"faults-{self.kind}-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self._port_pinned = port is not None
        self.child: ChildProcess | None = None
        self.starts = 0

    # -- what each service defines -------------------------------------------------------

    def _spawn(self) -> ChildProcess:
        raise NotImplementedError

    def _answers(self) -> bool:
        """One readiness probe: does the server answer a real request?"""
        raise NotImplementedError

    @property
    def log_path(self) -> Path:
        return self.root / f"{self.kind}.log"

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None and self.child.alive else None

    @property
    def running(self) -> bool:
        return self.child is not None and self.child.alive

    @property
    def paused(self) -> bool:
        return self.child is not None and self.child.paused

    def start(self, ready_timeout_s: float = READY_TIMEOUT_S) -> None:
        """Start the server and wait until it answers; a no-op when it is already running."""
        if self.running:
            return
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self.child = self._spawn()
                self._wait_ready(ready_timeout_s)
            except _ExitedEarly:
                if self.child is not None:
                    self.child.kill()
                if attempt == START_ATTEMPTS:
                    raise RuntimeError(f"{self.kind} would not start:\n{tail(self.log_path)}") from None
                if self.starts == 0 and not self._port_pinned:
                    self.port = free_port()  # first start only: later starts must keep the address
                time.sleep(0.5)
                continue
            except BaseException:
                if self.child is not None:
                    self.child.kill()
                raise
            self.starts += 1
            return

    def _wait_ready(self, timeout_s: float) -> None:
        assert self.child is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.child.alive:
                raise _ExitedEarly
            if self._answers():
                return
            time.sleep(0.05)
        raise TimeoutError(
            f"{self.kind} did not answer on port {self.port} within {timeout_s} s:\n{tail(self.log_path)}"
        )

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM (SIGCONT first if paused), SIGKILL after ``grace_s``; waits for the exit."""
        if self.child is not None:
            self.child.stop(grace_s)

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed or closed cleanly; waits for the exit."""
        if self.child is not None:
            self.child.kill()

    def pause(self) -> None:
        """SIGSTOP: connections stay open but nothing is answered (a hung server, a long GC, a VM stall)."""
        if self.child is not None:
            self.child.pause()

    def resume(self) -> None:
        if self.child is not None:
            self.child.resume()

    def restart(self, grace_s: float = STOP_GRACE_S) -> None:
        """A clean stop then a start on the same port (``kill()`` then ``start()`` for a crash-restart)."""
        self.stop(grace_s)
        self.start()

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def arestart(self) -> None:
        await asyncio.to_thread(self.restart)

    def close(self) -> None:
        """Stop the server and remove its directory (unless ``TICKETING_FAULTS_KEEP=1``)."""
        try:
            self.stop()
        finally:
            if self._own_root and not keep_dirs():
                shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} 127.0.0.1:{self.port} pid={self.pid}>"


class _ExitedEarly(Exception):
    """The server exited before it answered (typically: the port was taken)."""


# Small and quick, but durable: innodb_flush_log_at_trx_commit stays 1, so a SIGKILL loses
# nothing committed, as with a production server. Six service processes open up to ~36
# connections each; the default max_connections (151) would be the first thing to fail.
MARIADB_OPTIONS = (
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=32M",
    "--max-connections=1000",
    "--skip-name-resolve",
    "--performance-schema=OFF",
)


class PrivateMariaDB(PrivateService):
    """A MariaDB server of its own: root without a password over TCP on 127.0.0.1.

    The datadir is created on the first start (``mariadb-install-db``) and kept by
    ``restart()``/``kill()``+``start()``: a restart, not a wipe (InnoDB recovers on start).
    """

    kind = "mariadb"

    def __init__(self, root: Path | None = None, port: int | None = None, options: Sequence[str] = ()) -> None:
        super().__init__(root, port)
        self.options = (*MARIADB_OPTIONS, *options)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "ticketing") -> str:
        """The SQLAlchemy URL of ``database`` on this server (the driver the service uses)."""
        return f"mysql+asyncmy://root@127.0.0.1:{self.port}/{database}"

    def _install(self) -> None:
        with self.log_path.open("ab") as log:
            subprocess.run(
                [
                    "mariadb-install-db",
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    "--user=root",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=True,
            )

    def _spawn(self) -> ChildProcess:
        if not (self.datadir / "mysql").is_dir():
            self._install()
        argv = [
            "mariadbd",
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.root / 'mysqld.sock'}",
            f"--pid-file={self.root / 'mysqld.pid'}",
            "--user=root",
            "--skip-log-bin",
            *self.options,
        ]
        return ChildProcess.spawn(self.kind, argv, self.log_path)

    def _answers(self) -> bool:
        try:
            run_coroutine(self._select_one(), timeout_s=5.0)
        except Exception:
            return False
        return True

    async def _select_one(self) -> None:
        import asyncmy

        conn = await asyncmy.connect(host="127.0.0.1", port=self.port, user="root", password="", connect_timeout=1)
        try:
            async with conn.cursor() as cursor:
                await cursor.execute("SELECT 1")
        finally:
            conn.close()

    def execute(self, sql: str, database: str | None = None) -> list[tuple[Any, ...]]:
        """Run one statement as root (sync, for set-up and inspection); returns the rows."""
        return run_coroutine(self._execute(sql, database), timeout_s=30.0)

    async def _execute(self, sql: str, database: str | None) -> list[tuple[Any, ...]]:
        import asyncmy

        conn = await asyncmy.connect(
            host="127.0.0.1", port=self.port, user="root", password="", db=database, autocommit=True
        )
        try:
            async with conn.cursor() as cursor:
                await cursor.execute(sql)
                return list(await cursor.fetchall() or [])
        finally:
            conn.close()


class PrivateRedis(PrivateService):
    """A Redis server of its own, keeping nothing on disk: any restart comes back empty
    unless ``restart(wipe=False)`` snapshots first."""

    kind = "redis"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _spawn(self) -> ChildProcess:
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.root),
            "--dbfilename",
            "dump.rdb",
        ]
        return ChildProcess.spawn(self.kind, argv, self.log_path)

    def _client(self) -> Any:
        from redis import Redis

        return Redis(host="127.0.0.1", port=self.port, socket_timeout=2.0, socket_connect_timeout=1.0)

    def _answers(self) -> bool:
        from redis.exceptions import RedisError

        client = self._client()
        try:
            return bool(client.ping())
        except (RedisError, OSError):
            return False
        finally:
            client.close()

    def restart(self, grace_s: float = STOP_GRACE_S, wipe: bool = True) -> None:
        """Stop and start on the same port. ``wipe=True`` (the default): back empty, every key
        lost, as after a crash of a cache without persistence. ``wipe=False``: SAVE first and
        load the snapshot on start (a clean restart with persistence)."""
        dump = self.root / "dump.rdb"
        dump.unlink(missing_ok=True)
        if not wipe and self.running:
            client = self._client()
            try:
                client.save()
            finally:
                client.close()
        self.stop(grace_s)
        self.start()
        dump.unlink(missing_ok=True)

    def flushall(self) -> None:
        """Delete every key (allowed: this Redis is private to the test)."""
        client = self._client()
        try:
            client.flushall()
        finally:
            client.close()

    def dbsize(self) -> int:
        client = self._client()
        try:
            return int(client.dbsize())
        finally:
            client.close()


class PrivateBroker(PrivateService):
    """The project's Tansu broker (``ticketing.devtools.broker``) on a port of its own.

    Tansu keeps everything in memory: ``restart()`` brings it back EMPTY on the same port,
    every topic, message and committed offset gone. ``pause()`` freezes it by pid. Measured
    here: with the service's clients connected, SIGTERM takes ~5 s to stop it (``restart()``
    blocks that long); ``kill()`` then ``start()`` is a crash-restart in ~30 ms.
    """

    kind = "broker"

    def __init__(self, root: Path | None = None, port: int | None = None) -> None:
        super().__init__(root, port)
        self.local: LocalBroker | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _spawn(self) -> ChildProcess:
        try:
            self.local = start_broker(self.port)
        except RuntimeError:  # exited at once: the port is taken (by a broker still stopping?)
            self.local = None
            raise _ExitedEarly from None
        # Not a group leader (start_broker does not make one): signalled by pid alone.
        return ChildProcess(self.kind, self.local.process, own_group=False)

    def _answers(self) -> bool:
        return True  # start_broker returned: it accepts connections


def start_all(services: Sequence[PrivateService]) -> None:
    """Start several services at once (each mostly waits for its own server)."""
    with ThreadPoolExecutor(max_workers=max(1, len(services))) as pool:
        for future in [pool.submit(s.start) for s in services]:
            future.result()


__all__ = [
    "ChildProcess",
    "PrivateBroker",
    "PrivateMariaDB",
    "PrivateRedis",
    "PrivateService",
    "start_all",
    "tail",
]
