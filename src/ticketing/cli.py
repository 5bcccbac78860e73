"""Command line: ``ticketing dev|cluster|api|worker|migrate|seed-demo|token|check|dlq|probe|verify-ticket``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ticketing.settings import Settings
from ticketing.workers import WORKER_NAMES


def _dev(settings: Settings) -> int:
    from ticketing.devtools.supervisor import run_dev

    return run_dev(settings)


APP_FACTORY = "ticketing.api.app:app_from_env"


def _cluster(settings: Settings, base_port: int) -> int:
    from ticketing.devtools.cluster import run_cluster

    return run_cluster(settings, base_port)


def refuse_development_defaults(settings: Settings) -> None:
    """The API and the workers are what faces buyers and money: they do not run on the
    built-in secrets or the fake provider unless development mode was asked for."""
    found = settings.development_only()
    if found and not settings.development_asked_for:
        raise SystemExit(
            "refusing to start: "
            + "; ".join(found)
            + ". Set real secrets, TICKETING_FAKE_PAYMENTS_ENABLED=false and TICKETING_DEV_LOGIN_ENABLED=false"
            " (README, Configuration), or set"
            " TICKETING_ENVIRONMENT=development for local use (`make run` / `ticketing dev` do)."
        )


def _api(settings: Settings, workers: int, server: str) -> int:
    refuse_development_defaults(settings)
    if settings.api_metrics_port and workers > 1:
        raise SystemExit(
            "TICKETING_API_METRICS_PORT serves one process's metrics: run one API process per port (--workers 1)"
        )
    # granian by default: in same-run measurements here it served the hot endpoints a
    # little faster than uvicorn and, unlike uvicorn --workers, spread keep-alive
    # connections evenly over its workers (see README, Performance).
    if server == "uvicorn":
        import uvicorn

        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=settings.api_host,
            port=settings.api_port,
            workers=workers,
            backlog=settings.api_backlog,
            timeout_keep_alive=settings.api_keep_alive_s,
            loop="uvloop",
            http="httptools",
            log_level="warning",
            access_log=False,
        )
        return 0
    from granian.constants import Interfaces, Loops
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    Server(
        APP_FACTORY,
        factory=True,
        address=settings.api_host,
        port=settings.api_port,
        interface=Interfaces.ASGI,
        workers=workers,
        # A sale opens with thousands of connections in the same second; the default
        # backlog (1024) overflowed and dropped SYNs turned into 30 s client timeouts.
        backlog=settings.api_backlog,
        # granian closes a connection that sends no request for this long (idle keep-alive
        # included; its default, 30 s, is shorter than a waiting buyer's poll interval).
        http1_settings=HTTP1Settings(header_read_timeout=settings.api_keep_alive_s * 1000),
        loop=Loops.uvloop,
        log_level=LogLevels.warning,
        log_access=False,
    ).serve()
    return 0


def _worker(settings: Settings, name: str) -> int:
    refuse_development_defaults(settings)
    from ticketing.workers.runner import run_worker

    asyncio.run(run_worker(settings, name))
    return 0


def _migrate(settings: Settings) -> int:
    from ticketing.adapters.sql.database import migrate

    asyncio.run(migrate(settings.database_url))
    print("database migrated to head")
    return 0


def _seed_demo(settings: Settings) -> int:
    from ticketing.bootstrap import open_resources
    from ticketing.devtools.demo import seed_demo

    async def go() -> int:
        async with open_resources(settings) as res:
            schedule = await seed_demo(res)
            print(f"demo schedule {schedule.id} (event {schedule.event_id}), sale open")
            return 0

    return asyncio.run(go())


MAX_LINES_PER_INVARIANT = 50  # text output only; --json lists every violation


def _check(settings: Settings, schedule_id: int, grace_s: float, as_json: bool) -> int:
    """Exit 0 when every invariant holds, 1 on any violation, 2 when the schedule does not exist."""
    import json
    from datetime import timedelta

    from ticketing.bootstrap import open_resources
    from ticketing.domain.errors import ScheduleNotFound
    from ticketing.domain.ids import ScheduleId
    from ticketing.domain.invariants import AuditReport, CheckPolicy
    from ticketing.services.invariants import check_invariants

    async def go() -> AuditReport:
        async with open_resources(settings) as res:
            policy = CheckPolicy(grace=timedelta(seconds=grace_s))
            return await check_invariants(res.audit_records, res.audit_live, ScheduleId(schedule_id), policy)

    try:
        report = asyncio.run(go())
    except ScheduleNotFound as exc:
        print(exc.detail, file=sys.stderr)
        return 2
    if as_json:
        document = {
            "schedule_id": report.schedule_id,
            "violations": [{"invariant": v.invariant.value, "detail": v.detail} for v in report.violations],
            "checked": dict(report.checked),
            "pending_refunds": [
                {"order_no": r.order_no, "since": r.since.isoformat(), "retries": r.retries, "last_error": r.last_error}
                for r in report.pending_refunds
            ],
        }
        print(json.dumps(document, indent=2))
    else:
        shown: dict[str, int] = {}
        for v in report.violations:
            shown[v.invariant] = shown.get(v.invariant, 0) + 1
            if shown[v.invariant] <= MAX_LINES_PER_INVARIANT:
                print(f"[{v.invariant}] {v.detail}")
        counts = report.counts_by_invariant()
        for invariant, n in counts.items():
            if n > MAX_LINES_PER_INVARIANT:
                print(f"[{invariant}] ... and {n - MAX_LINES_PER_INVARIANT} more (see --json)")
        for r in report.pending_refunds:
            print(
                f"[pending_refund] order {r.order_no} waiting since {r.since.isoformat()}, "
                f"{r.retries} attempts, last error: {r.last_error or '-'}"
            )
        by_invariant = ", ".join(f"{invariant}: {n}" for invariant, n in counts.items())
        checked = ", ".join(f"{name}={n}" for name, n in report.checked.items())
        breakdown = f"{by_invariant}; " if by_invariant else ""
        print(f"schedule {report.schedule_id}: {len(report.violations)} violations ({breakdown}checked: {checked})")
    return 0 if report.ok else 1


def _dlq(settings: Settings, args: argparse.Namespace) -> int:
    """List dead letters, or replay them onto their original topics (idempotent consumers
    make a replay safe to repeat)."""
    import json
    from dataclasses import asdict

    from ticketing.bootstrap import open_resources
    from ticketing.services import dead_letters as use

    async def go() -> int:
        async with open_resources(settings) as res:
            if args.action == "list":
                letters = await use.list_dead_letters(res.dead_letters, args.topic)
                if args.json:
                    print(json.dumps([asdict(x) for x in letters], indent=2))
                else:
                    for x in letters:
                        print(f"{x.topic} p{x.partition} @{x.offset} consumer={x.consumer} key={x.key} {x.error}")
                    print(f"{len(letters)} dead letters")
                return 0
            replayed, skipped = await use.replay_dead_letters(
                res.dead_letters, res.publisher, args.topic, args.offset, args.partition
            )
            for x in replayed:
                print(f"replayed {x.topic} p{x.partition} @{x.offset} -> {x.original_topic}")
            for x in skipped:
                print(f"skipped {x.topic} p{x.partition} @{x.offset}: not a JSON object, replaying cannot help")
            print(f"{len(replayed)} replayed, {len(skipped)} skipped")
            return 0 if replayed or not skipped else 1

    return asyncio.run(go())


def _token(settings: Settings, args: argparse.Namespace) -> int:
    from ticketing.bootstrap import build_access_tokens
    from ticketing.domain.identity import Role

    tokens = build_access_tokens(settings)
    role = Role.ADMIN if args.admin else Role.USER
    if args.count:
        users = [f"{args.prefix}{i}" for i in range(1, args.count + 1)]
    elif args.user:
        users = [args.user]
    else:
        print("give --user U, or --count N [--prefix P]", file=sys.stderr)
        return 2
    sys.stdout.write("".join(tokens.issue(u, role) + "\n" for u in users))
    return 0


def _verify_ticket(settings: Settings, token: str, public_key: str | None) -> int:
    """Offline, as a door scanner would: 0 and the ticket's claims when the signature is good."""
    from ticketing.bootstrap import build_ticket_verifier
    from ticketing.domain.errors import TicketInvalid

    verifier = build_ticket_verifier(settings, Path(public_key).read_text() if public_key else None)
    try:
        ticket = verifier.read(token.strip())
    except TicketInvalid as exc:
        print(f"INVALID: {exc.detail}", file=sys.stderr)
        return 1
    print(
        f"VALID ticket: reservation {ticket.reservation_id}, schedule {ticket.schedule_id}, seat {ticket.seat_no},"
        f" for {ticket.user}, issued {ticket.issued_at.isoformat()}"
    )
    return 0


