"""Telling the customer the truth at every step, in their language.

Every customer-visible change of a complaint goes through :func:`owe_announcement`, in
the transaction of the change: the customer is owed a message in their own language and
the staff card an edit (``care.owed``; ``bot.owed_jobs`` delivers both with retries). A
customer who blocked the bot is marked unreachable and staff see it on the card, with
what became of the last message to the customer.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from care import business, complaints, owed
from care.complaints import Change, ComplaintFacts
from care.models import Complaint, ComplaintEventType, ComplaintStatus, Customer, OwedMessage
from care.owed import Button, Kind, Purpose
from handlers import complaint_words as words
from handlers import conversation_desk
from handlers.buttons import STARS, Rating
from handlers.context import Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.owed_parts import owe_whole
from handlers.staff_card import owe_refresh

log = logging.getLogger(__name__)
S = ComplaintStatus


def rating_buttons(complaint_id: int) -> list[list[Button]]:
    """1-5 stars for how we handled a complaint."""
    return [[Button("⭐" * score, Rating(complaint_id, score).pack()) for score in STARS]]


def words_for(change: Change, facts: ComplaintFacts, timezone: str) -> str | None:
    """What the customer is told about a change (None: nothing to tell)."""
    number = facts.complaint.number
    kind = ComplaintEventType(change.event.type)
    if kind is ComplaintEventType.ASSIGNED and facts.assignee is not None:
        return _("{name} from our care team is now handling your complaint {number}.").format(
            name=facts.assignee.name or _("A colleague"), number=number
        )
    if not change.status_changed:
        return None
    due = words.customer_time(
        complaints.promised_deadline(facts.complaint, change.to_status),
        facts.customer.timezone,
        timezone,
    )
    if (
        change.to_status is S.IN_PROGRESS
        and change.event.staff_id is not None
        and facts.assignee is not None
    ):
        # A staff member took it on ("Take" moves it to in progress and assigns at once).
        return _("{name} from our care team is now handling your complaint {number}.").format(
            name=facts.assignee.name or _("A colleague"), number=number
        )
    if change.to_status is S.ACKNOWLEDGED:
        return _(
            "We have received your complaint {number} and are looking into it. "
            "You will hear from us by {due} at the latest."
        ).format(number=number, due=due)
    if change.to_status is S.RESOLVED:
        text = _("Good news: your complaint {number} is resolved.").format(number=number)
        if facts.complaint.resolution:
            text += "\n" + _("What we did: {note}").format(note=facts.complaint.resolution)
        return text + "\n\n" + _("How satisfied are you with how we handled it?")
    if change.to_status is S.REOPENED:
        return _(
            "Your complaint {number} is open again. We are on it and will get back to you by {due}."
        ).format(number=number, due=due)
    if change.to_status is S.CLOSED:
        return _("Your complaint {number} is now closed. Thank you for your patience.").format(
            number=number
        )
    return None


def owe_customer(
    session: AsyncSession,
    services: Services,
    facts: ComplaintFacts,
    text: str,
    *,
    purpose: Purpose = Purpose.CUSTOMER_NOTICE,
    buttons: list[list[Button]] | None = None,
    file: tuple[Kind, str] | None = None,
    staff_message: tuple[int, int] | None = None,
    staff_reply: tuple[int, str] | None = None,
) -> bool:
    """Owe the complaint's customer a message (words already in their language), in the
    caller's transaction.

    ``file`` (its kind and Telegram file id: a photo, document, voice message, video …)
    sends that file with the text as caption; a sticker or round video message, which
    take no caption, comes right after the text as a line of its own;
    ``staff_message`` is the staff member's message it stands for (told there if it
    cannot be delivered); ``staff_reply`` (staff member id, note) is recorded on the
    complaint once delivered (``care.owed.owe``).

    Returns:
        False if the customer has no chat any more (forgotten): nothing is owed.
    """
    customer = facts.customer
    if customer.chat_id is None:
        return False
    now, route = services.clock.now(), business.route_of(customer)
    captionless = file is not None and file[0] in owed.CAPTIONLESS
    if captionless:
        # The words first, as lines of their own: one chat's owed rows go out in order.
        owe_whole(
            session, now=now, purpose=purpose, chat_id=customer.chat_id, text=text,
            customer_id=customer.id, complaint_id=facts.complaint.id, remember_as="customer",
            business_connection_id=route,
        )  # fmt: skip
    owe_whole(
        session, now=now, purpose=purpose, chat_id=customer.chat_id,
        kind=file[0] if file is not None else Kind.TEXT,
        file_id=file[1] if file is not None else None,
        text=None if captionless else text, media=file is not None,
        buttons=buttons, customer_id=customer.id, complaint_id=facts.complaint.id,
        remember_as="customer", staff_message=staff_message, staff_reply=staff_reply,
        business_connection_id=route,
    )  # fmt: skip
    return True


async def owe_announcement(
    session: AsyncSession, services: Services, change: Change | None
) -> None:
    """Owe the customer the news of a change (if it is worth telling), in their language,
    and the card's edit: in the transaction of the change, so that nobody is told of a
    change that was rolled back and no change goes untold."""
    if change is None:
        return
    loaded = await complaints.facts(session, change.complaint.id)
    assert loaded is not None
    with use_locale(loaded.customer.language or services.default_locale):
        text = words_for(change, loaded, services.timezone)
        buttons = rating_buttons(loaded.complaint.id) if change.to_status is S.RESOLVED else None
    if text is not None:
        owe_customer(session, services, loaded, text, buttons=buttons)
    await owe_refresh(session, loaded.complaint, services)
    await conversation_desk.owe_complaint_change_in_topic(session, services, loaded, change)


def business_refusal_words(refused: business.Refusal, number: str | None) -> str:
    """Why a message to a customer of the company's Business account cannot go, for staff."""
    if refused is business.Refusal.WINDOW_CLOSED:
        return _(
            "⚠ Not delivered to the customer of {number}: they wrote through the company's "
            "Business account more than 24 hours ago, and Telegram lets us answer there only "
            "within 24 hours of their last message. It goes through once they write again."
        ).format(number=number)
    return _(
        "⚠ Not delivered to the customer of {number}: the company's Business account "
        "disconnected the bot or took away its right to reply."
    ).format(number=number)


async def not_delivered(session: AsyncSession, row: OwedMessage, services: Services) -> str:
    """Words for the staff member whose message to a customer could not be delivered."""
    complaint = await session.get(Complaint, row.complaint_id) if row.complaint_id else None
    customer = await session.get(Customer, row.customer_id) if row.customer_id else None
    number = complaint.number if complaint else "—"
    refused = business.refusal_of_error(row.last_error or "")
    with use_locale(services.default_locale):
        if customer is not None and not customer.reachable:
            return _("⚠ Not delivered: the customer of {number} cannot be reached.").format(
                number=number
            )
        if refused is not None:
            return business_refusal_words(refused, number)
        return _("⚠ Not delivered to the customer of {number}: {reason}").format(
            number=number, reason=(row.last_error or "")[:300]
        )
