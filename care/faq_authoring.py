"""Staff write the FAQ from Telegram, and send its answers by hand.

``/faq add`` and "save as FAQ" are short dialogues with one staff member; what they
have said so far is a *draft*, kept per staff member and chat as a JSON row of the
dialogue-state table (``ptb_persistence``, kind ``faq_draft``), so that any process
of the bot continues it and a restart loses nothing. A draft is checked against the
same limits as a knowledge-base file (``care.faq_files``) and saved as a new entry
with an id made from its first question.

In a conversation staff already handle, an answer the FAQ would send is offered to
staff instead (``FaqEventKind.STAFF_SUGGESTED``); :func:`take_suggestion` turns it into
``STAFF_SENT`` once, so a second press of "Send it" sends nothing.

The caller owns the transaction.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.conversation_models import ConversationEvent, ConversationEventType
from care.faq_files import MAX_ANSWER, MAX_QUESTION, FaqProblem
from care.faq_models import MAX_ENTRY_ID, FaqEntry, FaqEvent, FaqEventKind
from care.models import OwedMessage, PersistenceEntry
from care.owed import Purpose

STAFF_REPLY = Purpose.STAFF_REPLY.value

DRAFT_KIND = "faq_draft"
# An entry's id: the first question's latin words, else "faq", then a number if taken.
ID_WORDS = 32
MAX_QUESTIONS = 20
# A draft nobody touched for this long is dropped (an admin who forgot it must not find
# their next answer in a customer's topic taken for a FAQ question).
DRAFT_TTL = timedelta(hours=1)


class DraftRefused(Exception):
    """What a staff member sent cannot go into an entry (nothing was changed)."""

    def __init__(self, problem: FaqProblem, limit: int = 0) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.limit = limit


# --- drafts -----------------------------------------------------------------------------


def _key(chat_id: int, user_id: int) -> str:
    return json.dumps([chat_id, user_id])


async def get_draft(
    session: AsyncSession, chat_id: int, user_id: int, now: datetime
) -> dict[str, Any] | None:
    """The draft this staff member is writing in this chat, if any. A draft left alone
    for :data:`DRAFT_TTL` is forgotten: the member's messages there are theirs again."""
    row = await session.get(PersistenceEntry, (DRAFT_KIND, _key(chat_id, user_id)))
    if row is None or not isinstance(row.data, dict) or row.updated_at + DRAFT_TTL <= now:
        return None
    return dict(row.data)


async def put_draft(
    session: AsyncSession, chat_id: int, user_id: int, draft: dict[str, Any], now: datetime
) -> None:
    """Keep the draft (plain JSON) as it is now."""
    row = await session.get(PersistenceEntry, (DRAFT_KIND, _key(chat_id, user_id)))
    if row is None:
        session.add(
            PersistenceEntry(
                kind=DRAFT_KIND, key=_key(chat_id, user_id), data=dict(draft), updated_at=now
            )
        )
    else:
        row.data = dict(draft)  # a new object: the JSON column sees the change
        row.updated_at = now
    await session.flush()


async def drop_draft(session: AsyncSession, chat_id: int, user_id: int) -> bool:
    """Forget the draft; False if there was none."""
    row = await session.get(PersistenceEntry, (DRAFT_KIND, _key(chat_id, user_id)))
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True


# --- checks -----------------------------------------------------------------------------


def questions_of(text: str | None) -> list[str]:
    """The question phrasings in a staff member's message: one per line.

    Raises:
        DraftRefused: none, too many, or one too long for a knowledge-base file.
    """
    questions = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not questions:
        raise DraftRefused(FaqProblem.MISSING_QUESTIONS)
    if len(questions) > MAX_QUESTIONS:
        raise DraftRefused(FaqProblem.BAD_VALUE, MAX_QUESTIONS)
    if any(len(question) > MAX_QUESTION for question in questions):
        raise DraftRefused(FaqProblem.QUESTION_TOO_LONG, MAX_QUESTION)
    return list(dict.fromkeys(questions))


def answer_of(text: str | None) -> str:
    """The answer in a staff member's message.

    Raises:
        DraftRefused: empty, or too long for a Telegram message.
    """
    answer = (text or "").strip()
    if not answer:
        raise DraftRefused(FaqProblem.MISSING_ANSWER)
    if len(answer) > MAX_ANSWER:
        raise DraftRefused(FaqProblem.ANSWER_TOO_LONG, MAX_ANSWER)
    return answer


# --- saving -----------------------------------------------------------------------------


