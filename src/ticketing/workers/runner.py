"""Runs one worker until SIGTERM/SIGINT, with its own resources and metrics."""

from __future__ import annotations

import asyncio
import signal

from ticketing.bootstrap import open_resources
from ticketing.observability.logging import configure_logging
from ticketing.settings import Settings
from ticketing.workers.confirm_consumer import ConfirmConsumer
from ticketing.workers.hold_expirer import HoldExpirer
from ticketing.workers.outbox_relay import OutboxRelay
from ticketing.workers.queue_advancer import QueueAdvancer
from ticketing.workers.refunder import Refunder

WORKERS: dict[str, type[QueueAdvancer | HoldExpirer | OutboxRelay | ConfirmConsumer | Refunder]] = {
    w.name: w for w in (QueueAdvancer, HoldExpirer, OutboxRelay, ConfirmConsumer, Refunder)
}


async def run_worker(settings: Settings, name: str) -> None:
    configure_logging(settings.log_format, settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_resources(settings) as res:
        await WORKERS[name](res).run(stop)
