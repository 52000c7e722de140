"""A staff member edits an answer a customer already has (or is about to get).

The bot relayed the answer's words as they were: Telegram tells the bot of the edit,
but the customer's copy stays as it was, and a correction made only in the staff chat
would go unseen. The staff member is told so under the edited message.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from care import staff_answers
from handlers.context import CareContext
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.staff_access import staff_locale


async def edited_answer(update: Update, context: CareContext) -> None:
    """Tell a staff member that the edit of their answer does not reach the customer."""
    message = update.edited_message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return
    services = context.services
    async with services.sessionmaker() as session:
        answered = await staff_answers.went_to_customer(
            session, message.chat_id, message.message_id
        )
    if not answered:
        return
    with use_locale(staff_locale(update, services)):
        text = _(
            "✏ The customer keeps the answer as it was first sent: edits do not reach them. "
            "Send the correction as a new answer."
        )
    await message.reply_text(text)


def staff_edit_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """Edits in the staff chat (no other handler takes them)."""
    if staff_chat_id is None:
        return []
    return [
        MessageHandler(
            filters.Chat(staff_chat_id) & filters.UpdateType.EDITED_MESSAGE, edited_answer
        )
    ]
