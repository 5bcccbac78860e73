"""One list of workers: every name can be run, and every runnable worker is on the list."""

from ticketing.workers import WORKER_NAMES
from ticketing.workers.runner import WORKERS


def test_the_worker_list_names_exactly_the_runnable_workers() -> None:
    assert tuple(WORKERS) == WORKER_NAMES
