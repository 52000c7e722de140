"""owed_message: every message carebot owes someone (cards, customer notices, relays,
staff replies, alerts), written with its cause and delivered with retries

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from care.models import CleanString, CleanText, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "owed_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=24), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("fallback_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("text", CleanText(), nullable=True),
        sa.Column("file_id", CleanString(length=256), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.Column("reply_to_message_id", sa.BigInteger(), nullable=True),
        sa.Column("reply_to_card", sa.Boolean(), nullable=False),
        sa.Column("source_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("source_message_id", sa.BigInteger(), nullable=True),
        sa.Column("remember_as", sa.String(length=16), nullable=True),
        sa.Column("staff_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_message_id", sa.BigInteger(), nullable=True),
        sa.Column("staff_member_id", sa.Integer(), nullable=True),
        sa.Column("note", CleanText(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", CleanText(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaint.id"],
            name=op.f("fk_owed_message_complaint_id_complaint"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"],
            name=op.f("fk_owed_message_customer_id_customer"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_member_id"], ["staff_member.id"],
            name=op.f("fk_owed_message_staff_member_id_staff_member"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owed_message")),
    )  # fmt: skip
    with op.batch_alter_table("owed_message", schema=None) as batch_op:
        batch_op.create_index("ix_owed_message_chat_state", ["chat_id", "state", "id"])
        batch_op.create_index("ix_owed_message_complaint", ["complaint_id", "id"])
        batch_op.create_index("ix_owed_message_state_due", ["state", "due_at"])


def downgrade() -> None:
    op.drop_table("owed_message")
