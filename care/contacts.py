"""The contact log: every message in and out, on the customer's record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import Contact, ContactKind, Customer, Direction, UTCDateTime

# Texts longer than this are cut in the log; Telegram's own limit is 4096.
MAX_LOGGED_TEXT = 4096

_CUSTOMER = cast(Table, Customer.__table__)
# Core, not the ORM's bulk insert: the same statement, a sixth less CPU per row.
_CONTACT = cast(Table, Contact.__table__)

_AT = bindparam("at", type_=UTCDateTime())
_SEEN = bindparam("seen", type_=UTCDateTime())  # None: nothing inbound in the batch
_WROTE = bindparam("wrote", type_=UTCDateTime())  # None: no message (only presses)
_CONTACT_MOVES = or_(_CUSTOMER.c.last_contact_at.is_(None), _CUSTOMER.c.last_contact_at < _AT)
_SEEN_MOVES = and_(
    _SEEN.is_not(None),
    or_(_CUSTOMER.c.last_seen_at.is_(None), _CUSTOMER.c.last_seen_at < _SEEN),
)
_WROTE_MOVES = and_(
    _WROTE.is_not(None),
    or_(_CUSTOMER.c.last_message_at.is_(None), _CUSTOMER.c.last_message_at < _WROTE),
)
# Moves a customer's last-contact time, for anything from them their last-seen time, and
# for a message (not a button press) their last-message time, forward, never back: one
# statement for all three. A Core statement on the table: it
# touches no loaded object, and nothing cached about customers depends on it.
_MOVE_LAST_CONTACT = (
    update(_CUSTOMER)
    .where(_CUSTOMER.c.id == bindparam("customer"), or_(_CONTACT_MOVES, _SEEN_MOVES, _WROTE_MOVES))
    .values(
        last_contact_at=case((_CONTACT_MOVES, _AT), else_=_CUSTOMER.c.last_contact_at),
        last_seen_at=case((_SEEN_MOVES, _SEEN), else_=_CUSTOMER.c.last_seen_at),
        last_message_at=case((_WROTE_MOVES, _WROTE), else_=_CUSTOMER.c.last_message_at),
    )
)


@dataclass(frozen=True)
class ContactEntry:
    """One message for the contact log, as plain values.

    The customer is named by ``customer_id`` or, for a message the bot sent into a
    private chat, by ``chat_id`` (whoever sent it may not know the customer).
    """

    direction: Direction
    kind: ContactKind
    at: datetime
    customer_id: int | None = None
    chat_id: int | None = None
    text: str | None = None
    telegram_message_id: int | None = None


@dataclass(frozen=True)
class Seen:
    """What the log needs to know of a customer before it writes: when they were last
    seen (before these entries), and whether they were erased."""

    last_seen_at: datetime | None
    erased: bool


async def seen_of(session: AsyncSession, customer_ids: set[int]) -> dict[int, Seen]:
    """:class:`Seen` of these customers, in one statement."""
    if not customer_ids:
        return {}
    rows = await session.execute(
        select(_CUSTOMER.c.id, _CUSTOMER.c.last_seen_at, _CUSTOMER.c.erased_at).where(
            _CUSTOMER.c.id.in_(customer_ids)
        )
    )
    return {row.id: Seen(row.last_seen_at, row.erased_at is not None) for row in rows}


async def record_contacts(
    session: AsyncSession,
    entries: Sequence[ContactEntry],
    *,
    seen: dict[int, Seen] | None = None,
) -> list[int | None]:
    """Log many messages at once and move each customer's last-contact and last-seen times.

    One SELECT finds the customers named by chat id, one INSERT writes the rows in the
    order given, and one UPDATE per customer moves the last-contact time to their
    newest message and the last-seen time to their newest inbound one (never
    backwards). Flushes nothing of the ORM's.

    Args:
        session: The session whose transaction the caller commits.
        entries: The messages, oldest first.
        seen: :func:`seen_of` every customer the entries name by id, when the caller
            has it; without it, only those named by outbound entries are checked for
            an erasure.

    Returns:
        For each entry, the customer it was logged for, or None for a chat that belongs
        to no customer (not logged).
    """
    by_chat = await _customers_by_chat(
        session,
        {e.chat_id for e in entries if e.customer_id is None and e.chat_id is not None},
    )
    named_outbound = {
        e.customer_id
        for e in entries
        if e.customer_id is not None and e.direction is Direction.OUTBOUND
    }
    if seen is not None:
        erased = {customer_id for customer_id, facts in seen.items() if facts.erased}
    else:
        erased = await _erased_among(session, named_outbound)
    logged: list[int | None] = []
    rows: list[dict[str, Any]] = []
    newest: dict[int, datetime] = {}
    newest_inbound: dict[int, datetime] = {}
    newest_message: dict[int, datetime] = {}
    for entry in entries:
        customer_id = entry.customer_id
        if customer_id is None and entry.chat_id is not None:
            customer_id = by_chat.get(entry.chat_id)
        logged.append(customer_id)
        if customer_id is None:
            continue
        # A care message sent while its customer was being erased is logged as erased,
        # and so is a message logged after the erasure it asked for (/forget's own).
        keep = customer_id not in erased
        rows.append(
            {
                "customer_id": customer_id,
                "direction": entry.direction.value,
                "kind": entry.kind.value,
                "text": entry.text[:MAX_LOGGED_TEXT] if entry.text and keep else None,
                "telegram_message_id": entry.telegram_message_id if keep else None,
                "created_at": entry.at,
            }
        )
        if customer_id not in newest or newest[customer_id] < entry.at:
            newest[customer_id] = entry.at
        if entry.direction == Direction.INBOUND and (
            customer_id not in newest_inbound or newest_inbound[customer_id] < entry.at
        ):
            newest_inbound[customer_id] = entry.at
        if (
            entry.direction == Direction.INBOUND
            and entry.kind is not ContactKind.BUTTON
            and (customer_id not in newest_message or newest_message[customer_id] < entry.at)
        ):
            newest_message[customer_id] = entry.at
    if rows:
        await session.execute(insert(_CONTACT), rows)
        await session.execute(
            _MOVE_LAST_CONTACT,
            [
                {
                    "customer": customer_id,
                    "at": at,
                    "seen": newest_inbound.get(customer_id),
                    "wrote": newest_message.get(customer_id),
                }
                for customer_id, at in newest.items()
            ],
        )
    return logged


async def _erased_among(session: AsyncSession, customer_ids: set[int]) -> set[int]:
    """Which of these customers were erased (/forget). Asked only for messages logged by
    customer id, that is the outbox sender's: a message by chat finds no erased customer
    (they have no chat), and an erased customer writes to us as a new one."""
    if not customer_ids:
        return set()
    rows = await session.scalars(
        select(Customer.id).where(Customer.id.in_(customer_ids), Customer.erased_at.is_not(None))
    )
    return set(rows)


async def _customers_by_chat(session: AsyncSession, chat_ids: set[int]) -> dict[int, int]:
    if not chat_ids:
        return {}
    found: dict[int, int] = {}
    rows = await session.execute(
        select(Customer.chat_id, Customer.id)
        .where(Customer.chat_id.in_(chat_ids))
        .order_by(Customer.id)
    )
    for chat_id, customer_id in rows:
        if chat_id is not None:
            found.setdefault(chat_id, customer_id)
    return found


async def contact_history(
    session: AsyncSession, customer_id: int, limit: int | None = None
) -> list[Contact]:
    """The customer's contacts, oldest first (the newest ``limit`` when given)."""
    query = select(Contact).where(Contact.customer_id == customer_id).order_by(Contact.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = list((await session.scalars(query)).all())
    rows.reverse()
    return rows
