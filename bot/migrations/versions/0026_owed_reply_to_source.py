"""owed_message_reply_to_source: a line under the message that shows the customer's

An edit or deletion can come while the relay of the customer's message is on its way:
the line about it replies to wherever that relay is when the line is sent.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 22:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("owed_message") as batch:
        batch.add_column(
            sa.Column("reply_to_source", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("owed_message") as batch:
        batch.drop_column("reply_to_source")
