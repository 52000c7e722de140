"""customer.chat_id index: the contact log finds the customer of every message the bot
sends by its chat, and marking a blocked chat unreachable looks it up too

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 20:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index("ix_customer_chat_id", ["chat_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_chat_id")
