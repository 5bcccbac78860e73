"""Reliability: the reconciler's bookkeeping on payment orders (when to check, tries, last error).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = mysql.DATETIME(fsp=6)


def upgrade() -> None:
    op.add_column("payment_order", sa.Column("check_at", TS, nullable=True))
    op.add_column("payment_order", sa.Column("retries", sa.Integer, nullable=False, server_default="0"))
    op.add_column("payment_order", sa.Column("last_error", sa.String(500), nullable=True))
    op.create_index("ix_payment_order_check_at", "payment_order", ["check_at"])


def downgrade() -> None:
    op.drop_index("ix_payment_order_check_at", "payment_order")
    op.drop_column("payment_order", "last_error")
    op.drop_column("payment_order", "retries")
    op.drop_column("payment_order", "check_at")
