"""Retention: what a sale leaves behind is bounded.

Sent outbox rows and processed-event marks are deleted after their keep time (indexes on
their timestamps make that a range delete), and a schedule records when its Redis state
(line, passes, seat state, per-user holds) was released after the show.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("schedule", sa.Column("live_state_released_at", mysql.DATETIME(fsp=6), nullable=True))
    op.create_index("ix_schedule_starts_at", "schedule", ["starts_at"])
    op.create_index("ix_outbox_sent_at", "outbox_event", ["sent_at"])
    op.create_index("ix_processed_event_processed_at", "processed_event", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_processed_event_processed_at", "processed_event")
    op.drop_index("ix_outbox_sent_at", "outbox_event")
    op.drop_index("ix_schedule_starts_at", "schedule")
    op.drop_column("schedule", "live_state_released_at")
