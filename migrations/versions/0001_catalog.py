"""Catalog: event, schedule, seat.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = mysql.DATETIME(fsp=6)


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.String(4000), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "schedule",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.BigInteger, sa.ForeignKey("event.id"), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("sale_opens_at", TS, nullable=False),
        sa.Column("queue_capacity", sa.Integer, nullable=False),
        sa.Column("pass_ttl_s", sa.Integer, nullable=False),
        sa.Column("admit_per_tick", sa.Integer, nullable=False),
        sa.Column("hold_ttl_s", sa.Integer, nullable=False),
        sa.Column("max_seats_per_user", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_schedule_event_id", "schedule", ["event_id"])
    op.create_table(
        "seat",
        sa.Column("schedule_id", sa.BigInteger, sa.ForeignKey("schedule.id"), nullable=False),
        sa.Column("seat_no", sa.String(32), nullable=False),
        sa.Column("section", sa.String(64), nullable=False, server_default=""),
        sa.Column("row_label", sa.String(16), nullable=False, server_default=""),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", "seat_no"),
    )


def downgrade() -> None:
    op.drop_table("seat")
    op.drop_table("schedule")
    op.drop_table("event")
