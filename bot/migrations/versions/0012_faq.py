"""faq: the knowledge base (faq_entry), what happened to its answers (faq_event), and
the switch that turns FAQ answers off (faq_switch)

Revision ID: 0012
Revises: 0015
Create Date: 2026-12-03 12:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0012"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_entry",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("photo", sa.String(length=512), nullable=True),
        sa.Column("document", sa.String(length=512), nullable=True),
        sa.Column("related", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", care.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", care.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entry")),
    )
    op.create_table(
        "faq_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.String(length=48), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", care.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customer.id"],
            name=op.f("fk_faq_event_customer_id_customer"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_event")),
    )
    with op.batch_alter_table("faq_event", schema=None) as batch_op:
        batch_op.create_index("ix_faq_event_customer_at", ["customer_id", "at"], unique=False)
        batch_op.create_index("ix_faq_event_entry_at", ["entry_id", "at"], unique=False)
    op.create_table(
        "faq_switch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_at", care.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_switch")),
    )


def downgrade() -> None:
    op.drop_table("faq_switch")
    with op.batch_alter_table("faq_event", schema=None) as batch_op:
        batch_op.drop_index("ix_faq_event_entry_at")
        batch_op.drop_index("ix_faq_event_customer_at")
    op.drop_table("faq_event")
    op.drop_table("faq_entry")
