"""The contact log: every message in and out, on the customer's record."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import Contact, ContactKind, Customer, Direction

# Texts longer than this are cut in the log; Telegram's own limit is 4096.
MAX_LOGGED_TEXT = 4096


async def record_contact(
    session: AsyncSession,
    customer: Customer,
    direction: Direction,
    kind: ContactKind,
    now: datetime,
    *,
    text: str | None = None,
    telegram_message_id: int | None = None,
) -> Contact:
    """Log one message on the customer's record and move their last-contact time."""
    contact = Contact(
        customer_id=customer.id,
        direction=direction.value,
        kind=kind.value,
        text=text[:MAX_LOGGED_TEXT] if text else None,
        telegram_message_id=telegram_message_id,
        created_at=now,
    )
    session.add(contact)
    if customer.last_contact_at is None or customer.last_contact_at < now:
        customer.last_contact_at = now
    await session.flush()
    return contact


async def record_outbound(
    session: AsyncSession,
    chat_id: int,
    kind: ContactKind,
    now: datetime,
    *,
    text: str | None,
    telegram_message_id: int | None,
) -> bool:
    """Log a message the bot sent into a customer's private chat, if it is a customer's.

    Returns:
        Whether the chat belongs to a customer (and so was logged).
    """
    customer_id = await session.scalar(select(Customer.id).where(Customer.chat_id == chat_id))
    if customer_id is None:
        return False
    session.add(
        Contact(
            customer_id=customer_id,
            direction=Direction.OUTBOUND.value,
            kind=kind.value,
            text=text[:MAX_LOGGED_TEXT] if text else None,
            telegram_message_id=telegram_message_id,
            created_at=now,
        )
    )
    await session.execute(
        update(Customer)
        .where(
            Customer.id == customer_id,
            (Customer.last_contact_at.is_(None)) | (Customer.last_contact_at < now),
        )
        .values(last_contact_at=now)
    )
    await session.flush()
    return True


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


async def count_contacts(session: AsyncSession, customer_id: int) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.customer_id == customer_id)
        )
        or 0
    )
