"""business_chats: a customer's Business chat kept apart from their chat with the bot

Both chats have the customer's user id as chat id, and message ids of their own: a
complaint draft says which chat it is being filed in, a message shown to staff which
chat the customer's original is in (so that an edit or deletion in one chat is never
taken for one in the other), and a complaint's message to the customer which chat it is
in (message 7 of each chat is unique in its chat only).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 18:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


BUSINESS = "business_connection_id IS NOT NULL"
NOT_BUSINESS = "business_connection_id IS NULL"


def upgrade() -> None:
    for table in ("complaint", "complaint_message"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("business_connection_id", sa.String(64), nullable=True))
    # A complaint's message is (chat, id) outside Business chats and (chat, id,
    # connection) in them: two partial unique indexes (NULLs are never equal in one).
    op.drop_index("ix_complaint_message_chat_message", table_name="complaint_message")
    op.create_index(
        "ix_complaint_message_chat_message", "complaint_message", ["chat_id", "message_id"],
        unique=True, sqlite_where=sa.text(NOT_BUSINESS), postgresql_where=sa.text(NOT_BUSINESS),
    )  # fmt: skip
    op.create_index(
        "ix_complaint_message_business_chat_message", "complaint_message",
        ["chat_id", "message_id", "business_connection_id"],
        unique=True, sqlite_where=sa.text(BUSINESS), postgresql_where=sa.text(BUSINESS),
    )  # fmt: skip
    for table in ("conversation_message", "owed_message"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("source_business_connection_id", sa.String(64), nullable=True)
            )


def downgrade() -> None:
    for table in ("owed_message", "conversation_message"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("source_business_connection_id")
    op.drop_index("ix_complaint_message_business_chat_message", table_name="complaint_message")
    op.drop_index("ix_complaint_message_chat_message", table_name="complaint_message")
    # Business chats' rows would break the old index (the same id in both chats).
    op.execute(sa.text("DELETE FROM complaint_message WHERE " + BUSINESS))
    op.create_index(
        "ix_complaint_message_chat_message",
        "complaint_message",
        ["chat_id", "message_id"],
        unique=True,
    )
    for table in ("complaint_message", "complaint"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("business_connection_id")
