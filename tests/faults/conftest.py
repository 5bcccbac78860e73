"""Fixtures of the fault suite, the results table at the end of the run, logs on failure.

- ``fault_stack``: a fresh ``Stack`` (private MariaDB, Redis, broker; API and every worker
  as subprocesses), stopped and removed after the test. Other settings for a test:
  ``@pytest.mark.stack_env({"TICKETING_RELAY_LEASE_S": "3"})``, and for one process only
  ``@pytest.mark.stack_env(process_env={"hold-expirer": {...}})`` (``open_stack()``'s arguments).
- ``fault_results``: the session's ``FaultResults``; ``fault_results.add(row)`` before
  asserting, so a failing row is in the table too.

Which tests run: every fault test is marked ``faults``. Plain ``pytest`` (``make test``) runs
only those also marked ``faults_quick`` (Redis data loss, confirm-consumer kill -9, duplicate
delivery: about a minute together); ``make faults`` runs them all (``-m faults``), and
``-m "faults and not faults_slow"`` leaves out the ones that wait out a long fault.

When a test using ``fault_stack`` fails, the tails of every process's log are attached to
its report. After the run the table is printed and saved as JSON (path printed with it).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.faults.results import FaultResults
from tests.faults.stack import Stack, open_stack

RESULTS_KEY = pytest.StashKey[FaultResults]()
RESULTS_DIR = Path(tempfile.gettempdir()) / "ticketing-faults"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS_KEY] = FaultResults()


@pytest.fixture
def fault_results(request: pytest.FixtureRequest) -> FaultResults:
    return request.config.stash[RESULTS_KEY]


@pytest.fixture
def fault_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    marker = request.node.get_closest_marker("stack_env")
    env = dict(marker.args[0]) if marker and marker.args else {}
    process_env = dict(marker.kwargs.get("process_env", {})) if marker else {}
    with open_stack(env=env, process_env=process_env) as stack:
        yield stack


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed:
        stack = getattr(item, "funcargs", {}).get("fault_stack")
        if isinstance(stack, Stack):
            report.sections.append((f"fault stack logs ({stack.work_dir})", stack.log_tails()))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    results = config.stash.get(RESULTS_KEY, None)
    if results is None or not results.rows:
        return
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results.write_json(RESULTS_DIR / f"results-{stamp}.json")
    shutil.copyfile(path, RESULTS_DIR / "last-results.json")
    terminalreporter.write_sep("=", "fault results")
    terminalreporter.write_line(results.render())
    terminalreporter.write_line(f"saved as {path} (and {RESULTS_DIR / 'last-results.json'})")
