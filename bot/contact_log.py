"""The contact log's writer: every message in and out, committed in shared transactions.

``identify_customer`` logs each inbound message and ``CareBot`` each message it sends
into a private chat. Both wait in :meth:`ContactLog.record` until their row is committed,
so a reply is never sent for a message that is not on the record yet, and a message the
customer got is on the record before its handler goes on. What they wait for is a group
commit (``bot.group_commit``): under load, the rows of many updates share one
transaction instead of costing one each.

The customers who wrote are classified again in the same transaction
(``care.segments.refresh``, a few grouped queries for the whole batch), so their
segments and churn risk follow each contact.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    logged = await contacts.record_contacts(session, entries)
    if segment_rules is None:
        return
    wrote = {
        customer_id
        for customer_id, entry in zip(logged, entries, strict=True)
        if customer_id is not None and entry.direction is Direction.INBOUND
    }
    if wrote:
        now = max(entry.at for entry in entries)
        await segments.refresh(session, segment_rules, now, wrote)
