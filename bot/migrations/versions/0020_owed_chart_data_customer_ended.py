"""owed_chart_data_customer_ended: an owed photo's bytes (the weekly report's charts); when the
company ended a customer relationship (passive churn)

The weekly report's charts were sent once, after the summary was owed, and lost when
Telegram failed. They are owed now like the summary, in the same transaction; a chart
is not a Telegram file yet, so its PNG is kept on the row until it is sent (and pruned
with it).

Passive churn (被动流失), as the seeds define it, is the company ending the
relationship; ``customer.ended_at``/``ended_reason`` record it
(``carebot customer end``).

``segment_change``: when a customer's computed segments changed (care.segment_history).
Indexes for the reports: conversations by ``opened_at``, FAQ events by ``at``.

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-03 15:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("owed_message") as batch:
        batch.add_column(sa.Column("data", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("customer") as batch:
        batch.add_column(
            sa.Column("ended_at", care.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("ended_reason", care.models.CleanString(200), nullable=True))
    op.create_table(
        "segment_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("at", care.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("old_value", sa.String(length=16), nullable=True),
        sa.Column("new_value", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"],
            name=op.f("fk_segment_change_customer_id_customer"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_change")),
    )  # fmt: skip
    op.create_index(
        "ix_segment_change_customer", "segment_change", ["customer_id", "id"], unique=False
    )
    # The reports take a period's conversations and FAQ events.
    op.create_index("ix_conversation_opened_at", "conversation", ["opened_at"], unique=False)
    op.create_index("ix_faq_event_at", "faq_event", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_faq_event_at", table_name="faq_event")
    op.drop_index("ix_conversation_opened_at", table_name="conversation")
    op.drop_index("ix_segment_change_customer", table_name="segment_change")
    op.drop_table("segment_change")
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("ended_reason")
        batch.drop_column("ended_at")
    with op.batch_alter_table("owed_message") as batch:
        batch.drop_column("data")
