"""business_chats: a customer's Business chat kept apart from their chat with the bot

Both chats have the customer's user id as chat id, and message ids of their own: a
complaint draft says which chat it is being filed in, and a message shown to staff which
chat the customer's original is in (so that an edit or deletion in one chat is never
taken for one in the other).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 18:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("business_connection_id", sa.String(64), nullable=True))
    for table in ("conversation_message", "owed_message"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("source_business_connection_id", sa.String(64), nullable=True)
            )


def downgrade() -> None:
    for table in ("owed_message", "conversation_message"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("source_business_connection_id")
    with op.batch_alter_table("complaint") as batch:
        batch.drop_column("business_connection_id")
