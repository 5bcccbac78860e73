"""The one loop every background worker runs, over a small interface.

A worker says what one step of its work is and how it waits between steps; the loop does
the rest the same way for all of them: a step that raises is logged and never ends the
process, a step that reports more work waiting is followed by the next at once, a stop
signal ends the loop between steps, and the worker's resources are closed on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

import structlog

from ticketing.bootstrap import Resources

log = structlog.get_logger("ticketing.worker")


class Worker:
    """A background worker: ``step`` does one unit of work, ``idle`` waits before the next."""

    name: ClassVar[str]

    def __init__(self, resources: Resources) -> None:
        self.res = resources

    def interval_s(self) -> float:
        """How long ``idle`` waits by default."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Extra fields for the ``worker_started`` log line."""
        return {}

    async def step(self, stop: asyncio.Event) -> bool:
        """One unit of work. Returns True when more is known to be waiting (go again at once)."""
        raise NotImplementedError

    async def idle(self, stop: asyncio.Event) -> None:
        """Wait before the next step; returns early when ``stop`` is set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=self.interval_s())

    async def failed(self) -> None:
        """After a step raised (the loop has logged it), before the loop idles."""

    async def close(self) -> None:
        """Release what the worker holds of its own (the shared resources are not its to close)."""

    async def run(self, stop: asyncio.Event) -> None:
        await run_loop(self, stop)


async def run_loop(worker: Worker, stop: asyncio.Event) -> None:
    """Steps ``worker`` until ``stop`` is set."""
    log.info("worker_started", worker=worker.name, **worker.describe())
    try:
        while not stop.is_set():
            try:
                if await worker.step(stop):
                    continue
            except Exception:
                log.exception("tick_failed", worker=worker.name)
                await worker.failed()
            await worker.idle(stop)
    finally:
        await worker.close()
        log.info("worker_stopped", worker=worker.name)
