"""Telegram Business: the connected business accounts, where each customer writes from,
and the connection an owed message goes through

Revision ID: 0016
Revises: 0009
Create Date: 2026-12-03 12:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0016"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "business_connection",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("owner_user_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_name", care.models.CleanString(128), nullable=True),
        sa.Column("can_reply", sa.Boolean(), nullable=False),
        sa.Column("rights", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("connected_at", care.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_at", care.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_connection")),
    )
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("channel", sa.String(16), nullable=False, server_default="bot"))
        batch.add_column(sa.Column("business_connection_id", sa.String(64), nullable=True))
    with op.batch_alter_table("owed_message") as batch:
        batch.add_column(sa.Column("business_connection_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("owed_message") as batch:
        batch.drop_column("business_connection_id")
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("business_connection_id")
        batch.drop_column("channel")
    op.drop_table("business_connection")
