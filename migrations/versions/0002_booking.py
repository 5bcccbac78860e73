"""Booking: reservation, payment_order, confirmed_seat_guard, outbox_event, processed_event.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = mysql.DATETIME(fsp=6)


def upgrade() -> None:
    op.create_table(
        "reservation",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("schedule_id", sa.BigInteger, sa.ForeignKey("schedule.id"), nullable=False),
        sa.Column("seat_no", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("hold_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("pass_expires_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("hold_id", "seat_no", name="uq_reservation_hold_seat"),
    )
    op.create_index("ix_reservation_status_expires", "reservation", ["status", "expires_at"])
    op.create_index("ix_reservation_user", "reservation", ["user_id", "id"])
    op.create_index("ix_reservation_schedule_seat", "reservation", ["schedule_id", "seat_no"])
    op.create_table(
        "payment_order",
        sa.Column("order_no", sa.String(40), primary_key=True),
        sa.Column("hold_id", sa.String(40), nullable=False, unique=True),
        sa.Column("schedule_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("pg_tx_id", sa.String(128), nullable=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_payment_order_idempotency"),
    )
    op.create_index("ix_payment_order_schedule_status", "payment_order", ["schedule_id", "status"])
    op.create_table(
        "confirmed_seat_guard",
        sa.Column("schedule_id", sa.BigInteger, nullable=False),
        sa.Column("seat_no", sa.String(32), nullable=False),
        sa.Column("reservation_id", sa.BigInteger, nullable=False),
        sa.Column("confirmed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", "seat_no"),
    )
    op.create_table(
        "outbox_event",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("topic", sa.String(128), nullable=False),
        sa.Column("msg_key", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("available_at", TS, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
    )
    op.create_index("ix_outbox_status_available", "outbox_event", ["status", "available_at", "id"])
    op.create_table(
        "processed_event",
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("processed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )


def downgrade() -> None:
    for table in ("processed_event", "outbox_event", "confirmed_seat_guard", "payment_order", "reservation"):
        op.drop_table(table)
