"""Who on the care staff hears of what: the one policy for staff alerts.

Every alert about a complaint (an upset customer, an SLA warning or breach, a low
rating, a comment on a rating, a complaint the customer reopened, a complaint closed
because its customer asked to be forgotten), every alert about a conversation (an SLA
warning or breach of its first response or its resolution), and every alert about a key
customer whose churn risk turned high (``care.segments``), gets its recipients here, and
``handlers.staff_alerts.owe_alert`` owes each of them the words. A private chat that
refuses an alert (a staff member who never opened one with the bot) passes it to its
fallback chat.

=====================  =================================================================
alert                  who
=====================  =================================================================
upset customer         every supervisor, in private
key customer at risk   every supervisor in private (the staff group if one cannot get
                       it); the staff group when there is no supervisor
SLA warning            the assignee in private (the staff group if they cannot get it);
                       the staff group when nobody has the complaint or conversation
SLA breach, low        the staff group and every supervisor in private
rating
rating comment,        the staff group
reopened by customer,
closed at erasure
=====================  =================================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from care import staff as staff_members
from care.models import StaffMember, StaffRole

__all__ = ["Alert", "Recipient", "recipients"]


class Alert(enum.StrEnum):
    UPSET_CUSTOMER = "upset_customer"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    LOW_RATING = "low_rating"
    RATING_COMMENT = "rating_comment"
    REOPENED_BY_CUSTOMER = "reopened_by_customer"
    CLOSED_AT_ERASURE = "closed_at_erasure"  # /forget closed an open complaint
    KEY_CUSTOMER_AT_RISK = "key_customer_at_risk"  # care.segments: churn risk turned high


@dataclass(frozen=True)
class Recipient:
    """A chat an alert goes to, and where it goes instead if that chat refuses it."""

    chat_id: int
    fallback_chat_id: int | None = None


async def _supervisors(session: AsyncSession) -> list[int]:
    # A private chat's id is the user's.
    return [
        member.telegram_user_id
        for member in await staff_members.list_staff(session)
        if member.role == StaffRole.SUPERVISOR.value
    ]


async def recipients(
    session: AsyncSession,
    alert: Alert,
    *,
    staff_chat_id: int | None,
    assignee: StaffMember | None = None,
) -> list[Recipient]:
    """Who hears of ``alert`` (see the table in the module docstring), each chat once.

    Args:
        session: The caller's transaction.
        alert: What happened.
        staff_chat_id: The staff group, if there is one.
        assignee: The staff member who has the complaint or conversation, if anyone.
    """
    group = [staff_chat_id] if staff_chat_id is not None else []
    if alert is Alert.UPSET_CUSTOMER:
        chats = await _supervisors(session)
    elif alert is Alert.KEY_CUSTOMER_AT_RISK:
        supervisors = await _supervisors(session)
        if not supervisors:
            return [Recipient(chat) for chat in group]
        return [Recipient(chat, staff_chat_id) for chat in dict.fromkeys(supervisors)]
    elif alert is Alert.SLA_WARNING:
        if assignee is not None and assignee.active:
            return [Recipient(assignee.telegram_user_id, staff_chat_id)]
        chats = group
    elif alert in (Alert.SLA_BREACH, Alert.LOW_RATING):
        chats = group + await _supervisors(session)
    else:
        chats = group
    return [Recipient(chat) for chat in dict.fromkeys(chats)]
