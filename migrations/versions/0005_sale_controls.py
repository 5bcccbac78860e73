"""Sale controls: the organiser may pause admission and close a sale before the show.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("schedule", sa.Column("admission_paused", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("schedule", sa.Column("sale_closed_at", mysql.DATETIME(fsp=6), nullable=True))


def downgrade() -> None:
    op.drop_column("schedule", "sale_closed_at")
    op.drop_column("schedule", "admission_paused")
