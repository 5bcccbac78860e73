"""The command line: tokens for scripts, and `ticketing dev` starting and stopping its whole tree."""

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ticketing.adapters.access_tokens import AccessTokens
from ticketing.cli import main
from ticketing.devtools.broker import free_port
from ticketing.settings import Settings


def run_cli(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(args)) == 0
    return out.getvalue()


def test_token_prints_one_verifiable_token() -> None:
    token = run_cli("token", "--user", "alice", "--admin").strip()
    principal = AccessTokens(Settings().jwt_secret).read(token)
    assert (principal.user_id, principal.is_admin) == ("alice", True)


def test_token_count_prints_n_tokens_for_numbered_users() -> None:
    lines = run_cli("token", "--count", "250", "--prefix", "lt-").splitlines()
    tokens = AccessTokens(Settings().jwt_secret)
    assert len(lines) == 250
    assert [tokens.read(t).user_id for t in lines[:3]] == ["lt-1", "lt-2", "lt-3"]
    assert tokens.read(lines[-1]).user_id == "lt-250"


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_dev(
    settings: Settings, tmp_path: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int, Path]:
    """`ticketing dev` on a per-test database, Redis prefix and ports (and ``extra_env``);
    returns once /readyz is 200. Returns (process, API port, log file)."""
    api_port = free_port()
    env = {
        **os.environ,
        "TICKETING_DATABASE_URL": settings.database_url,
        "TICKETING_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "TICKETING_API_PORT": str(api_port),
        "TICKETING_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "TICKETING_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ticketing.cli", "dev"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    ready = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(log.read_text())
        try:
            ready = httpx.get(f"http://127.0.0.1:{api_port}/readyz", timeout=2)
            if ready.status_code == 200:
                return proc, api_port, log
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    raise AssertionError(f"not ready within 60 s: {ready.text if ready else 'no answer'}\n{log.read_text()}")


def test_dev_starts_everything_and_sigterm_stops_every_child(settings: Settings, tmp_path: Path) -> None:
    proc, api_port, log = start_dev(settings, tmp_path)
    try:
        events = httpx.get(f"http://127.0.0.1:{api_port}/api/v1/events?limit=200").json()
        assert any(e["title"].startswith("Demo") for e in events)
        # `make run` tells a newcomer where to buy a ticket, and that page is there.
        deadline = time.monotonic() + 20
        while f"Buy        http://127.0.0.1:{api_port}/ " not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert f"Buy        http://127.0.0.1:{api_port}/ " in log.read_text()
        assert httpx.get(f"http://127.0.0.1:{api_port}/").status_code == 200
        tree = descendants(proc.pid)
        assert len(tree) >= 3  # broker, API, queue advancer

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        time.sleep(0.2)
        assert not [pid for pid in tree if alive(pid)], "orphaned children left behind"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_migrating_a_database_that_exists_prints_nothing_alarming(settings: Settings) -> None:
    env = {**os.environ, "TICKETING_DATABASE_URL": settings.database_url}
    outputs = [
        subprocess.run(
            [sys.executable, "-m", "ticketing.cli", "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for _ in range(2)
    ]
    assert [done.returncode for done in outputs] == [0, 0]
    second = outputs[1].stdout + outputs[1].stderr
    assert "exists" not in second.lower(), second
    assert "warning" not in second.lower(), second


def test_probe_answers_0_only_while_the_process_port_answers_200() -> None:
    import http.server
    import threading

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/metrics" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    env = {**os.environ, "TICKETING_METRICS_PORT": str(port)}
    probe = [sys.executable, "-m", "ticketing.cli", "probe", "--timeout-s", "1"]
    down = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert down.returncode == 1
    assert "unhealthy" in down.stderr
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Metrics)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        up = subprocess.run(probe, env=env, capture_output=True, text=True, timeout=30, check=False)
        assert up.returncode == 0, up.stderr
        api = {**os.environ, "TICKETING_METRICS_PORT": "0", "TICKETING_API_PORT": str(port)}
        not_api = subprocess.run(probe, env=api, capture_output=True, text=True, timeout=30, check=False)
        assert not_api.returncode == 1, "the API probe asks /healthz, which this server answers 404"
    finally:
        server.shutdown()
        server.server_close()
