"""Runs one worker until SIGTERM/SIGINT, with its own resources and metrics."""

from __future__ import annotations

import asyncio
import signal

import structlog

from ticketing.bootstrap import open_resources
from ticketing.observability.logging import configure_logging
from ticketing.observability.metrics import serve_metrics
from ticketing.settings import Settings
from ticketing.workers.confirm_consumer import ConfirmConsumer
from ticketing.workers.hold_expirer import HoldExpirer
from ticketing.workers.loop import Worker
from ticketing.workers.outbox_relay import OutboxRelay
from ticketing.workers.queue_advancer import QueueAdvancer
from ticketing.workers.reconciler import Reconciler
from ticketing.workers.refunder import Refunder
from ticketing.workers.retention import Retention

WORKERS: dict[str, type[Worker]] = {
    w.name: w for w in (QueueAdvancer, HoldExpirer, OutboxRelay, ConfirmConsumer, Refunder, Reconciler, Retention)
}

log = structlog.get_logger("ticketing.worker")


async def run_worker(settings: Settings, name: str) -> None:
    configure_logging(settings.log_format, settings.log_level)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_resources(settings) as res:
        server = None
        if settings.metrics_port > 0:
            server = serve_metrics(res.metrics, settings.api_host, settings.metrics_port)
            log.info("metrics_serving", worker=name, url=f"http://{settings.api_host}:{settings.metrics_port}/metrics")
        try:
            await WORKERS[name](res).run(stop)
        finally:
            if server is not None:
                # shutdown() blocks until the serving thread notices (up to its 0.5 s poll).
                await asyncio.to_thread(server.shutdown)
                server.server_close()
