"""conversation_sla_warnings: a conversation's SLA alerts, each given once

The first-response breach was the only alert a conversation had. Now the first response
is warned of before it is due, and the resolve deadline is warned of and breached like
a complaint's; each alert is marked on the conversation when claimed.

Revision ID: 0017
Revises: 0012
Create Date: 2026-12-03 13:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0017"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = ("first_response_warned_at", "resolve_warned_at", "resolve_breached_at")


def upgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, care.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
