"""Messages about a customer in staff chats that no complaint or conversation record
holds (``care.models.CustomerMention``): a staff member's answer or note to them, a
command that names them, the bot's answer to it, an alert about them.

They are recorded with their cause (the staff member's message in the transaction that
handles it; an owed alert when it is sent; the bot's answer to a command right after
Telegram took it), so that /forget (``care.privacy``) finds and deletes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import CustomerMention


async def remember(
    session: AsyncSession,
    customer_ids: Iterable[int],
    chat_id: int,
    message_ids: Iterable[int],
    now: datetime,
    *,
    by_staff: bool,
) -> None:
    """Note that the messages ``message_ids`` of ``chat_id`` are about these customers.

    Args:
        session: the caller's transaction; flushed, never committed.
        customer_ids: whom the messages are about (a list may name several).
        chat_id: the staff chat, or a staff member's private chat.
        message_ids: the messages.
        now: when they were sent.
        by_staff: a staff member wrote them (the bot may delete, never edit them).
    """
    customers, messages = sorted(set(customer_ids)), sorted(set(message_ids))
    if not customers or not messages:
        return
    known = set(
        (
            await session.execute(
                select(CustomerMention.customer_id, CustomerMention.message_id).where(
                    CustomerMention.chat_id == chat_id,
                    CustomerMention.customer_id.in_(customers),
                    CustomerMention.message_id.in_(messages),
                )
            )
        ).all()
    )
    session.add_all(
        CustomerMention(
            customer_id=customer,
            chat_id=chat_id,
            message_id=message,
            by_staff=by_staff,
            created_at=now,
        )
        for customer in customers
        for message in messages
        if (customer, message) not in known
    )
    await session.flush()
