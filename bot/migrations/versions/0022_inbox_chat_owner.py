"""inbox_chat_owner: which worker handles a chat's updates

Several processes on one PostgreSQL database: a chat's updates stay with the worker that
first claimed one of them while it runs, because the chat's dialogue state lives in that
process's memory (``bot.inbox``).

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-03 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_chat_owner",
        sa.Column("chat_key", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("since", care.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_key", name=op.f("pk_inbox_chat_owner")),
    )
    op.create_index("ix_inbox_chat_owner_worker", "inbox_chat_owner", ["worker_id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_chat_owner_worker", table_name="inbox_chat_owner")
    op.drop_table("inbox_chat_owner")
