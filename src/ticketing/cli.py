"""Command line: ``ticketing dev|api|worker|migrate|seed-demo|token``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from ticketing.settings import Settings

WORKER_NAMES = ("queue-advancer", "hold-expirer", "outbox-relay", "confirm-consumer", "refunder")


def _api(settings: Settings, workers: int) -> int:
    import uvicorn

    uvicorn.run(
        "ticketing.api.app:app_from_env",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )
    return 0


def _worker(settings: Settings, name: str) -> int:
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ticketing", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("dev", help="broker, migrations, demo data, API and every worker")
    api = sub.add_parser("api", help="serve the HTTP API")
    api.add_argument("--workers", type=int, default=1)
    worker = sub.add_parser("worker", help="run one background worker")
    worker.add_argument("name", choices=WORKER_NAMES)
    sub.add_parser("migrate", help="create the database if needed and apply migrations")
    sub.add_parser("seed-demo", help="create a demo event whose sale is open")
    token = sub.add_parser("token", help="print bearer tokens signed with the configured secret")
    token.add_argument("--user", help="user id (the token's sub)")
    token.add_argument("--admin", action="store_true", help="role admin")
    token.add_argument("--count", type=int, default=0, help="print N tokens for users <prefix>1..<prefix>N")
    token.add_argument("--prefix", default="user", help="user id prefix with --count")
    args = parser.parse_args(argv)

    settings = Settings()
    if args.command == "dev":
        from ticketing.devtools.supervisor import run_dev

        return run_dev(settings)
    if args.command == "api":
        return _api(settings, args.workers)
    if args.command == "worker":
        return _worker(settings, args.name)
    if args.command == "migrate":
        return _migrate(settings)
    if args.command == "seed-demo":
        return _seed_demo(settings)
    return _token(settings, args)


if __name__ == "__main__":
    raise SystemExit(main())
