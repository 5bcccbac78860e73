"""Webhook binding: a provider transaction id is recorded for one order only.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_unique_constraint("uq_payment_order_pg_tx_id", "payment_order", ["pg_tx_id"])


def downgrade() -> None:
    op.drop_constraint("uq_payment_order_pg_tx_id", "payment_order", type_="unique")
