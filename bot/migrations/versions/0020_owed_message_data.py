"""owed_message_data: an owed photo's bytes (the weekly report's charts)

The weekly report's charts were sent once, after the summary was owed, and lost when
Telegram failed. They are owed now like the summary, in the same transaction; a chart
is not a Telegram file yet, so its PNG is kept on the row until it is sent (and pruned
with it).

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-03 15:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0017"  # the lead re-chains it after 0019
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("owed_message") as batch:
        batch.add_column(sa.Column("data", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("owed_message") as batch:
        batch.drop_column("data")
