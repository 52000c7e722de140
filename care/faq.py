"""The FAQ: a knowledge base of questions and answers in Chinese and English, matched
against customers' messages (``care.faq_match``), and the measures of how it serves.

The caller owns the transaction: functions here take the session first and flush, never
commit. The knowledge base changes seldom and is matched on every message, so the bot
keeps a :class:`FaqBook` (the entries and their index) and builds it again when
:func:`knowledge_version` says the base changed.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.faq_files import EntryData, FaqProblem, FileError, LocaleText, ParsedFile
from care.faq_match import (
    Candidate,
    Decision,
    FaqIndex,
    Match,
    Phrasing,
    Thresholds,
    Weights,
    decide,
)
from care.faq_models import FaqEntry, FaqEvent, FaqEventKind, FaqSwitch
from care.faq_words import Relations
from care.models import Contact, ContactKind, Direction

# A question is kept for teaching up to this long (a phrasing may be at most 500
# characters: ``care.faq_files.MAX_QUESTION``; longer ones are kept to be seen, cut).
MAX_KEPT_QUESTION = 2000


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did, or would do (``dry_run``), or why it did nothing."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    errors: tuple[FileError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def entry_data(row: FaqEntry) -> EntryData:
    """An entry as stored, in the shape files hold."""
    return EntryData(
        id=row.id,
        texts={
            locale: LocaleText(tuple(text["questions"]), text["answer"])
            for locale, text in row.texts.items()
        },
        tags=tuple(row.tags),
        photo=row.photo,
        document=row.document,
        related=tuple(row.related),
    )


def _texts_column(entry: EntryData) -> dict[str, dict[str, object]]:
    return {
        locale: {"questions": list(text.questions), "answer": text.answer}
        for locale, text in entry.texts.items()
    }


async def import_entries(
    session: AsyncSession, parsed: ParsedFile, now: datetime, *, dry_run: bool = False
) -> ImportOutcome:
    """Add the file's entries and update those whose id exists (all or nothing).

    Entries of the base that the file does not name are kept, and so are the counts of
    every entry (they hang on the id). Nothing is written when the file has any problem.

    Args:
        session: The caller's transaction.
        parsed: What ``care.faq_files.read_file`` found.
        now: When this happens.
        dry_run: Only say what would happen.
    """
    errors = list(parsed.errors)
    existing = {row.id: row for row in (await session.scalars(select(FaqEntry))).all()}
    known = set(existing) | {entry.id for entry in parsed.entries}
    for entry in parsed.entries:
        for related in entry.related:
            if related not in known or related == entry.id:
                errors.append(FileError(entry.id, FaqProblem.UNKNOWN_RELATED, related))
    if errors:
        return ImportOutcome(errors=tuple(errors))
    created, updated, unchanged = [], [], []
    for entry in parsed.entries:
        row = existing.get(entry.id)
        if row is None:
            created.append(entry.id)
            if not dry_run:
                session.add(
                    FaqEntry(
                        id=entry.id,
                        tags=list(entry.tags),
                        texts=_texts_column(entry),
                        photo=entry.photo,
                        document=entry.document,
                        related=list(entry.related),
                        enabled=True,
                        created_at=now,
                        updated_at=now,
                    )
                )
        elif entry_data(row) == entry:
            unchanged.append(entry.id)
        else:
            updated.append(entry.id)
            if not dry_run:
                row.tags = list(entry.tags)
                row.texts = _texts_column(entry)
                row.photo = entry.photo
                row.document = entry.document
                row.related = list(entry.related)
                row.updated_at = now
    if not dry_run:
        await session.flush()
    return ImportOutcome(tuple(created), tuple(updated), tuple(unchanged))


async def all_entries(session: AsyncSession) -> list[FaqEntry]:
    """Every entry, by id."""
    return list((await session.scalars(select(FaqEntry).order_by(FaqEntry.id))).all())


async def get_entry(session: AsyncSession, entry_id: str) -> FaqEntry | None:
    return await session.get(FaqEntry, entry_id)


async def set_entry_enabled(
    session: AsyncSession, entry_id: str, enabled: bool, now: datetime
) -> bool:
    """Switch one entry's answers on or off; False if there is no such entry."""
    row = await session.get(FaqEntry, entry_id)
    if row is None:
        return False
    row.enabled = enabled
    row.updated_at = now
    await session.flush()
    return True


