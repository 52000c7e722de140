"""Staff answers to customers, seen from the staff member's message they came from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import OwedMessage, OwedState
from care.owed import CUSTOMER_BOUND


async def went_to_customer(session: AsyncSession, chat_id: int, message_id: int) -> bool:
    """Whether the staff member's message ``(chat_id, message_id)`` was owed to a
    customer as an answer (on its way or delivered): the customer has its words as they
    were then, whatever the staff member edits later.

    Settled rows are pruned after a while (``care.owed.prune``): an answer older than
    that is no longer known here.
    """
    found = await session.scalar(
        select(OwedMessage.id)
        .where(
            OwedMessage.staff_chat_id == chat_id,
            OwedMessage.staff_message_id == message_id,
            OwedMessage.purpose.in_([purpose.value for purpose in CUSTOMER_BOUND]),
            OwedMessage.state != OwedState.DROPPED.value,
        )
        .limit(1)
    )
    return found is not None
