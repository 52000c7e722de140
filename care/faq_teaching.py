"""Staff teach the FAQ customers' wording: a question that went to a person becomes a new
phrasing of the entry that answers it.

Some questions share no word with their entry ("is there a showroom?" for the entry on
the shop's address): no matcher finds them, but staff recognise them at once. The FAQ
keeps the words of every question it handed to staff (``FaqEvent.question``: a hand-off,
"ask a person", "none of these"); :func:`miss_shown_in` finds that question again from
the staff-chat message that relayed it (``/faq same <id>`` sent as a reply to it),
:func:`recent_misses` lists the recent ones for teaching in bulk (``carebot faq
misses``), and :func:`add_phrasing` adds the words to an entry. Adding one moves the
entry's ``updated_at`` past every other, so :func:`care.faq.knowledge_version` changes
and every instance of the bot rebuilds its index.

A phrasing is company knowledge, kept without any link to the customer who first used
it; the question on the event is the customer's and is cleared when they are forgotten
(``care.privacy``). docs/faq.md says why.

The caller owns the transaction.
"""

from __future__ import annotations

import copy
import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care import conversations
from care.faq import FaqBook
from care.faq_files import MAX_QUESTION
from care.faq_match import Candidate, Decision, decide, normalize
from care.faq_models import FaqEntry, FaqEvent, FaqEventKind
from care.models import Customer

# The events whose question went to a person.
MISS_KINDS = (FaqEventKind.HANDED_OFF.value, FaqEventKind.ASKED_PERSON.value)
# A reply to a relay looks this far back among the customer's questions.
RECENT_QUESTIONS = 50
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_SPACE = re.compile(r"\s+")


class TeachProblem(enum.StrEnum):
    UNKNOWN_ENTRY = "unknown_entry"
    EMPTY = "empty"  # no words (only spaces or punctuation)
    TOO_LONG = "too_long"  # longer than a knowledge-base file allows
    NO_LANGUAGE = "no_language"  # the entry has no text in the language asked for
    DUPLICATE = "duplicate"  # the entry (``entry_id``) has this phrasing already


