"""Conversations (issue 11): one customer's open exchange with the company, as models.

Kept apart from ``care.models`` so that module stays readable; ``care.models`` imports
this one at its end, so the tables are on the same metadata wherever models are loaded.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from care.models import Base, CleanString, CleanText


class ConversationStatus(enum.StrEnum):
    """open → waiting for staff ⇄ waiting for the customer → closed."""

    OPEN = "open"  # the customer wrote; nobody on staff has acknowledged or answered yet
    WAITING_STAFF = "waiting_staff"  # acknowledged, or the customer wrote after an answer
    WAITING_CUSTOMER = "waiting_customer"  # staff answered; the customer's turn
    CLOSED = "closed"


class ConversationEventType(enum.StrEnum):
    OPENED = "opened"
    CUSTOMER_MESSAGE = "customer_message"
    CUSTOMER_EDIT = "customer_edit"
    CUSTOMER_DELETE = "customer_delete"  # a Business chat's message deleted by the customer
    STAFF_ANSWER = "staff_answer"
    NOTE = "note"  # internal, never shown to the customer
    STATUS = "status"
    ASSIGNED = "assigned"
    COMPLAINT = "complaint"  # a complaint was filed from it (note: the complaint's id)
    OUT_OF_HOURS = "out_of_hours"  # the customer was told we are closed
    UNREACHABLE = "unreachable"  # an answer could not reach the customer (blocked)
    SLA_WARNING = "sla_warning"  # note: the stage (``care.conversation_deadlines``)
    SLA_BREACH = "sla_breach"


class Conversation(Base):
    """One customer's open exchange with the company, with its SLA clock."""

    __tablename__ = "conversation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(24), default=ConversationStatus.OPEN.value)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    first_response_due_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolve_due_at: Mapped[datetime]
    last_customer_message_at: Mapped[datetime | None]
    last_staff_answer_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    # When the customer was told we are closed now (once per conversation).
    out_of_hours_told_at: Mapped[datetime | None]
    first_response_breached_at: Mapped[datetime | None]
    # When staff were warned of a deadline, or told it passed (each alert once:
    # ``care.conversation_deadlines``).
    first_response_warned_at: Mapped[datetime | None]
    resolve_warned_at: Mapped[datetime | None]
    resolve_breached_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_conversation_customer_status", "customer_id", "status"),
        Index("ix_conversation_status_updated", "status", "updated_at"),
        # The reports take a period's conversations by when they opened.
        Index("ix_conversation_opened_at", "opened_at"),
    )


class ConversationEvent(Base):
    """One thing that happened in a conversation. Never updated, never deleted, except
    that erasing the customer (``care.privacy``) clears the notes that are words."""

    __tablename__ = "conversation_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(24))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    by_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    # What kind of message (``care.models.ContactKind``) a message event was.
    message_kind: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(CleanText)

    __table_args__ = (Index("ix_conversation_event_conversation", "conversation_id", "id"),)


class ConversationMessage(Base):
    """A Telegram message in the staff chat that belongs to a conversation, so that a
    reply to it finds the conversation. ``source_message_id``: the customer's message it
    shows (so that an edit of it is shown under it)."""

    __tablename__ = "conversation_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(String(16))
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The Business chat that message is in (None: the chat with the bot): both chats
    # have the customer's id and number their messages each from 1.
    source_business_connection_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_conversation_message_chat_message", "chat_id", "message_id", unique=True),
        Index("ix_conversation_message_conversation", "conversation_id", "source_message_id"),
    )


class StaffTopic(Base):
    """The customer's topic in a forum staff chat: one per customer and chat, kept
    across their conversations (closed and reopened with them).

    The row is written when the topic is first owed (``thread_id`` None); the sender
    records the thread id in its own transaction right after Telegram created it, so a
    retry finds it and never creates a second topic.
    """

    __tablename__ = "staff_topic"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    thread_id: Mapped[int | None] = mapped_column(BigInteger)
    # The name and closed state Telegram shows, as last set.
    name: Mapped[str | None] = mapped_column(CleanString(128))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_staff_topic_customer_chat", "customer_id", "chat_id", unique=True),
        Index("ix_staff_topic_chat_thread", "chat_id", "thread_id"),
    )
