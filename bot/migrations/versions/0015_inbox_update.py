"""inbox_update: every update from Telegram, kept from before it is acknowledged until
it is handled (the durable inbox, bot.inbox)

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-03 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from care.models import CleanText, UTCDateTime

revision = "0015"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_key", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("available_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("done_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", CleanText(), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbox_update")),
    )
    with op.batch_alter_table("inbox_update", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_update_done_at", ["done_at"])
        batch_op.create_index("ix_inbox_update_state_chat", ["state", "chat_key", "update_id"])


def downgrade() -> None:
    op.drop_table("inbox_update")
