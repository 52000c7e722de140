"""The complaint's card in the staff group, edited in place as the complaint moves.

The card is owed (``care.owed``) in the transaction that files the complaint, and every
change owes an edit; ``bot.owed_jobs`` renders it (:func:`render_card`) when it sends.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup

from care import business, complaints, owed
from care.complaints import ComplaintFacts
from care.models import Complaint, ComplaintStatus, OwedState
from care.owed import CustomerDelivery, Kind, Purpose
from handlers import complaint_words as words
from handlers.buttons import CardAction, key
from handlers.context import Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.staff_names import staff_name
from handlers.texts import MESSAGE_LIMIT, chunks, numbered_parts

log = logging.getLogger(__name__)
S = ComplaintStatus

# A description longer than this shows its beginning on the card (whose text, with the
# lines above it, must fit Telegram's 4,096 characters), and whole below the card.
DESCRIPTION_ON_CARD = 2800


def priority_icon(priority: str) -> str:
    """A coloured dot that makes urgent complaints stand out in lists."""
    return {"urgent": "🔴", "high": "🟠"}.get(priority, "🟢")


# The dot of a complaint whose current deadline was missed, whatever its priority.
BREACHED_ICON = "🟥"


def late(complaint: Complaint) -> tuple[bool, bool]:
    """Whether the complaint missed its acknowledgement deadline (and still waits for
    it), and whether it missed its resolution deadline (and is still open)."""
    awaiting = complaint.status in (S.NEW.value, S.REOPENED.value)
    return (
        bool(complaint.acknowledge_breached_at) and awaiting,
        bool(complaint.resolve_breached_at) and complaints.is_open(complaint),
    )


def state_icon(complaint: Complaint) -> str:
    """The card's and the queue's dot: a missed deadline first, else the priority."""
    return BREACHED_ICON if any(late(complaint)) else priority_icon(complaint.priority)


def staff_status_label(status: str) -> str:
    """A status as staff read it (the customer's "waiting for your answer" is not theirs)."""
    if status == S.WAITING_CUSTOMER.value:
        return _("waiting for the customer")
    return words.status_label(status)


def delivery_line(delivery: CustomerDelivery, timezone: str) -> str:
    """What became of the newest message to the customer, as the card shows it."""
    when = words.local_time(delivery.at, timezone)
    if delivery.state is OwedState.SENT:
        return _("✉ Customer told ({when}).").format(when=when)
    if delivery.state is OwedState.FAILED:
        return _("⚠ The customer could not be told: {error}").format(
            error=(delivery.error or "")[:200]
        )
    if delivery.error:
        return _("⏳ Not yet accepted by Telegram, trying again ({error}).").format(
            error=delivery.error[:200]
        )
    return _("⏳ Telling the customer…")


def card_text(
    facts: ComplaintFacts, timezone: str, delivery: CustomerDelivery | None = None
) -> str:
    """The card's text in the current locale (the staff group's)."""
    complaint, customer = facts.complaint, facts.customer
    icon = state_icon(complaint)
    lines = [
        _("{icon} Complaint {number}").format(icon=icon, number=complaint.number),
        _("Customer: {name} (id {id})").format(
            name=customer.display_name
            or (_("erased at their request") if customer.erased_at else _("unknown")),
            id=customer.id,
        )
        + (f" · {customer.phone}" if customer.phone else ""),
        _("Category: {category} · Priority: {priority}").format(
            category=words.category_label(complaint.category),
            priority=words.priority_label(complaint.priority),
        ),
        _("Status: {status}").format(status=staff_status_label(complaint.status)),
        _("Assignee: {name}").format(name=staff_name(facts.assignee)),
    ]
    if complaint.status in (S.NEW.value, S.REOPENED.value):
        lines.append(
            _("Acknowledge by: {due}").format(
                due=words.local_time(complaint.acknowledge_due_at, timezone)
            )
        )
    if complaints.is_open(complaint):
        lines.append(
            _("Resolve by: {due}").format(due=words.local_time(complaint.resolve_due_at, timezone))
        )
    late_acknowledging, late_resolving = late(complaint)
    if late_acknowledging:
        lines.append(_("❗ Late: not acknowledged in time."))
    if late_resolving:
        lines.append(_("❗ Late: not resolved in time."))
    if complaint.reference:
        lines.append(_("Reference: {reference}").format(reference=complaint.reference))
    if facts.attachments:
        lines.append(_("Attachments: {count}").format(count=len(facts.attachments)))
    if complaint.agitated:
        lines.append(_("⚠ The customer is upset: answer fast, calmly and with respect."))
    if not customer.reachable:
        lines.append(_("⚠ The customer blocked the bot: messages cannot reach them."))
    closes = business.window_closes_at(customer)
    if closes is not None:
        # Telegram Business: replies go through the company's account, for 24 hours.
        lines.append(
            _("💼 Writes to the company's Business account: replies possible until {time}.").format(
                time=words.local_time(closes, timezone)
            )
        )
    if complaint.resolution:
        lines.append(_("Resolution: {note}").format(note=complaint.resolution))
    if complaint.rating:
        lines.append(_("Rating: {rating}/5").format(rating=complaint.rating))
    if delivery is not None:
        lines.append(delivery_line(delivery, timezone))
    lines += ["", card_description(complaint)]
    return "\n".join(lines)[:MESSAGE_LIMIT]


def card_description(complaint: Complaint) -> str:
    """The description as the card shows it: whole when it fits, else its beginning and a
    pointer to the whole text, owed below the card when it was posted."""
    description = complaint.description or ""
    if len(description) <= DESCRIPTION_ON_CARD:
        return description
    shown = chunks(description, DESCRIPTION_ON_CARD)[0]
    return shown + "…\n" + _("(The whole description is in the messages below this card.)")


def owe_whole_description(session: AsyncSession, complaint: Complaint, services: Services) -> None:
    """Owe the whole of a description too long for the card, under the card, in as many
    messages as Telegram needs."""
    description = complaint.description or ""
    if services.staff_chat_id is None or len(description) <= DESCRIPTION_ON_CARD:
        return
    with use_locale(services.default_locale):
        heading = _("📄 The whole description of {number}:").format(number=complaint.number)
    for part in numbered_parts(f"{heading}\n{description}"):
        owed.owe(
            session, now=services.clock.now(), purpose=Purpose.RELAY,
            chat_id=services.staff_chat_id, text=part, customer_id=complaint.customer_id,
            complaint_id=complaint.id, reply_to_card=True, remember_as="relay",
        )  # fmt: skip


def card_keyboard(facts: ComplaintFacts) -> InlineKeyboardMarkup | None:
    """The buttons that make sense for the complaint's status."""
    complaint = facts.complaint
    buttons = []
    if complaint.status in (S.NEW.value, S.REOPENED.value):
        buttons.append(key(_("Acknowledge"), CardAction("ack", complaint.id)))
    if complaints.is_open(complaint):
        buttons += [
            key(_("Take"), CardAction("take", complaint.id)),
            key(_("Resolve"), CardAction("res", complaint.id)),
        ]
    if complaint.status != S.CLOSED.value:
        buttons.append(key(_("Reply"), CardAction("reply", complaint.id)))
    return InlineKeyboardMarkup([buttons]) if buttons else None


async def render_card(
    session: AsyncSession, complaint_id: int, services: Services
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """The card as it is now, in the staff group's words (None: no such complaint)."""
    loaded = await complaints.facts(session, complaint_id)
    if loaded is None:
        return None
    delivery = await owed.last_customer_delivery(session, complaint_id)
    with use_locale(services.default_locale):
        return card_text(loaded, services.timezone, delivery), card_keyboard(loaded)


def owe_card(session: AsyncSession, facts: ComplaintFacts, services: Services) -> None:
    """Owe a new complaint's card in the staff group, and the customer's photos and
    documents under it (in the caller's transaction)."""
    if services.staff_chat_id is None:
        log.warning("complaint %s: no CAREBOT_STAFF_CHAT_ID, so no staff alert", facts.complaint.id)
        return
    now = services.clock.now()
    owed.owe_card(session, facts.complaint, services.staff_chat_id, now)
    owe_whole_description(session, facts.complaint, services)
    for attachment in facts.attachments:
        owe_attachment(session, facts.complaint, attachment, services)


def owe_attachment(
    session: AsyncSession,
    complaint: Complaint,
    attachment: complaints.ComplaintAttachment,
    services: Services,
) -> None:
    """Owe one of the customer's photos or documents in the staff group, under the card."""
    if services.staff_chat_id is None:
        return
    owed.owe(
        session, now=services.clock.now(), purpose=Purpose.ATTACHMENT,
        kind=Kind.PHOTO if attachment.kind == "photo" else Kind.DOCUMENT,
        chat_id=services.staff_chat_id, file_id=attachment.file_id, text=attachment.caption,
        customer_id=complaint.customer_id, complaint_id=complaint.id, reply_to_card=True,
        remember_as="relay",
    )  # fmt: skip


async def owe_refresh(session: AsyncSession, complaint: Complaint, services: Services) -> None:
    """Owe an edit of the card so that the staff group shows the current truth."""
    await owed.owe_card_edit(session, complaint, services.clock.now())
