"""faq_event_question: the customer's words of a question the FAQ handed to staff

A hand-off and an "ask a person" keep what the customer asked, so that staff can teach
it to an entry as a new phrasing (``/faq same``, ``carebot faq misses``). Erasing the
customer clears it.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 22:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("faq_event") as batch:
        batch.add_column(sa.Column("question", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("faq_event") as batch:
        batch.drop_column("question")
