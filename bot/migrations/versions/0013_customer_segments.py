"""customer segments: value × relationship quadrant, churn risk, purchase amounts

The computed segments (care.segments) live on the customer row beside the customer type
and lifecycle stage they also set; a purchase may carry what it was worth.

Revision ID: 0013
Revises: 0015
Create Date: 2026-12-03 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("value_segment", sa.String(16), nullable=True))
        batch.add_column(sa.Column("churn_risk", sa.String(8), nullable=True))
        batch.add_column(sa.Column("churn_reasons", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("segmented_at", care.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("churn_handled_at", care.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_customer_value_segment", ["value_segment"])
        batch.create_index("ix_customer_churn_risk", ["churn_risk"])
    with op.batch_alter_table("purchase") as batch:
        batch.add_column(sa.Column("amount", sa.Numeric(14, 2), nullable=True))
        batch.create_index("ix_purchase_customer_purchased", ["customer_id", "purchased_at"])


def downgrade() -> None:
    with op.batch_alter_table("purchase") as batch:
        batch.drop_index("ix_purchase_customer_purchased")
        batch.drop_column("amount")
    with op.batch_alter_table("customer") as batch:
        batch.drop_index("ix_customer_churn_risk")
        batch.drop_index("ix_customer_value_segment")
        for column in (
            "churn_handled_at",
            "segmented_at",
            "churn_reasons",
            "churn_risk",
            "value_segment",
        ):
            batch.drop_column(column)
