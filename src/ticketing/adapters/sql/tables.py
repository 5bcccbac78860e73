"""Table definitions (SQLAlchemy Core); Alembic migrations create them, never ``create_all``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

metadata = sa.MetaData()

# Timestamps are stored as UTC DATETIME(6) and made aware again when read.
UtcDateTime = sa.DateTime(timezone=False).with_variant(mysql.DATETIME(fsp=6), "mysql")

event = sa.Table(
    "event",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.String(4000), nullable=False, server_default=""),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

schedule = sa.Table(
    "schedule",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.BigInteger, sa.ForeignKey("event.id"), nullable=False, index=True),
    sa.Column("starts_at", UtcDateTime, nullable=False),
    sa.Column("sale_opens_at", UtcDateTime, nullable=False),
    sa.Column("queue_capacity", sa.Integer, nullable=False),
    sa.Column("pass_ttl_s", sa.Integer, nullable=False),
    sa.Column("admit_per_tick", sa.Integer, nullable=False),
    sa.Column("hold_ttl_s", sa.Integer, nullable=False),
    sa.Column("max_seats_per_user", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

seat = sa.Table(
    "seat",
    metadata,
    sa.Column("schedule_id", sa.BigInteger, sa.ForeignKey("schedule.id"), primary_key=True),
    sa.Column("seat_no", sa.String(32), primary_key=True),
    sa.Column("section", sa.String(64), nullable=False, server_default=""),
    sa.Column("row_label", sa.String(16), nullable=False, server_default=""),
    sa.Column("price", sa.Numeric(12, 2), nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False, comment="display order within the schedule"),
)
