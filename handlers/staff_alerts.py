"""Alerts for staff beyond the card: the one way every handler and job raises one.

Who gets an alert is policy (``care.alerts``); this module owes each of them the words,
in the caller's transaction (``care.owed``): they go out after the commit, with
retries, each message on its own, and a private chat that refuses one passes it to its
fallback chat (the staff group).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from care import alerts
from care import staff as staff_members
from care.alerts import Alert
from care.models import StaffMember
from care.owed import Purpose
from handlers.context import Services
from handlers.i18n import use_locale
from handlers.owed_parts import owe_whole

__all__ = ["Alert", "owe_alert"]

log = logging.getLogger(__name__)

# What every alert is filed under on its complaint or conversation once sent: it may
# name or quote the customer, so /forget (care.privacy) finds it and takes their words
# out. A reply to it reaches nobody.
MENTION = "mention"


async def owe_alert(
    session: AsyncSession,
    services: Services,
    alert: Alert,
    text: str | Callable[[], str],
    complaint_id: int | None = None,
    *,
    conversation_id: int | None = None,
    customer_id: int | None = None,
    assignee: StaffMember | None = None,
) -> int:
    """Owe the alert's words to everyone who hears of ``alert``, about a complaint, a
    conversation or a customer (``customer_id``). In a forum staff chat it goes to General, never
    into a customer's topic.

    ``text`` is the words, or what makes them in the current locale: then the staff
    group reads them in the company's default locale and a staff member's private chat
    in theirs (``care.staff.reading_locale``).

    An alert about a complaint is filed under it once sent; one about a customer
    (``customer_id``, no complaint) is tied to them, so that /forget finds it.

    Returns:
        How many chats it was owed to (0: nobody to tell, which is logged).
    """
    chats = await alerts.recipients(
        session, alert, staff_chat_id=services.staff_chat_id, assignee=assignee
    )
    if not chats:
        if complaint_id:
            about = f"complaint {complaint_id}"
        elif conversation_id:
            about = f"conversation {conversation_id}"
        else:
            about = f"customer {customer_id}"
        log.warning("%s: %s alert with nobody to tell it to", about, alert)
    readers = await staff_members.active_staff_by_user(session) if callable(text) else {}
    for recipient in chats:
        reader = readers.get(recipient.chat_id)  # a private chat's id is its user's
        locale = (
            staff_members.reading_locale(reader, services.default_locale)
            if reader is not None
            else services.default_locale
        )
        with use_locale(locale):
            words = text() if callable(text) else text
        # An alert may quote a customer (a rating's comment): all of it, in parts if need be.
        owe_whole(
            session, now=services.clock.now(), purpose=Purpose.ALERT, chat_id=recipient.chat_id,
            text=words, complaint_id=complaint_id, conversation_id=conversation_id,
            customer_id=customer_id, fallback_chat_id=recipient.fallback_chat_id,
            remember_as=MENTION if complaint_id or conversation_id or customer_id else None,
        )  # fmt: skip
    return len(chats)
