"""The API server as deployed (``ticketing api``, granian): idle keep-alive connections.

A waiting buyer polls up to 36 s apart (30 s + 20 %) on one keep-alive connection. A
server that closes idle connections sooner races every such poll: the request goes out
just as the connection closes, and a POST is not retried (the benchmark saw a hold
answered with EOF). The idle limit is ``TICKETING_API_KEEP_ALIVE_S``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from ticketing.devtools.broker import free_port
from ticketing.domain.waiting_room import MAX_POLL_MS, poll_after_ms
from ticketing.settings import Settings

KEEP_ALIVE_S = 2


@pytest.fixture
def api_server(settings: Settings) -> Iterator[int]:
    port = free_port()
    env = os.environ | {
        "TICKETING_DATABASE_URL": settings.database_url,
        "TICKETING_REDIS_URL": settings.redis_url,
        "TICKETING_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "TICKETING_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "TICKETING_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "TICKETING_API_HOST": "127.0.0.1",
        "TICKETING_API_PORT": str(port),
        "TICKETING_API_KEEP_ALIVE_S": str(KEEP_ALIVE_S),
        "TICKETING_ENVIRONMENT": "development",
        "TICKETING_LOG_LEVEL": "WARNING",
    }
    argv = [sys.executable, "-m", "ticketing.cli", "api", "--workers", "1"]
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"ticketing api exited with {process.returncode}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "ticketing api did not answer /healthz within 30 s"
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def request_after_idle(port: int, idle_s: float) -> bytes:
    """Send a request on a keep-alive connection after ``idle_s`` of silence; b"" when the
    server had closed the connection meanwhile."""
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(idle_s)
        try:
            s.sendall(request)
            return s.recv(4096)
        except ConnectionError:
            return b""


def test_the_server_keeps_an_idle_connection_for_the_configured_keep_alive(api_server: int) -> None:
    assert request_after_idle(api_server, KEEP_ALIVE_S / 2).startswith(b"HTTP/1.1 200")
    assert request_after_idle(api_server, KEEP_ALIVE_S + 1.5) == b""


def test_the_default_keep_alive_outlives_the_longest_poll_the_waiting_room_asks_for() -> None:
    longest_poll_ms = poll_after_ms(eta_s=10**6, pass_ttl_s=10**6, spread=0.999)
    assert longest_poll_ms >= MAX_POLL_MS
    assert Settings.model_fields["api_keep_alive_s"].default * 1000 >= longest_poll_ms * 2
