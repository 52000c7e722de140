"""conversations: every customer message reaches a person (issue 11)

A conversation per customer exchange with its events, the staff chat's messages that
belong to it, the customer's forum topic, and the links from complaints and owed
messages to it.

Revision ID: 0010
Revises: 0014
Create Date: 2026-12-03 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0010"
down_revision = "0014"
branch_labels = None
depends_on = None

UTC = care.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("acknowledged_at", UTC, nullable=True),
        sa.Column("first_response_due_at", UTC, nullable=False),
        sa.Column("first_response_at", UTC, nullable=True),
        sa.Column("resolve_due_at", UTC, nullable=False),
        sa.Column("last_customer_message_at", UTC, nullable=True),
        sa.Column("last_staff_answer_at", UTC, nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("out_of_hours_told_at", UTC, nullable=True),
        sa.Column("first_response_breached_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"],
            name=op.f("fk_conversation_customer_id_customer"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["staff_member.id"],
            name=op.f("fk_conversation_assignee_id_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["staff_member.id"], name=op.f("fk_conversation_closed_by_staff_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation")),
    )  # fmt: skip
    op.create_index("ix_conversation_customer_status", "conversation", ["customer_id", "status"])
    op.create_index("ix_conversation_status_updated", "conversation", ["status", "updated_at"])
    op.create_table(
        "conversation_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("type", sa.String(length=24), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("by_customer", sa.Boolean(), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=True),
        sa.Column("to_status", sa.String(length=24), nullable=True),
        sa.Column("message_kind", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversation.id"],
            name=op.f("fk_conversation_event_conversation_id_conversation"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_member.id"],
            name=op.f("fk_conversation_event_staff_id_staff_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_event")),
    )  # fmt: skip
    op.create_index(
        "ix_conversation_event_conversation", "conversation_event", ["conversation_id", "id"]
    )
    op.create_table(
        "conversation_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversation.id"],
            name=op.f("fk_conversation_message_conversation_id_conversation"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_message")),
    )  # fmt: skip
    op.create_index(
        "ix_conversation_message_chat_message",
        "conversation_message",
        ["chat_id", "message_id"],
        unique=True,
    )
    op.create_index(
        "ix_conversation_message_conversation",
        "conversation_message",
        ["conversation_id", "source_message_id"],
    )
    op.create_table(
        "staff_topic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"],
            name=op.f("fk_staff_topic_customer_id_customer"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_topic")),
    )  # fmt: skip
    op.create_index(
        "ix_staff_topic_customer_chat", "staff_topic", ["customer_id", "chat_id"], unique=True
    )
    op.create_index("ix_staff_topic_chat_thread", "staff_topic", ["chat_id", "thread_id"])
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("conversation_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_complaint_conversation_id_conversation", "conversation",
            ["conversation_id"], ["id"], ondelete="SET NULL",
        )  # fmt: skip
    with op.batch_alter_table("owed_message") as batch:
        batch.add_column(sa.Column("conversation_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("to_topic", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_foreign_key(
            "fk_owed_message_conversation_id_conversation", "conversation",
            ["conversation_id"], ["id"], ondelete="CASCADE",
        )  # fmt: skip


def downgrade() -> None:
    with op.batch_alter_table("owed_message") as batch:
        batch.drop_constraint("fk_owed_message_conversation_id_conversation", type_="foreignkey")
        batch.drop_column("to_topic")
        batch.drop_column("conversation_id")
    with op.batch_alter_table("complaint") as batch:
        batch.drop_constraint("fk_complaint_conversation_id_conversation", type_="foreignkey")
        batch.drop_column("conversation_id")
    op.drop_table("staff_topic")
    op.drop_table("conversation_message")
    op.drop_table("conversation_event")
    op.drop_table("conversation")
