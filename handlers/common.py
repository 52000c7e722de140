"""Handlers that run for every update, and the answers of last resort."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from telegram import CallbackQuery, Message, Update
from telegram.error import BadRequest, TelegramError, TimedOut
from telegram.ext import BaseHandler, ConversationHandler

from care import customers, owed
from care.contacts import ContactEntry
from care.locales import locale_for_language_code
from care.models import Channel, ContactKind, Direction
from handlers.business import business_chat, business_chat_of
from handlers.context import CareContext, CustomerView, Services
from handlers.i18n import gettext as _
from handlers.i18n import set_locale, use_locale

log = logging.getLogger(__name__)


def message_kind(message: Message) -> ContactKind:
    """What kind of message this is, for the contact log."""
    if message.text:
        return ContactKind.COMMAND if message.text.startswith("/") else ContactKind.TEXT
    if message.photo:
        return ContactKind.PHOTO
    if message.document:
        return ContactKind.DOCUMENT
    if message.contact:
        return ContactKind.CONTACT
    if message.sticker:
        return ContactKind.STICKER
    if message.voice or message.audio or message.video_note:
        return ContactKind.VOICE
    if message.video or message.animation:
        return ContactKind.VIDEO
    if message.location or message.venue:
        return ContactKind.LOCATION
    return ContactKind.OTHER


async def identify_customer(update: Update, context: CareContext) -> None:
    """Find or create the customer behind a private-chat update (to the bot, or to the
    company's Business account), log it, set the locale."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None or user.is_bot or chat.type != chat.PRIVATE:
        return
    services = context.services
    # A Business chat's answers go through its connection, whoever sends them.
    through = business_chat_of(update)
    business_chat.set(through)
    now = services.clock.now()
    guessed = locale_for_language_code(user.language_code, services.default_locale)
    who = customers.TelegramIdentity(
        user_id=user.id,
        chat_id=chat.id,
        first_name=user.first_name,
        last_name=user.last_name,
        username=user.username,
        channel=Channel.BOT if through is None else Channel.BUSINESS,
        business_connection_id=None if through is None else through.connection_id,
    )
    known = services.customer_cache.get(user.id)
    if known is None or not known.is_current_for(who):
        known = await _find_or_create(services, who, now, guessed)
    context.customer = replace(known, telegram_locale=guessed)
    set_locale(context.customer.locale)
    entry = _inbound_entry(update, known.id, now)
    if entry is not None:
        # Back only once committed: no reply goes out for a message not on the record.
        await services.contact_log.record(entry)


async def _find_or_create(
    services: Services, who: customers.TelegramIdentity, now: datetime, language: str
) -> CustomerView:
    """Read (or create, or update) the customer and remember them for the next updates."""
    ticket = services.customer_cache.ticket()
    async with services.sessionmaker.begin() as session:
        customer, created = await customers.get_or_create_customer(
            session, who, now, language=language
        )
        known = CustomerView.of(customer)
        if created:  # nobody can have filed a complaint for them yet
            known = replace(known, open_complaints=False)
    # Kept only if no commit changed the customer meanwhile, this one included (one that
    # created the record is no change: nobody else can have read it before).
    services.customer_cache.put(who.user_id, known, ticket)
    return known


def _inbound_entry(update: Update, customer_id: int, now: datetime) -> ContactEntry | None:
    if update.callback_query is not None:
        return ContactEntry(
            Direction.INBOUND,
            ContactKind.BUTTON,
            now,
            customer_id=customer_id,
            text=update.callback_query.data,
        )
    message = update.effective_message
    if message is None:
        return None
    return ContactEntry(
        Direction.INBOUND,
        message_kind(message),
        now,
        customer_id=customer_id,
        text=message.text or message.caption,
        telegram_message_id=message.message_id,
    )


def next_handler(
    update: Update, context: CareContext, after: str
) -> tuple[BaseHandler[Any, Any, Any], object] | None:
    """The first handler after the dialogue called ``after`` that takes ``update``, with
    what its check found; None if none does.

    PTB gives an update to one handler per group; a dialogue that lets an update through
    (a command that works anywhere) hands it on itself, with ``handle_update``.
    """
    handlers: list[BaseHandler[Any, Any, Any]] = list(context.application.handlers.get(0, []))
    mine = next(
        (
            i
            for i, handler in enumerate(handlers)
            if isinstance(handler, ConversationHandler) and handler.name == after
        ),
        None,
    )
    if mine is None:
        return None
    for handler in handlers[mine + 1 :]:
        check = handler.check_update(update)
        if check is not None and check is not False:
            return handler, check
    return None


# How long a reply to one of the bot's messages may wait for the sends in flight in its
# chat to settle: the replied message may be one whose answer has not reached carebot.
REPLY_SETTLE_SECONDS = 5.0


async def wait_for_replied_send(message: Message, context: CareContext) -> bool:
    """When ``message`` replies to one of the bot's messages, wait until the sends that
    are in flight in its chat have settled (at most :data:`REPLY_SETTLE_SECONDS`).

    Telegram shows a message before its answer reaches carebot, which files the message
    (whose complaint or conversation it is) only then: a reply quick enough to come in
    between would find nothing. Returns whether there was a send to wait for, so that
    the caller looks the replied message up again.
    """
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return False
    sessionmaker = context.services.sessionmaker
    async with sessionmaker() as session:
        waiting = await owed.sending_in(session, message.chat_id)
    if not waiting:
        return False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REPLY_SETTLE_SECONDS
    while waiting and loop.time() < deadline:
        await asyncio.sleep(0.05)  # another task (or instance) is sending: poll its row
        async with sessionmaker() as session:
            waiting = await owed.sending_in(session, message.chat_id, waiting)
    if waiting:
        log.warning("a reply to message %s came while sends %s were in flight, still are",
                    replied.message_id, waiting)  # fmt: skip
    return True


async def settle(query: CallbackQuery, text: str | None = None) -> None:
    """Close the pressed message: replace its text, or just remove its buttons.

    A stale or forged press can ask for the state the message already has; Telegram
    calls that "message is not modified", which for us means done. A message Telegram
    will not let us edit ("message can't be edited": too old, or erased) keeps its
    buttons; they answer as stale ones do.
    """
    try:
        if text is None:
            await query.edit_message_reply_markup(None)
        else:
            await query.edit_message_text(text)
    except BadRequest as error:
        words = str(error).lower()
        if "not modified" not in words and "can't be edited" not in words:
            raise


async def refuse_unknown_button(update: Update, context: CareContext) -> None:
    """Answer a button press nobody handles (old message or forged data)."""
    query = update.callback_query
    if query is None:
        return
    await query.answer(_("This button is no longer valid. Send /help to see what I can do."))


async def acknowledge(update: Update, context: CareContext) -> None:
    """Answer a private message outside any dialogue: it is on the record."""
    message = update.effective_message
    if message is None:
        return
    if context.customer is None or not context.customer.onboarded:
        await message.reply_text(
            _(
                "Welcome! Your message is kept on your customer record. Send /complain if "
                "something is wrong, /start to register, or /help to see what I can do."
            )
        )
        return
    await message.reply_text(
        _(
            "Thank you, your message is kept on your customer record. "
            "Send /help to see what I can do."
        )
    )


async def unknown_command(update: Update, context: CareContext) -> None:
    """Answer a command we do not know."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(_("I do not know that command. Send /help to see what I can do."))


async def on_error(update: object, context: CareContext) -> None:
    """Log the error and tell the person that something went wrong, in their language,
    in the chat they wrote in (a customer's private chat or the staff group)."""
    if isinstance(context.error, TimedOut):
        # Telegram may well have done what was asked (sent the reply, edited the card):
        # saying it failed could be false, and asking to try again could double it.
        log.warning("a request timed out while handling an update: %s", context.error)
        return
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    chat = update.effective_chat
    if chat.type == chat.CHANNEL:
        return
    with use_locale(_locale_of(update, context)):
        apology = _("Sorry, something went wrong on our side. Please try again in a moment.")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(chat.id, apology)
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)


def _locale_of(update: Update, context: CareContext) -> str:
    """The locale to answer in: the customer's, else what their Telegram app says."""
    if context.customer is not None:
        return context.customer.locale
    user = update.effective_user
    return locale_for_language_code(
        user.language_code if user else None, context.services.default_locale
    )


async def hand_on(update: Update, context: CareContext, mine: Callable[[Any], bool]) -> None:
    """Let the handlers of group 0 after the one ``mine`` picks handle the update, as if it
    had not been there.

    PTB gives an update to one handler per group; a handler that declines an update after
    looking into the database (a dialogue, a draft) can only hand it on itself.
    """
    handlers: list[BaseHandler[Any, Any, Any]] = list(context.application.handlers.get(0, []))
    at = next((i for i, handler in enumerate(handlers) if mine(handler)), None)
    if at is None:
        return
    for handler in handlers[at + 1 :]:
        check = handler.check_update(update)
        if check is None or check is False:
            continue
        await handler.handle_update(update, context.application, check, context)
        return
