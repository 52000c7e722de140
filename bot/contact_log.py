"""The contact log's writer: every message in and out, committed in shared transactions.

``identify_customer`` logs each inbound message and ``CareBot`` each message it sends
into a private chat. Both wait in :meth:`ContactLog.record` until their row is committed,
so a reply is never sent for a message that is not on the record yet, and a message the
customer got is on the record before its handler goes on. What they wait for is a group
commit (``bot.group_commit``): under load, the rows of many updates share one
transaction instead of costing one each.

An update the durable inbox hands to the handlers (``bot.inbox``) defers its entries
instead (:meth:`ContactLog.deferring`): they are written in the transaction that marks the
update handled, so a customer's message and the bot's answers to it cost no transaction
of their own. That is as safe as committing them first: until that transaction commits,
the update is not handled, and a process that dies meanwhile handles it again, message,
answers and their log entries with it.

The customers who wrote are classified again in the same transaction
(``care.segments.refresh``, a few grouped queries for the whole batch) with their first
message of a day, so their segments and churn risk follow their contacts.
"""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.group_commit import CommitFailed, GroupCommit
from care import contacts, segments
from care.contacts import ContactEntry
from care.models import Direction
from care.segments import SegmentRules

__all__ = ["CommitFailed", "ContactLog"]

# At most this many messages per transaction: enough for any burst, small enough that
# a transaction stays short.
MAX_BATCH = 500


@dataclass
class Deferred:
    """The entries of one update, kept for the transaction that settles it."""

    entries: list[ContactEntry] = field(default_factory=list)
    open: bool = True  # closed once taken: later entries (a task the handler left) go alone


_DEFERRED: contextvars.ContextVar[Deferred | None] = contextvars.ContextVar(
    "carebot_contacts_deferred", default=None
)


class ContactLog:
    """Writes contact log entries; :meth:`record` returns once the entry is committed.

    The writer keeps a connection of its own (see ``GroupCommit``'s ``own_connection``)
    from :meth:`open` until :meth:`close`, which the application calls when it starts
    and stops (``bot.app.prepare`` and ``finish``).
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        segment_rules: SegmentRules | None = None,
    ) -> None:
        self._write = partial(_write, segment_rules=segment_rules)
        self._writer: GroupCommit[ContactEntry] = GroupCommit(
            sessionmaker,
            self._write,
            name="contact log",
            max_batch=MAX_BATCH,
            own_connection=True,
        )

    @property
    def transactions(self) -> int:
        """How many transactions have been committed so far."""
        return self._writer.transactions

    async def record(self, entry: ContactEntry) -> None:
        """Log one message; returns once it is committed.

        An entry naming a chat that belongs to no customer (a staff member's private
        chat) is dropped, as ``care.contacts.record_contacts`` says.

        Inside :meth:`deferring`, the entry is kept for the caller's transaction instead,
        and this returns at once.

        Raises:
            CommitFailed: The transaction failed; the entry is not on the record.
        """
        deferred = _DEFERRED.get()
        if deferred is not None and deferred.open:
            deferred.entries.append(entry)
            return
        await self._writer.submit(entry)

    @staticmethod
    def deferring() -> Deferred:
        """Keep the entries recorded from here on, in this task and the tasks it starts,
        for :meth:`write` in the transaction that settles them; :meth:`taken` ends it."""
        deferred = Deferred()
        _DEFERRED.set(deferred)
        return deferred

    @staticmethod
    def taken(deferred: Deferred) -> list[ContactEntry]:
        """The entries kept so far; later ones are written on their own."""
        deferred.open = False
        return deferred.entries

    async def write(self, session: AsyncSession, entries: Sequence[ContactEntry]) -> None:
        """Write ``entries`` in ``session``'s transaction, which the caller commits."""
        if entries:
            await self._write(session, entries)

    async def open(self) -> None:
        """Take the writer's connection (before the handlers can crowd the pool)."""
        await self._writer.open()

    async def close(self) -> None:
        """Commit what is queued and give the connection back; later entries still get
        written, one transaction each."""
        await self._writer.close()


async def _write(
    session: AsyncSession,
    entries: Sequence[ContactEntry],
    *,
    segment_rules: SegmentRules | None = None,
) -> None:
    # One look at the customers named: last seen (for the first message of a day) and
    # erased (a message logged after the /forget it asked for keeps no text).
    seen = await contacts.seen_of(
        session, {entry.customer_id for entry in entries if entry.customer_id is not None}
    )
    new_day = _first_today(entries, seen) if segment_rules is not None else set()
    await contacts.record_contacts(session, entries, seen=seen)
    if segment_rules is not None and new_day:
        now = max(entry.at for entry in entries)
        await segments.refresh(session, segment_rules, now, new_day)


def _first_today(entries: Sequence[ContactEntry], seen: dict[int, contacts.Seen]) -> set[int]:
    """The customers for whom one of these messages is their first on its (UTC) day.

    Only those are classified again: the signals the rules read (days of contact, the
    end of a quiet spell) change with a new day of contact, not with the next message
    of the same day, so a customer writing 300 messages costs one classification, not
    300 (bench/inbound.py's flood).
    """
    wrote: dict[int, datetime] = {}
    for entry in entries:
        if entry.direction is Direction.INBOUND and entry.customer_id is not None:
            wrote[entry.customer_id] = max(entry.at, wrote.get(entry.customer_id, entry.at))
    firsts = set()
    for customer_id, at in wrote.items():
        facts = seen.get(customer_id)
        if facts is None:
            continue  # no such customer (any more)
        if facts.last_seen_at is None or facts.last_seen_at.date() < at.date():
            firsts.add(customer_id)
    return firsts
