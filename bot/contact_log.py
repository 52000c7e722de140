"""The contact log's writer: every message in and out, committed in shared transactions.

``identify_customer`` logs each inbound message and ``CareBot`` each message it sends
into a private chat. Both wait in :meth:`ContactLog.record` until their row is committed,
so a reply is never sent for a message that is not on the record yet, and a message the
customer got is on the record before its handler goes on. What they wait for is a group
commit (``bot.group_commit``): under load, the rows of many updates share one
transaction instead of costing one each.

The customers who wrote are classified again in the same transaction
(``care.segments.refresh``, a few grouped queries for the whole batch) with their first
message of a day, so their segments and churn risk follow their contacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.group_commit import CommitFailed, GroupCommit
from care import contacts, segments
from care.contacts import ContactEntry
from care.models import Customer, Direction
from care.segments import SegmentRules

__all__ = ["CommitFailed", "ContactLog"]

# At most this many messages per transaction: enough for any burst, small enough that
# a transaction stays short.
MAX_BATCH = 500


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
        self._writer: GroupCommit[ContactEntry] = GroupCommit(
            sessionmaker,
            partial(_write, segment_rules=segment_rules),
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

        Raises:
            CommitFailed: The transaction failed; the entry is not on the record.
        """
        await self._writer.submit(entry)

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
    new_day = await _first_today(session, entries) if segment_rules is not None else set()
    await contacts.record_contacts(session, entries)
    if segment_rules is not None and new_day:
        now = max(entry.at for entry in entries)
        await segments.refresh(session, segment_rules, now, new_day)


async def _first_today(session: AsyncSession, entries: Sequence[ContactEntry]) -> set[int]:
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
    if not wrote:
        return set()
    seen = await session.execute(
        select(Customer.id, Customer.last_seen_at).where(Customer.id.in_(list(wrote)))
    )
    return {
        customer_id
        for customer_id, last_seen in seen
        if last_seen is None or last_seen.date() < wrote[customer_id].date()
    }
