"""The durable inbox (issue 14): every update from Telegram, kept from before it is
acknowledged until it is handled (``bot.inbox``), as a model.

Kept apart from ``care.models`` so that module stays readable; ``care.models`` imports
this one, so the table is on the same metadata wherever the models are loaded.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from care.models import Base, CleanText


class InboxState(enum.StrEnum):
    PENDING = "pending"  # waiting to be handled (the first time, or again after a failure)
    DONE = "done"  # handled; pruned after the retention period
    PARKED = "parked"  # its handler failed every attempt: kept with its error for ops


class InboxUpdate(Base):
    """An update from Telegram, kept from before it is acknowledged until it is handled
    (``bot.inbox``): a process that dies meanwhile loses nothing.

    ``chat_key`` is the chat (or else the user) the update belongs to: one chat's updates
    are handled one at a time, in ``update_id`` order. A row is claimed by a worker
    (``claimed_by``, since ``claimed_at``) while it handles it; the claims of a worker
    that is gone are given back.
    """

    __tablename__ = "inbox_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default=InboxState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime]
    available_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(CleanText)

    __table_args__ = (
        Index("ix_inbox_update_state_chat", "state", "chat_key", "update_id"),
        Index("ix_inbox_update_done_at", "done_at"),
    )


class InboxChatOwner(Base):
    """Which worker handles a chat's updates (PostgreSQL, several processes): the one that
    first claimed one of them, for as long as it runs (``bot.inbox``).

    A chat's dialogue state (python-telegram-bot's conversation handlers) lives in the
    memory of the process that moved it last and reaches the database a second later; so
    a chat stays with one worker, and a worker that takes a chat over (its owner stopped
    or died) reads the chat's dialogue state from the database first.
    """

    __tablename__ = "inbox_chat_owner"

    chat_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    worker_id: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime]

    __table_args__ = (Index("ix_inbox_chat_owner_worker", "worker_id"),)