def _probe(settings: Settings, timeout_s: float) -> int:
    """The container healthcheck: 0 when this process answers -- a worker on its metrics port
    (``TICKETING_METRICS_PORT``), the API on ``/healthz`` -- else 1 with the reason."""
    import httpx

    port, path = (settings.metrics_port, "/metrics") if settings.metrics_port else (settings.api_port, "/healthz")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        status = httpx.get(url, timeout=timeout_s).status_code
    except httpx.HTTPError as exc:
        print(f"unhealthy: {url}: {type(exc).__name__}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ticketing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="broker, migrations, demo data, API and every worker")
    cluster = sub.add_parser(
        "cluster", help="the scale-out topology: Redis Cluster, API replicas behind HAProxy, 2x workers"
    )
    cluster.add_argument(
        "--base-port",
        type=int,
        default=7000,
        help="Redis on it..+5, API replicas +10, broker +20 (balancer: TICKETING_API_PORT)",
    )
    api = sub.add_parser("api", help="serve the HTTP API")
    api.add_argument("--workers", type=int, default=1, help="server processes")
    api.add_argument("--server", choices=("granian", "uvicorn"), default="granian")
    worker = sub.add_parser("worker", help="run one background worker")
    worker.add_argument("name", choices=WORKER_NAMES)
    sub.add_parser("migrate", help="create the database if needed and apply migrations")
    sub.add_parser("seed-demo", help="create a demo event whose sale is open")
    token = sub.add_parser("token", help="print bearer tokens signed with the configured secret")
    token.add_argument("--user", help="user id (the token's sub)")
    token.add_argument("--admin", action="store_true", help="role admin")
    token.add_argument("--count", type=int, default=0, help="print N tokens for users <prefix>1..<prefix>N")
    token.add_argument("--prefix", default="user", help="user id prefix with --count")
    check = sub.add_parser("check", help="verify every invariant of one schedule against the database and Redis")
    check.add_argument("--schedule", type=int, required=True, help="schedule id")
    check.add_argument("--json", action="store_true", help="print a JSON document instead of lines")
    check.add_argument(
        "--grace-s",
        type=float,
        default=30.0,
        help="work younger than this (a confirmation on its way, the seat map catching up) is in flight, not stuck",
    )
    dlq = sub.add_parser("dlq", help="list or replay dead-lettered messages")
    dlq_sub = dlq.add_subparsers(dest="action", required=True)
    dlq_list = dlq_sub.add_parser("list", help="every dead letter, oldest first")
    dlq_list.add_argument("--topic", help="one consumed topic (or its .dlq name); default: all")
    dlq_list.add_argument("--json", action="store_true", help="print JSON instead of lines")
    dlq_replay = dlq_sub.add_parser("replay", help="publish dead letters to their original topics again")
    dlq_replay.add_argument("--topic", help="one consumed topic (or its .dlq name); default: all")
    dlq_replay.add_argument("--offset", type=int, help="only the letter at this offset of the dead-letter topic")
    dlq_replay.add_argument("--partition", type=int, help="with --offset: the dead-letter topic's partition")
    verify = sub.add_parser("verify-ticket", help="check a ticket's signature offline (exit 1 if not ours)")
    verify.add_argument("ticket", help="the ticket (the text of its QR code)")
    verify.add_argument("--public-key", help="PEM public key file (GET /api/v1/tickets/public-key); default: ours")
    probe = sub.add_parser("probe", help="healthcheck: does this process's API or metrics port answer?")
    probe.add_argument("--timeout-s", type=float, default=2.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    settings = Settings()
    commands: dict[str, Callable[[], int]] = {
        "dev": lambda: _dev(settings),
        "cluster": lambda: _cluster(settings, args.base_port),
        "api": lambda: _api(settings, args.workers, args.server),
        "worker": lambda: _worker(settings, args.name),
        "migrate": lambda: _migrate(settings),
        "seed-demo": lambda: _seed_demo(settings),
        "check": lambda: _check(settings, args.schedule, args.grace_s, args.json),
        "token": lambda: _token(settings, args),
        "dlq": lambda: _dlq(settings, args),
        "probe": lambda: _probe(settings, args.timeout_s),
        "verify-ticket": lambda: _verify_ticket(settings, args.ticket, args.public_key),
    }
    return commands[args.command]()


if __name__ == "__main__":
    raise SystemExit(main())
