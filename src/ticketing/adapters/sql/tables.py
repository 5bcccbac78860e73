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
    sa.Column("admission_paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sale_closed_at", UtcDateTime, nullable=True),
    sa.Column("live_state_released_at", UtcDateTime, nullable=True),
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

reservation = sa.Table(
    "reservation",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("schedule_id", sa.BigInteger, sa.ForeignKey("schedule.id"), nullable=False),
    sa.Column("seat_no", sa.String(32), nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("hold_id", sa.String(40), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("pass_expires_at", UtcDateTime, nullable=False, comment="the live pass the hold was made with"),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("hold_id", "seat_no", name="uq_reservation_hold_seat"),
)

payment_order = sa.Table(
    "payment_order",
    metadata,
    sa.Column("order_no", sa.String(40), primary_key=True),
    sa.Column("hold_id", sa.String(40), nullable=False, unique=True),
    sa.Column("schedule_id", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.String(64), nullable=False),
    sa.Column("amount", sa.Numeric(14, 2), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("pg_tx_id", sa.String(128), nullable=True),
    sa.Column("idempotency_key", sa.String(128), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # The reconciler's bookkeeping. check_at: when the reconciler looks at this order if it
    # has not settled by then (set while PAID awaits confirmation or REFUND_PENDING awaits
    # the provider, cleared once settled); retries: how often it had to act; last_error:
    # why the last attempt failed (a refund the provider refused, say).
    sa.Column("check_at", UtcDateTime, nullable=True),
    sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.UniqueConstraint("user_id", "idempotency_key", name="uq_payment_order_idempotency"),
    # A provider transaction pays for one order only (NULL until the provider reports).
    sa.UniqueConstraint("pg_tx_id", name="uq_payment_order_pg_tx_id"),
)

# The last line of defence: one row per sold seat; a second confirmation of a seat
# fails on the primary key whatever Redis or the workers believed.
confirmed_seat_guard = sa.Table(
    "confirmed_seat_guard",
    metadata,
    sa.Column("schedule_id", sa.BigInteger, primary_key=True),
    sa.Column("seat_no", sa.String(32), primary_key=True),
    sa.Column("reservation_id", sa.BigInteger, nullable=False),
    sa.Column("confirmed_at", UtcDateTime, nullable=False),
)

outbox_event = sa.Table(
    "outbox_event",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("topic", sa.String(128), nullable=False),
    sa.Column("msg_key", sa.String(128), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("available_at", UtcDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claimed_until", UtcDateTime, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=True),
)

processed_event = sa.Table(
    "processed_event",
    metadata,
    sa.Column("consumer", sa.String(64), primary_key=True),
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("processed_at", UtcDateTime, nullable=False),
)
