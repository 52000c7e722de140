"""canned_answer; staff_member.telegram_name, language and telegram_locale

Canned answers staff send with ``/c <name>`` (one text per language); a staff member's
name as Telegram shows it (kept current), the language they chose to read carebot in and
their Telegram app's (as last seen), for what is sent to their private chat.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from care.models import CleanString, CleanText, UTCDateTime

revision = "0011"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("telegram_name", CleanString(length=256), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("telegram_locale", sa.String(length=16), nullable=True))
    op.create_table(
        "canned_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("text", CleanText(), nullable=False),
        sa.Column("staff_member_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_member_id"],
            ["staff_member.id"],
            name=op.f("fk_canned_answer_staff_member_id_staff_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_answer")),
    )
    with op.batch_alter_table("canned_answer", schema=None) as batch_op:
        batch_op.create_index("ix_canned_answer_name_language", ["name", "language"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("canned_answer", schema=None) as batch_op:
        batch_op.drop_index("ix_canned_answer_name_language")
    op.drop_table("canned_answer")
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.drop_column("telegram_locale")
        batch_op.drop_column("language")
        batch_op.drop_column("telegram_name")
