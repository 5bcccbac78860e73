"""Engine creation and database bootstrap (create if missing, migrate to head)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[4] / "migrations"


def create_engine(url: str, pool_size: int) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        pool_pre_ping=True,
    )


async def ensure_database(url: str) -> None:
    """Create the database named in ``url`` if it does not exist yet."""
    parsed = make_url(url)
    name = parsed.database
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"database name {name!r} must be alphanumeric/underscore")
    server = create_async_engine(parsed.set(database=""), pool_size=1)
    try:
        async with server.begin() as conn:
            await conn.execute(
                sa.text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            )
    finally:
        await server.dispose()


async def drop_database(url: str) -> None:
    parsed = make_url(url)
    server = create_async_engine(parsed.set(database=""), pool_size=1)
    try:
        async with server.begin() as conn:
            await conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{parsed.database}`"))
    finally:
        await server.dispose()


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


async def migrate(url: str) -> None:
    """Create the database if needed and upgrade it to the newest migration."""
    await ensure_database(url)
    # Alembic's env.py runs its own event loop, so it runs in a worker thread.
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