class PhrasingRefused(Exception):
    """The words cannot become a phrasing (nothing was changed)."""

    def __init__(self, problem: TeachProblem, entry_id: str | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.entry_id = entry_id
        self.limit = MAX_QUESTION


@dataclass(frozen=True)
class Taught:
    entry_id: str
    locale: str
    phrasing: str


def locale_of_text(text: str) -> str:
    """The language ``text`` is written in, as far as the FAQ cares: Chinese characters
    make it zh_CN, anything else en."""
    return "zh_CN" if _CJK.search(text) else "en"


def phrasing_of(text: str) -> str:
    """``text`` as one phrasing: on one line, spaces collapsed.

    Raises:
        PhrasingRefused: no words, or longer than a knowledge-base file allows.
    """
    phrasing = _SPACE.sub(" ", text).strip()
    if not normalize(phrasing):
        raise PhrasingRefused(TeachProblem.EMPTY)
    if len(phrasing) > MAX_QUESTION:
        raise PhrasingRefused(TeachProblem.TOO_LONG)
    return phrasing


async def _phrasings(session: AsyncSession) -> dict[str, str]:
    """Every phrasing of the base, normalized, and the entry it belongs to."""
    known: dict[str, str] = {}
    for row in (await session.scalars(select(FaqEntry).order_by(FaqEntry.id))).all():
        for text in row.texts.values():
            for question in text["questions"]:
                known.setdefault(normalize(question), row.id)
    return known


async def add_phrasing(
    session: AsyncSession,
    entry_id: str,
    text: str,
    now: datetime,
    *,
    locale: str | None = None,
    strict: bool = False,
) -> Taught:
    """Add ``text`` to the entry's question phrasings.

    Args:
        session: The caller's transaction.
        entry_id: The entry that answers it.
        text: The words, as customers ask (one line).
        now: When this happens.
        locale: The language to add it in. Without ``strict``, a preference: when the
            entry has no text in it, the language of the words (``locale_of_text``) if
            the entry has that, else the entry's first language.
        strict: Refuse an entry without ``locale`` rather than choose another.

    Raises:
        PhrasingRefused: no such entry, no words, too long, the entry lacks ``locale``
            (``strict``), or the base has the phrasing already (``entry_id``: where).
    """
    row = await session.get(FaqEntry, entry_id)
    if row is None:
        raise PhrasingRefused(TeachProblem.UNKNOWN_ENTRY, entry_id)
    phrasing = phrasing_of(text)
    owner = (await _phrasings(session)).get(normalize(phrasing))
    if owner is not None:
        raise PhrasingRefused(TeachProblem.DUPLICATE, owner)
    if locale is not None and locale not in row.texts and strict:
        raise PhrasingRefused(TeachProblem.NO_LANGUAGE, entry_id)
    chosen = next(
        (
            candidate
            for candidate in (locale, locale_of_text(phrasing))
            if candidate is not None and candidate in row.texts
        ),
        next(iter(row.texts)),
    )
    texts = copy.deepcopy(row.texts)  # a new object: the JSON column sees the change
    texts[chosen]["questions"].append(phrasing)
    row.texts = texts
    # Past every other entry's change: the knowledge version moves even when the clock
    # has not (two changes in one tick), and every instance reloads.
    latest = await session.scalar(select(func.max(FaqEntry.updated_at)))
    row.updated_at = now if latest is None or now > latest else latest + timedelta(microseconds=1)
    await session.flush()
    return Taught(row.id, chosen, phrasing)


# --- the questions that went to a person ------------------------------------------------


@dataclass(frozen=True)
class AskedQuestion:
    """A customer's question the FAQ handed to staff."""

    event_id: int
    customer_id: int
    question: str
    kind: str
    given_entry_id: str | None  # "ask a person" after this entry's answer
    at: datetime


async def miss_shown_in(
    session: AsyncSession, chat_id: int, message_id: int, shown: str
) -> AskedQuestion | None:
    """The question handed to staff that the staff-chat message ``message_id`` (whose
    text is ``shown``) relays: the latest of its conversation's customer whose words it
    shows. None: the message is no conversation's, or shows no such question."""
    conversation = await conversations.message_owner(session, chat_id, message_id)
    if conversation is None or not shown:
        return None
    events = await session.scalars(
        select(FaqEvent)
        .where(
            FaqEvent.customer_id == conversation.customer_id,
            FaqEvent.kind.in_(MISS_KINDS),
            FaqEvent.question.is_not(None),
        )
        .order_by(FaqEvent.id.desc())
        .limit(RECENT_QUESTIONS)
    )
    for event in events:
        if event.question and shows(shown, event.question):
            return _asked(event)
    return None


def shows(shown: str, question: str) -> bool:
    """Whether a staff-chat message's text shows the question whole: the message copied
    (all of it), under a header (after a line break), quoted after "Question: " or in a
    notice (after a colon), up to the end of a line; not a piece of a longer
    message that happens to contain the words."""
    start = shown.find(question)
    while start != -1:
        end = start + len(question)
        before = shown[:start]
        if (not before or before.endswith(("\n", ":", "：", ": "))) and (
            end == len(shown) or shown[end] == "\n"
        ):
            return True
        start = shown.find(question, start + 1)
    return False


def _asked(event: FaqEvent) -> AskedQuestion:
    assert event.customer_id is not None and event.question is not None
    return AskedQuestion(
        event.id, event.customer_id, event.question, event.kind, event.entry_id, event.at
    )


class MissReason(enum.StrEnum):
    NO_MATCH = "no_match"  # no entry fitted: handed to a person at once
    NONE_FITTED = "none_fitted"  # "none of these" under the suggestions
    NOT_HELPFUL = "not_helpful"  # "ask a person" under an answer


def reason_of(kind: str, given_entry_id: str | None) -> MissReason:
    if kind == FaqEventKind.HANDED_OFF.value:
        return MissReason.NO_MATCH
    return MissReason.NOT_HELPFUL if given_entry_id else MissReason.NONE_FITTED


@dataclass
class Miss:
    """One wording that went to a person, however often it was asked."""

    question: str  # the latest asking's words
    locale: str  # the language of the customer who asked it last
    count: int = 0
    last_at: datetime | None = None
    reasons: set[MissReason] = field(default_factory=set)
    given: set[str] = field(default_factory=set)  # answers that did not help
    decision: Decision = Decision.HANDOFF  # what the bot would do now
    candidates: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class Misses:
    misses: list[Miss]
    taught: int  # wordings asked in the period that are phrasings by now


async def recent_misses(
    session: AsyncSession, book: FaqBook, since: datetime, default_locale: str
) -> Misses:
    """The questions that went to a person since ``since``, newest first, one per wording
    (normalized), with what the bot would do with them now (``book``; its candidates even
    below the suggestion threshold, so that staff see the likely entries). Wordings that
    are phrasings by now (taught since) are counted, not listed."""
    rows = await session.execute(
        select(FaqEvent, Customer.language)
        .join(Customer, Customer.id == FaqEvent.customer_id, isouter=True)
        .where(FaqEvent.kind.in_(MISS_KINDS), FaqEvent.question.is_not(None), FaqEvent.at >= since)
        .order_by(FaqEvent.at.desc(), FaqEvent.id.desc())
    )
    known = await _phrasings(session)
    grouped: dict[str, Miss] = {}
    taught: set[str] = set()
    for event, language in rows:
        assert event.question is not None
        key = normalize(event.question)
        if not key:
            continue
        if key in known:
            taught.add(key)
            continue
        miss = grouped.get(key)
        if miss is None:
            miss = grouped[key] = Miss(event.question, language or default_locale)
            miss.last_at = event.at
        miss.count += 1
        miss.reasons.add(reason_of(event.kind, event.entry_id))
        if event.entry_id:
            miss.given.add(event.entry_id)
    for miss in grouped.values():
        candidates = book.index.scores(miss.question)
        miss.decision = decide(candidates, book.thresholds).decision
        miss.candidates = tuple(candidates[: book.thresholds.suggestions])
    return Misses(list(grouped.values()), len(taught))