def _id_base(question: str) -> str:
    folded = unicodedata.normalize("NFKD", question).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", folded)
    base = ""
    for word in words:
        candidate = f"{base}-{word}" if base else word
        if len(candidate) > ID_WORDS:
            break
        base = candidate
    return base or "faq"


async def new_entry_id(session: AsyncSession, questions: Sequence[str]) -> str:
    """An id no entry has: the first question's latin words ("can-i-return-it"), else
    "faq", with "-2", "-3"… when taken."""
    base = _id_base(questions[0] if questions else "")
    taken = set(
        (await session.scalars(select(FaqEntry.id).where(FaqEntry.id.like(f"{base}%")))).all()
    )
    if base not in taken and base != "faq":
        return base
    number = 1 if base == "faq" else 2
    while f"{base}-{number}" in taken:
        number += 1
    entry_id = f"{base}-{number}"
    assert len(entry_id) <= MAX_ENTRY_ID
    return entry_id


async def add_entry(
    session: AsyncSession, locale: str, questions: Sequence[str], answer: str, now: datetime
) -> str:
    """Save a new entry in one language; its id."""
    checked_questions = questions_of("\n".join(questions))
    checked_answer = answer_of(answer)
    entry_id = await new_entry_id(session, checked_questions)
    session.add(
        FaqEntry(
            id=entry_id, tags=[], related=[], enabled=True, created_at=now, updated_at=now,
            texts={locale: {"questions": checked_questions, "answer": checked_answer}},
        )
    )  # fmt: skip
    await session.flush()
    return entry_id


async def last_customer_words(session: AsyncSession, conversation_id: int) -> str | None:
    """The words of the customer's latest message in the conversation (a default for the
    question of an answer saved as FAQ)."""
    note = await session.scalar(
        select(ConversationEvent.note)
        .where(
            ConversationEvent.conversation_id == conversation_id,
            ConversationEvent.by_customer.is_(True),
            ConversationEvent.type == ConversationEventType.CUSTOMER_MESSAGE.value,
            ConversationEvent.note.is_not(None),
            ConversationEvent.note != "",
        )
        .order_by(ConversationEvent.id.desc())
        .limit(1)
    )
    if note is None:
        return None
    return note.strip()[:MAX_QUESTION] or None


# --- answers offered to staff -----------------------------------------------------------


async def record_staff_suggestion(
    session: AsyncSession, entry_id: str, customer_id: int, now: datetime
) -> int:
    """Note that the entry's answer was offered to staff for the customer; its id."""
    event = FaqEvent(
        entry_id=entry_id, customer_id=customer_id, kind=FaqEventKind.STAFF_SUGGESTED.value, at=now
    )
    session.add(event)
    await session.flush()
    return event.id


@dataclass(frozen=True)
class Suggestion:
    entry_id: str
    customer_id: int


class AlreadySent(Exception):
    """The suggestion was sent before (by this press's twin, or a colleague)."""


async def take_suggestion(session: AsyncSession, event_id: int, now: datetime) -> Suggestion | None:
    """Mark the suggestion sent, once: its entry and customer (None: no such suggestion).

    Raises:
        AlreadySent: it was sent before.
    """
    done = await session.execute(
        update(FaqEvent)
        .where(FaqEvent.id == event_id, FaqEvent.kind == FaqEventKind.STAFF_SUGGESTED.value)
        .values(kind=FaqEventKind.STAFF_SENT.value, at=now)
        .execution_options(synchronize_session=False)
    )
    event = await session.get(FaqEvent, event_id, populate_existing=True)
    if event is None or event.entry_id is None or event.customer_id is None:
        return None
    if getattr(done, "rowcount", 0) != 1:
        if event.kind == FaqEventKind.STAFF_SENT.value:
            raise AlreadySent
        return None
    return Suggestion(event.entry_id, event.customer_id)


async def answered_conversation(
    session: AsyncSession, chat_id: int, message_id: int
) -> tuple[int, int] | None:
    """The conversation and customer of the staff answer that is message ``message_id``
    of the staff chat ``chat_id`` (None: that message is no staff answer)."""
    row = (
        await session.execute(
            select(OwedMessage.conversation_id, OwedMessage.customer_id)
            .where(
                OwedMessage.staff_chat_id == chat_id,
                OwedMessage.staff_message_id == message_id,
                OwedMessage.purpose == STAFF_REPLY,
                OwedMessage.conversation_id.is_not(None),
                OwedMessage.customer_id.is_not(None),
            )
            .order_by(OwedMessage.id.desc())
            .limit(1)
        )
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return int(row[0]), int(row[1])
