"""customer_last_message_at: the customer's last message, presses not counted

Telegram's 24-hour window for a Business account's answers counts from the customer's
last message; last_seen_at also moves with button presses (care.business).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 16:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.add_column(
            sa.Column("last_message_at", care.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("last_message_at")
