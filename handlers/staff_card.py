"""The complaint's card in the staff group, edited in place as the complaint moves."""

from __future__ import annotations

import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from care import complaints
from care.complaints import ComplaintFacts
from care.models import ComplaintStatus
from handlers import complaint_words as words
from handlers.context import Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale

log = logging.getLogger(__name__)
S = ComplaintStatus


def priority_icon(priority: str) -> str:
    """A coloured dot that makes urgent complaints stand out in lists."""
    return {"urgent": "🔴", "high": "🟠"}.get(priority, "🟢")


def staff_status_label(status: str) -> str:
    """A status as staff read it (the customer's "waiting for your answer" is not theirs)."""
    if status == S.WAITING_CUSTOMER.value:
        return _("waiting for the customer")
    return words.status_label(status)


def card_text(facts: ComplaintFacts, timezone: str) -> str:
    """The card's text in the current locale (the staff group's)."""
    complaint, customer = facts.complaint, facts.customer
    icon = priority_icon(complaint.priority)
    lines = [
        _("{icon} Complaint {number}").format(icon=icon, number=complaint.number),
        _("Customer: {name} (id {id})").format(
            name=customer.display_name or _("unknown"), id=customer.id
        )
        + (f" · {customer.phone}" if customer.phone else ""),
        _("Category: {category} · Priority: {priority}").format(
            category=words.category_label(complaint.category),
            priority=words.priority_label(complaint.priority),
        ),
        _("Status: {status}").format(status=staff_status_label(complaint.status)),
        _("Assignee: {name}").format(
            name=(facts.assignee.name or str(facts.assignee.telegram_user_id))
            if facts.assignee
            else _("nobody yet")
        ),
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
    if complaint.acknowledge_breached_at and complaint.status in (S.NEW.value, S.REOPENED.value):
        lines.append(_("❗ Late: not acknowledged in time."))
    if complaint.resolve_breached_at and complaints.is_open(complaint):
        lines.append(_("❗ Late: not resolved in time."))
    if complaint.reference:
        lines.append(_("Reference: {reference}").format(reference=complaint.reference))
    if facts.attachments:
        lines.append(_("Attachments: {count}").format(count=len(facts.attachments)))
    if complaint.agitated:
        lines.append(_("⚠ The customer is upset: answer fast, calmly and with respect."))
    if not customer.reachable:
        lines.append(_("⚠ The customer blocked the bot: messages cannot reach them."))
    if complaint.resolution:
        lines.append(_("Resolution: {note}").format(note=complaint.resolution))
    if complaint.rating:
        lines.append(_("Rating: {rating}/5").format(rating=complaint.rating))
    lines += ["", complaint.description or ""]
    return "\n".join(lines)[:4096]


def card_keyboard(facts: ComplaintFacts) -> InlineKeyboardMarkup | None:
    """The buttons that make sense for the complaint's status."""
    complaint = facts.complaint
    prefix = words.STAFF_PREFIX
    buttons = []
    if complaint.status in (S.NEW.value, S.REOPENED.value):
        buttons.append(
            InlineKeyboardButton(_("Acknowledge"), callback_data=f"{prefix}ack:{complaint.id}")
        )
    if complaints.is_open(complaint):
        buttons += [
            InlineKeyboardButton(_("Take"), callback_data=f"{prefix}take:{complaint.id}"),
            InlineKeyboardButton(_("Resolve"), callback_data=f"{prefix}res:{complaint.id}"),
        ]
    if complaint.status != S.CLOSED.value:
        buttons.append(
            InlineKeyboardButton(_("Reply"), callback_data=f"{prefix}reply:{complaint.id}")
        )
    return InlineKeyboardMarkup([buttons]) if buttons else None


async def post_card(bot: Bot, services: Services, complaint_id: int) -> int | None:
    """Post a new complaint's card (and its attachments) to the staff group.

    Returns:
        The card's message id, or None when no staff group is configured.
    """
    if services.staff_chat_id is None:
        log.warning("complaint %s: no CAREBOT_STAFF_CHAT_ID, so no staff alert", complaint_id)
        return None
    async with services.sessionmaker.begin() as session:
        loaded = await complaints.facts(session, complaint_id)
        assert loaded is not None
        with use_locale(services.default_locale):
            text, keyboard = card_text(loaded, services.timezone), card_keyboard(loaded)
    card = await bot.send_message(services.staff_chat_id, text, reply_markup=keyboard)
    async with services.sessionmaker.begin() as session:
        complaint = await session.get_one(complaints.Complaint, complaint_id)
        complaint.staff_chat_id = services.staff_chat_id
        complaint.alert_message_id = card.message_id
        await complaints.remember_message(
            session, complaint_id, services.staff_chat_id, card.message_id, "alert",
            services.clock.now(),
        )  # fmt: skip
    for attachment in loaded.attachments:
        await send_attachment(bot, services, complaint_id, attachment, card.message_id)
    return card.message_id


async def send_attachment(
    bot: Bot,
    services: Services,
    complaint_id: int,
    attachment: complaints.ComplaintAttachment,
    reply_to: int | None,
) -> None:
    """Show one of the customer's photos or documents in the staff group."""
    assert services.staff_chat_id is not None
    try:
        if attachment.kind == "photo":
            sent = await bot.send_photo(
                services.staff_chat_id, attachment.file_id, caption=attachment.caption,
                reply_to_message_id=reply_to,
            )  # fmt: skip
        else:
            sent = await bot.send_document(
                services.staff_chat_id, attachment.file_id, caption=attachment.caption,
                reply_to_message_id=reply_to,
            )  # fmt: skip
    except TelegramError:
        log.warning("complaint %s: could not show attachment %s", complaint_id, attachment.id)
        return
    async with services.sessionmaker.begin() as session:
        await complaints.remember_message(
            session, complaint_id, services.staff_chat_id, sent.message_id, "relay",
            services.clock.now(),
        )  # fmt: skip


async def refresh_card(bot: Bot, services: Services, complaint_id: int) -> None:
    """Edit the card in place so that the staff group shows the current truth."""
    async with services.sessionmaker.begin() as session:
        loaded = await complaints.facts(session, complaint_id)
        if loaded is None or loaded.complaint.alert_message_id is None:
            return
        chat_id = loaded.complaint.staff_chat_id
        message_id = loaded.complaint.alert_message_id
        with use_locale(services.default_locale):
            text, keyboard = card_text(loaded, services.timezone), card_keyboard(loaded)
    assert chat_id is not None
    try:
        await bot.edit_message_text(text, chat_id, message_id, reply_markup=keyboard)
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            log.warning("complaint %s: card not updated: %s", complaint_id, error)
