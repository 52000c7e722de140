"""The FAQ's tables: the knowledge base, what happened to its answers, its switch."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from care.models import Base, CleanText

MAX_ENTRY_ID = 48  # "faq:pick:" and the id fit in 64 bytes of button data


class FaqEventKind(enum.StrEnum):
    """What happened between a customer and the FAQ (the measures count these)."""

    ANSWERED = "answered"  # the bot sent the entry's answer
    SUGGESTED = "suggested"  # the entry was among the suggestions offered
    PICKED = "picked"  # the customer pressed the suggested entry (and got its answer)
    HELPFUL = "helpful"  # "✅ That helped" under the entry's answer
    ASKED_PERSON = "asked_person"  # "🙋 Ask a person" (entry_id: the answer given, if any)
    HANDED_OFF = "handed_off"  # no entry fitted: the message went to a person
    # In a conversation staff already handle: the answer was offered to staff instead
    # (``care.faq_authoring``); once a staff member sends it, the row becomes STAFF_SENT.
    STAFF_SUGGESTED = "staff_suggested"
    STAFF_SENT = "staff_sent"


class FaqEntry(Base):
    """One question family: its phrasings and answer per language."""

    __tablename__ = "faq_entry"

    id: Mapped[str] = mapped_column(String(MAX_ENTRY_ID), primary_key=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # {"zh_CN": {"questions": [...], "answer": "..."}, "en": {...}}
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    photo: Mapped[str | None] = mapped_column(String(512))  # a URL or Telegram file id
    document: Mapped[str | None] = mapped_column(String(512))
    related: Mapped[list[str]] = mapped_column(JSON, default=list)  # ids shown as buttons
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FaqEvent(Base):
    """One thing that happened to an entry's answer, or a hand-off; kept for the measures.

    Not tied to the entry by a foreign key on purpose: the counts of an entry survive
    its re-import, and a hand-off has no entry.
    """

    __tablename__ = "faq_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[str | None] = mapped_column(String(MAX_ENTRY_ID))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    # HANDED_OFF and ASKED_PERSON: what the customer asked, for staff to teach to an
    # entry (``care.faq_teaching``); cleared when the customer is forgotten.
    question: Mapped[str | None] = mapped_column(CleanText)

    __table_args__ = (
        Index("ix_faq_event_entry_at", "entry_id", "at"),
        Index("ix_faq_event_customer_at", "customer_id", "at"),
        Index("ix_faq_event_at", "at"),  # the reports take a period's events
    )


class FaqSwitch(Base):
    """Whether the bot answers from the FAQ at all (one row; none: it does)."""

    __tablename__ = "faq_switch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime]
