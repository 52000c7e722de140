"""customer.last_seen_at: when the customer last wrote to us, what "quiet" counts from;
outbox.event_at: when a follow-up's event happened, checked again at send time

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The newest inbound contact of each customer who has one. The contact log keeps every
# message's direction and time, for forgotten customers too, so the history says it.
BACKFILL = """
UPDATE customer SET last_seen_at = (
    SELECT max(contact.created_at) FROM contact
    WHERE contact.customer_id = customer.id AND contact.direction = 'in'
)
WHERE id IN (SELECT customer_id FROM contact WHERE direction = 'in')
"""


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_seen_at", care.models.UTCDateTime(timezone=True), nullable=True)
        )
        # Win-back and "quiet:N" audiences read ranges of it.
        batch_op.create_index("ix_customer_last_seen_at", ["last_seen_at"], unique=False)
    op.execute(BACKFILL)
    # Rows planned before have none: the sender cannot tell whether a win-back among
    # them still applies, and sends it as before.
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("event_at", care.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("event_at")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_last_seen_at")
        batch_op.drop_column("last_seen_at")
