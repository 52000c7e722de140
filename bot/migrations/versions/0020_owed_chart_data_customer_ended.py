"""owed_chart_data_customer_ended: an owed photo's bytes (the weekly report's charts); when the
company ended a customer relationship (passive churn)

The weekly report's charts were sent once, after the summary was owed, and lost when
Telegram failed. They are owed now like the summary, in the same transaction; a chart
is not a Telegram file yet, so its PNG is kept on the row until it is sent (and pruned
with it).

Passive churn (被动流失), as the seeds define it, is the company ending the
relationship; ``customer.ended_at``/``ended_reason`` record it
(``carebot customer end``).

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-03 15:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0020"
down_revision = "0017"  # the lead re-chains it after 0019
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("owed_message") as batch:
        batch.add_column(sa.Column("data", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("customer") as batch:
        batch.add_column(
            sa.Column("ended_at", care.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("ended_reason", care.models.CleanString(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("ended_reason")
        batch.drop_column("ended_at")
    with op.batch_alter_table("owed_message") as batch:
        batch.drop_column("data")
