"""customer_mention: staff-chat messages about a customer that /forget must delete

A staff member's answer to a customer (a reply to the card, /reply), a command naming
them, the bot's answer to it, an alert about them: recorded against the customer so that
the erasure (care.privacy) deletes them too.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 18:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

UTC = care.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_mention",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("by_staff", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"],
            name=op.f("fk_customer_mention_customer_id_customer"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_mention")),
    )  # fmt: skip
    op.create_index(
        "ix_customer_mention_customer_chat_message",
        "customer_mention",
        ["customer_id", "chat_id", "message_id"],
        unique=True,
    )
    op.create_index(
        "ix_customer_mention_chat_message", "customer_mention", ["chat_id", "message_id"]
    )


def downgrade() -> None:
    op.drop_table("customer_mention")
