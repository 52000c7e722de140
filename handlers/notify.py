"""Telling the customer the truth at every step, in their language.

Every customer-visible change of a complaint goes through ``announce``: the customer gets
a message in their own language, the staff card is edited in place. A customer who
blocked the bot is marked unreachable (by the bot object) and staff see it on the card.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, TelegramError

from care import complaints
from care.complaints import Change, ComplaintFacts
from care.models import ComplaintEventType, ComplaintStatus
from handlers import complaint_words as words
from handlers.context import Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.staff_card import refresh_card

log = logging.getLogger(__name__)
S = ComplaintStatus

Render = Callable[[ComplaintFacts], str]

# Telegram's limits for a message's text and a photo's caption.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rating_keyboard(complaint_id: int) -> InlineKeyboardMarkup:
    """1-5 stars for how we handled a complaint."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "⭐" * score, callback_data=f"{words.RATING_PREFIX}{complaint_id}:{score}"
                )
                for score in range(1, 6)
            ]
        ]
    )


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
    due = words.local_time(facts.complaint.resolve_due_at, timezone)
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


async def tell_customer(
    bot: Bot,
    services: Services,
    complaint_id: int,
    render: Render,
    reply_markup: InlineKeyboardMarkup | None = None,
    *,
    photo: str | None = None,
) -> int | None:
    """Send the customer a message about a complaint, rendered in their language.

    ``photo`` (a Telegram file id) sends that photo with the rendered text as caption.

    Returns:
        The message id, or None if the customer cannot be reached.
    """
    async with services.sessionmaker.begin() as session:
        loaded = await complaints.facts(session, complaint_id)
        if loaded is None:
            return None
        customer = loaded.customer
        if customer.chat_id is None:  # forgotten
            return None
        with use_locale(customer.language or services.default_locale):
            text = render(loaded)
    try:
        if photo is not None:
            sent = await bot.send_photo(
                customer.chat_id, photo, caption=_shorten(text, CAPTION_LIMIT),
                reply_markup=reply_markup,
            )  # fmt: skip
        else:
            sent = await bot.send_message(
                customer.chat_id, _shorten(text, TEXT_LIMIT), reply_markup=reply_markup
            )
    except Forbidden:
        async with services.sessionmaker.begin() as session:
            complaint = await session.get_one(complaints.Complaint, complaint_id)
            await complaints.record_unreachable(session, complaint, services.clock.now())
        await refresh_card(bot, services, complaint_id)
        return None
    except TelegramError:
        log.warning("complaint %s: could not tell the customer", complaint_id, exc_info=True)
        return None
    async with services.sessionmaker.begin() as session:
        await complaints.remember_message(
            session, complaint_id, customer.chat_id, sent.message_id, "customer",
            services.clock.now(),
        )  # fmt: skip
    return sent.message_id


async def announce(bot: Bot, services: Services, change: Change | None) -> None:
    """Tell the customer about a change (if it is worth telling) and refresh the card."""
    if change is None:
        return
    complaint_id = change.complaint.id

    def render(loaded: ComplaintFacts) -> str:
        return words_for(change, loaded, services.timezone) or ""

    async with services.sessionmaker.begin() as session:
        loaded = await complaints.facts(session, complaint_id)
        assert loaded is not None
        with use_locale(loaded.customer.language or services.default_locale):
            worth_telling = words_for(change, loaded, services.timezone) is not None
    if worth_telling:
        markup = rating_keyboard(complaint_id) if change.to_status is S.RESOLVED else None
        await tell_customer(bot, services, complaint_id, render, markup)
    await refresh_card(bot, services, complaint_id)