async def faq_enabled(session: AsyncSession) -> bool:
    """Whether the bot answers from the FAQ at all."""
    switch = await session.get(FaqSwitch, 1)
    return switch is None or switch.enabled


async def set_faq_enabled(session: AsyncSession, enabled: bool, now: datetime) -> None:
    """Switch all FAQ answers on or off."""
    switch = await session.get(FaqSwitch, 1)
    if switch is None:
        session.add(FaqSwitch(id=1, enabled=enabled, changed_at=now))
    else:
        switch.enabled = enabled
        switch.changed_at = now
    await session.flush()


async def knowledge_version(session: AsyncSession) -> tuple[int, datetime | None, bool]:
    """Something that changes whenever the entries or the switch change: the count of
    entries, the latest change to one, and the global switch."""
    # One statement (it runs for every customer message): the switch as a subquery.
    switch = select(FaqSwitch.enabled).where(FaqSwitch.id == 1).scalar_subquery()
    count, latest, enabled = (
        await session.execute(
            select(func.count(FaqEntry.id), func.max(FaqEntry.updated_at), switch)
        )
    ).one()
    return int(count), latest, enabled is None or bool(enabled)


async def record_event(
    session: AsyncSession,
    kind: FaqEventKind,
    now: datetime,
    *,
    entry_id: str | None = None,
    customer_id: int | None = None,
    question: str | None = None,
) -> None:
    """Note what happened, for the measures; with a hand-off or "ask a person", what the
    customer asked (``question``), for staff to teach (``care.faq_teaching``)."""
    session.add(
        FaqEvent(
            entry_id=entry_id, customer_id=customer_id, kind=kind.value, at=now,
            question=question.strip()[:MAX_KEPT_QUESTION] if question else None,
        )
    )  # fmt: skip
    await session.flush()


async def record_match(
    session: AsyncSession, match: Match, customer_id: int, now: datetime, question: str
) -> None:
    """Note what the bot did with a customer's message ``question``: answered, suggested
    (each entry offered) or handed off (with the words, for staff to teach)."""
    if match.decision is Decision.HANDOFF:
        await record_event(
            session, FaqEventKind.HANDED_OFF, now, customer_id=customer_id, question=question
        )
        return
    kind = FaqEventKind.ANSWERED if match.decision is Decision.ANSWER else FaqEventKind.SUGGESTED
    for candidate in match.candidates:
        await record_event(session, kind, now, entry_id=candidate.entry_id, customer_id=customer_id)


async def last_answer(session: AsyncSession, customer_id: int) -> str | None:
    """The entry whose answer the customer got last from the FAQ, if the FAQ's last act
    for them was an answer (so the same answer is never sent twice in a row)."""
    row = await session.scalar(
        select(FaqEvent)
        .where(
            FaqEvent.customer_id == customer_id,
            FaqEvent.kind.in_(
                [
                    FaqEventKind.ANSWERED.value,
                    FaqEventKind.PICKED.value,
                    FaqEventKind.HANDED_OFF.value,
                    FaqEventKind.ASKED_PERSON.value,
                ]
            ),
        )
        .order_by(FaqEvent.at.desc(), FaqEvent.id.desc())
        .limit(1)
    )
    if row is None or row.kind not in (FaqEventKind.ANSWERED, FaqEventKind.PICKED):
        return None
    return row.entry_id


