"""After the load: ``ticketing check --schedule S --json`` for every schedule the run created."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.stack import Stack, cli_command

CHECK_TIMEOUT_S = 120
PARALLEL_CHECKS = 4


@dataclass
class CheckResult:
    name: str
    schedule_id: int
    exit_code: int
    document: dict[str, Any] | None
    error: str | None = None

    @property
    def violations(self) -> list[dict[str, str]]:
        return list((self.document or {}).get("violations", []))

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.document is not None and not self.violations

    def violations_of(self, invariant: str) -> int:
        return sum(1 for v in self.violations if v.get("invariant") == invariant)

    @property
    def checked(self) -> dict[str, int]:
        return dict((self.document or {}).get("checked", {}))

    def to_json(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "exit_code": self.exit_code,
            "error": self.error,
            **(self.document or {}),
        }


def command_available(stack_env: dict[str, str]) -> bool:
    """Is ``ticketing check`` there at all? (Checked before the load, so a missing one fails early.)"""
    probe = subprocess.run(cli_command("check", "--help"), env=stack_env, capture_output=True, text=True, check=False)
    return probe.returncode == 0 and "--json" in probe.stdout


def check_schedule(stack: Stack, name: str, schedule_id: int) -> CheckResult:
    """Exit 0: every invariant holds; 1: violations (listed in the JSON); anything else: the check failed."""
    done = subprocess.run(
        cli_command("check", "--schedule", str(schedule_id), "--json"),
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_S,
        check=False,
    )
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        error = (done.stderr or done.stdout).strip()[-2000:] or f"exit code {done.returncode}, no output"
        return CheckResult(name, schedule_id, done.returncode, None, error)
    return CheckResult(name, schedule_id, done.returncode, document)


def check_all(stack: Stack, schedules: dict[str, int]) -> dict[str, CheckResult]:
    """A few checks at a time: each is a short-lived process that mostly waits for its start-up."""
    with ThreadPoolExecutor(max_workers=PARALLEL_CHECKS) as pool:
        futures = {name: pool.submit(check_schedule, stack, name, sid) for name, sid in schedules.items()}
        return {name: future.result() for name, future in futures.items()}
