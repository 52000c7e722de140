"""campaign edits: who changed a draft last, and which occasion the planner drafted it for

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Automatic drafts made before this revision were never edited, so their occasion
    # and day still say what they were drafted for: drafted_for stays empty for them.
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edited_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("edited_at", care.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("drafted_for", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_campaign_edited_by_staff_member"), "staff_member", ["edited_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_campaign_edited_by_staff_member"), type_="foreignkey"
        )
        batch_op.drop_column("drafted_for")
        batch_op.drop_column("edited_at")
        batch_op.drop_column("edited_by")