@dataclass
class EntryStats:
    """The measures of one entry (or, with ``entry_id`` None, of all)."""

    entry_id: str | None
    answered: int = 0  # answers sent, directly or by a suggestion pressed
    suggested: int = 0
    picked: int = 0
    helpful: int = 0
    asked_person: int = 0
    deflected: int = 0  # answers not followed by "ask a person" or a message soon after
    handed_off: int = 0  # messages no entry fitted (overall only)

    @property
    def helpful_rate(self) -> float | None:
        return self.helpful / self.answered if self.answered else None

    @property
    def deflection_rate(self) -> float | None:
        return self.deflected / self.answered if self.answered else None

    @property
    def handoff_rate(self) -> float | None:
        """Of the customers' messages the FAQ saw: how many went to a person, whether at
        once or by "ask a person" (overall); of an entry's answers: how many were
        followed by "ask a person"."""
        if self.entry_id is None:
            seen = self.answered + self.handed_off + self.suggested_messages
            return (self.handed_off + self.asked_person) / seen if seen else None
        return self.asked_person / self.answered if self.answered else None

    suggested_messages: int = 0  # messages answered with suggestions (overall only)


@dataclass
class FaqStats:
    overall: EntryStats
    entries: list[EntryStats] = field(default_factory=list)


async def faq_stats(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    quiet_after_answer: timedelta = timedelta(minutes=10),
) -> FaqStats:
    """Deflection, helpful and hand-off rates per entry and overall.

    An answer counts as deflected when the customer neither asked for a person nor wrote
    again (a message or a command, not a button) within ``quiet_after_answer``.
    """
    query = select(FaqEvent).order_by(FaqEvent.at, FaqEvent.id)
    if since is not None:
        query = query.where(FaqEvent.at >= since)
    events = list((await session.scalars(query)).all())
    per_entry: dict[str, EntryStats] = {}
    overall = EntryStats(None)
    answers: list[FaqEvent] = []
    asked_after: dict[tuple[int | None, str | None], list[datetime]] = defaultdict(list)
    suggestion_messages: set[tuple[int | None, datetime]] = set()
    for event in events:
        if event.kind in (FaqEventKind.STAFF_SUGGESTED, FaqEventKind.STAFF_SENT):
            continue  # offered to staff, not to the customer (care.faq_authoring)
        if event.kind == FaqEventKind.HANDED_OFF:
            overall.handed_off += 1
            continue
        if event.entry_id is None:
            if event.kind == FaqEventKind.ASKED_PERSON:
                overall.asked_person += 1
            continue
        stats = per_entry.setdefault(event.entry_id, EntryStats(event.entry_id))
        if event.kind in (FaqEventKind.ANSWERED, FaqEventKind.PICKED):
            stats.answered += 1
            overall.answered += 1
            answers.append(event)
            if event.kind == FaqEventKind.PICKED:
                stats.picked += 1
                overall.picked += 1
        elif event.kind == FaqEventKind.SUGGESTED:
            stats.suggested += 1
            overall.suggested += 1
            suggestion_messages.add((event.customer_id, event.at))
        elif event.kind == FaqEventKind.HELPFUL:
            stats.helpful += 1
            overall.helpful += 1
        elif event.kind == FaqEventKind.ASKED_PERSON:
            stats.asked_person += 1
            overall.asked_person += 1
            asked_after[(event.customer_id, event.entry_id)].append(event.at)
    overall.suggested_messages = len(suggestion_messages)
    written_after = await _messages_after(session, answers, quiet_after_answer)
    for event, wrote_again in zip(answers, written_after, strict=True):
        until = event.at + quiet_after_answer
        asked = any(
            event.at <= at <= until for at in asked_after[(event.customer_id, event.entry_id)]
        )
        if not asked and not wrote_again:
            assert event.entry_id is not None
            per_entry[event.entry_id].deflected += 1
            overall.deflected += 1
    return FaqStats(overall, sorted(per_entry.values(), key=lambda s: (-s.answered, s.entry_id)))


