"""contact indexes for the reports: the period's messages by time (volumes, days,
cohorts, repeat contact) and each customer's last message to us (churn), both read from
the index alone

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-03 12:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_created_direction", ["created_at", "direction", "customer_id"], unique=False
        )
        batch_op.create_index(
            "ix_contact_customer_direction_created",
            ["customer_id", "direction", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_customer_direction_created")
        batch_op.drop_index("ix_contact_created_direction")
