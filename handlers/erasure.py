"""After /forget: take the customer's words out of the staff chats, and tell staff.

Two steps. In the erasure's own transaction, :func:`owe_staff_news` owes an edit of each
of the customer's cards (rendered from the erased complaint) and an alert for each open
complaint the erasure closed (``care.owed``: sent after the commit, with retries). After
the commit, :func:`clear_relays` edits or deletes the relayed messages that quoted the
customer; the owed messages have no kind for that yet, so this is one direct attempt
each. A Telegram failure there is logged by ids only and leaves the erasure in place.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from care import conversations
from care.models import Complaint
from care.privacy import Erasure, StaffMessage, StaffMessageKind
from handlers.context import Services
from handlers.conversation_desk import owe_state
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.staff_alerts import Alert, owe_alert
from handlers.staff_card import owe_refresh

log = logging.getLogger(__name__)


async def owe_staff_news(session: AsyncSession, services: Services, erasure: Erasure) -> None:
    """Owe the card edits and the staff's notices of closed complaints, and the look of
    the customer's conversation (its topic renamed, no name left in it; its card edited),
    in the erasure's transaction."""
    conversation = await conversations.latest_of(session, erasure.customer_id)
    if conversation is not None:
        await owe_state(session, services, conversation)
    for complaint_id in erasure.complaint_ids:
        await owe_refresh(session, await session.get_one(Complaint, complaint_id), services)
    for closed in erasure.closed:
        with use_locale(services.default_locale):
            text = _(
                "🗑 Complaint {number} is closed: the customer asked us to erase their "
                "personal data. It stays in the figures, without any text."
            ).format(number=closed.number)
        await owe_alert(session, services, Alert.CLOSED_AT_ERASURE, text, closed.complaint_id)


async def clear_relays(bot: Bot, services: Services, erasure: Erasure) -> None:
    """Take the customer's words out of every message to staff that quoted them.

    A relayed text or an alert (which may quote or name them) says "(erased at the
    customer's request)" instead; a relayed photo or document is deleted (the picture is
    theirs too), or, where Telegram no longer allows that (after 48 hours), keeps the
    picture with those words as its caption.
    """
    with use_locale(services.default_locale):
        erased = _("(erased at the customer's request)")
    for message in erasure.staff_messages:
        if message.kind is not StaffMessageKind.RELAY:
            continue  # cards: an edit is owed (owe_staff_news)
        try:
            await _erase_relay(bot, message, erased)
        except TelegramError as error:
            log.warning(
                "complaint %s: message %s to staff not cleared after erasure: %s",
                message.complaint_id, message.message_id, error,
            )  # fmt: skip


async def _erase_relay(bot: Bot, message: StaffMessage, erased: str) -> None:
    try:
        await bot.edit_message_text(erased, message.chat_id, message.message_id)
        return
    except BadRequest as error:
        if "no text" not in str(error).lower():
            raise  # gone already, or not modified: nothing more to do
    # A photo or document with the customer's words as caption.
    try:
        await bot.delete_message(message.chat_id, message.message_id)
        return
    except TelegramError as error:
        log.info("complaint %s: relayed media not deleted: %s", message.complaint_id, error)
    await bot.edit_message_caption(message.chat_id, message.message_id, caption=erased)