async def _messages_after(
    session: AsyncSession, answers: Sequence[FaqEvent], within: timedelta
) -> list[bool]:
    """For each answer: whether its customer wrote to us (not a button) soon after."""
    customers = {event.customer_id for event in answers if event.customer_id is not None}
    if not customers:
        return [False] * len(answers)
    inbound: dict[int, list[datetime]] = defaultdict(list)
    rows = await session.execute(
        select(Contact.customer_id, Contact.created_at).where(
            Contact.customer_id.in_(customers),
            Contact.direction == Direction.INBOUND.value,
            Contact.kind != ContactKind.BUTTON.value,
            Contact.created_at >= min(event.at for event in answers),
        )
    )
    for customer_id, at in rows:
        inbound[customer_id].append(at)
    return [
        event.customer_id is not None
        and any(event.at < at <= event.at + within for at in inbound[event.customer_id])
        for event in answers
    ]


@dataclass
class FaqBook:
    """The enabled entries and their index, built once per version of the base."""

    entries: dict[str, EntryData]
    index: FaqIndex
    thresholds: Thresholds
    enabled: bool = True
    version: object = None

    @classmethod
    def of(
        cls,
        entries: Sequence[EntryData],
        thresholds: Thresholds | None = None,
        weights: Weights | None = None,
        *,
        enabled: bool = True,
        version: object = None,
        relations: Relations | None = None,
    ) -> FaqBook:
        """Index ``entries`` (every language's phrasings and answers); related English
        words from ``relations``, else WordNet's (``care.faq_words``)."""
        phrasings = [
            Phrasing(entry.id, question)
            for entry in entries
            for text in entry.texts.values()
            for question in text.questions
        ]
        answers = [
            Phrasing(entry.id, text.answer) for entry in entries for text in entry.texts.values()
        ]
        return cls(
            entries={entry.id: entry for entry in entries},
            index=FaqIndex.build(phrasings, answers, weights, relations),
            thresholds=thresholds or Thresholds(),
            enabled=enabled,
            version=version,
        )

    def match(self, text: str) -> Match:
        """What the bot would do with ``text``."""
        return decide(self.index.scores(text), self.thresholds)

    def answer(self, entry_id: str, locale: str) -> LocaleText | None:
        """The entry's answer in ``locale``, else in any language it has."""
        entry = self.entries.get(entry_id)
        if entry is None:
            return None
        return entry.texts.get(locale) or next(iter(entry.texts.values()), None)

    def title(self, entry_id: str, locale: str) -> str:
        """How a suggestion button names the entry: its first phrasing in ``locale``."""
        text = self.answer(entry_id, locale)
        return text.questions[0] if text else entry_id


async def load_book(
    session: AsyncSession, thresholds: Thresholds | None = None, weights: Weights | None = None
) -> FaqBook:
    """The enabled entries of the base, indexed, with the global switch."""
    version = await knowledge_version(session)
    rows = await all_entries(session)
    return FaqBook.of(
        [entry_data(row) for row in rows if row.enabled],
        thresholds,
        weights,
        enabled=version[2],
        version=version,
    )


class FaqShelf:
    """The bot's current :class:`FaqBook`, built again when the base changes.

    One per application. Building indexes every phrasing (seconds at thousands of
    entries), so it runs in a worker thread, once for concurrent callers.
    """

    def __init__(self, thresholds: Thresholds | None = None, weights: Weights | None = None):
        self.thresholds = thresholds or Thresholds()
        self.weights = weights
        self._book: FaqBook | None = None
        self._lock = asyncio.Lock()

    async def book(self, session: AsyncSession) -> FaqBook:
        """The book for the base as ``session`` sees it."""
        version = await knowledge_version(session)
        if self._book is not None and self._book.version == version:
            return self._book
        async with self._lock:
            if self._book is None or self._book.version != version:
                rows = await all_entries(session)
                entries = [entry_data(row) for row in rows if row.enabled]
                book = await asyncio.to_thread(
                    FaqBook.of, entries, self.thresholds, self.weights, version=version
                )
                book.enabled = version[2]
                self._book = book
        return self._book


__all__ = ["Candidate", "FaqBook", "Match", "Thresholds"]
