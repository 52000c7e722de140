"""Telegram Business: the company's Business account connects the bot; customers who
write to that account are served like those who write to the bot (``care.business``).

A customer's business message runs through the very handlers a message to the bot does:
PTB's filters and ``Message.reply_*`` know business messages, and every other request
this update makes to the customer's chat goes through the connection too
(:data:`business_chat`, read by ``bot.delivery.CareBot``). Messages the account's owner
types by hand, and the bot's own, are the company speaking: nothing answers them.
"""

from __future__ import annotations

import contextvars
import logging
from dataclasses import dataclass

from telegram import BusinessConnection, Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    BusinessConnectionHandler,
    ConversationHandler,
    TypeHandler,
    filters,
)

from care import business, owed
from care.business import ConnectionChange, ConnectionFacts
from care.owed import Kind, Purpose
from handlers.context import CareContext, Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BusinessChat:
    """The Business account's chat with a customer: where this update's answers go."""

    chat_id: int
    connection_id: str


# The business chat of the update being handled (None: not a business update). Set per
# update task by identify_customer, like the locale.
business_chat: contextvars.ContextVar[BusinessChat | None] = contextvars.ContextVar(
    "carebot_business_chat", default=None
)


def business_chat_of(update: Update) -> BusinessChat | None:
    """The business chat an update comes from: a business message or its edit, or a
    press of a button under a message the bot sent there."""
    message = update.business_message or update.edited_business_message
    if message is None and update.callback_query is not None:
        pressed = update.callback_query.message
        message = pressed if isinstance(pressed, Message) else None
    if message is None or message.business_connection_id is None:
        return None
    return BusinessChat(message.chat.id, message.business_connection_id)


# A customer's new message, to the bot or to a Business account it serves: PTB's
# UpdateType.MESSAGE is only the former.
NEW_MESSAGE = filters.UpdateType.MESSAGE | filters.UpdateType.BUSINESS_MESSAGE

# The last part of a Business chat's dialogue key (see ChatDialogue).
BUSINESS_KEY_PREFIX = "business:"


class ChatDialogue(ConversationHandler[CareContext]):
    """A persistent dialogue (registration, complaint filing, a survey) kept per chat, a
    customer's Business chat apart from their chat with the bot.

    Telegram gives both chats the customer's user id as chat id ("the message belongs to
    a chat of the corresponding business account that is independent from any potential
    bot chat which might share the same identifier", Message.business_connection_id), so
    PTB's key (chat id, user id) would have one dialogue answered from two chats: a
    "hello" to the shop's account taken as the complaint's description begun with the
    bot. A Business chat's key gets the connection as a third part; the bot chat's key
    stays PTB's, so stored states keep their meaning. The chat id stays first: the inbox
    hands a chat's stored states over by it (``bot.persistence.refresh_conversations``).

    PTB offers no hook for the key; ``_get_key`` is the one place it is built (PTB 22).
    """

    def _get_key(self, update: Update) -> tuple[int | str, ...]:
        key = super()._get_key(update)
        through = business_chat_of(update)
        if through is None:
            return key
        return (*key, BUSINESS_KEY_PREFIX + through.connection_id)


def file_of(message: Message) -> tuple[Kind, str] | None:
    """The kind and file id of the message's photo, document, voice or video message,
    audio, video, animation or sticker (None: it has none), to send it on by its id where
    a copy cannot go: copyMessage knows no Business chats, and takes a message id of a
    Business chat for the bot chat's message of that id. The bot may send any file it
    received."""
    if message.photo:
        return Kind.PHOTO, message.photo[-1].file_id
    # An animation comes with a document too (Telegram's backward compatibility).
    files = (
        (Kind.ANIMATION, message.animation), (Kind.DOCUMENT, message.document),
        (Kind.VOICE, message.voice), (Kind.AUDIO, message.audio), (Kind.VIDEO, message.video),
        (Kind.VIDEO_NOTE, message.video_note), (Kind.STICKER, message.sticker),
    )  # fmt: skip
    return next(((kind, file.file_id) for kind, file in files if file is not None), None)


async def screen(update: Update, context: CareContext) -> None:
    """Let no handler answer what the company itself wrote in its Business chats: the
    owner typing by hand, or the bot's own messages coming back."""
    message = update.business_message or update.edited_business_message
    if message is None or message.business_connection_id is None:
        return
    if message.sender_business_bot is not None:
        raise ApplicationHandlerStop
    owner = await _owner_of(context, message.business_connection_id)
    if message.from_user is None or message.from_user.id == owner:
        raise ApplicationHandlerStop


async def _owner_of(context: CareContext, connection_id: str) -> int | None:
    """The Telegram user id of the account behind a connection (asked of Telegram once
    if carebot missed its ``business_connection`` update, e.g. connected before carebot
    ran)."""
    services = context.services
    owners = services.business_owners
    if connection_id in owners:
        return owners[connection_id]
    async with services.sessionmaker.begin() as session:
        row = await business.find_connection(session, connection_id)
        if row is not None:
            owners[connection_id] = row.owner_user_id
            return row.owner_user_id
    try:
        connection = await context.bot.get_business_connection(connection_id)
    except TelegramError as error:
        log.warning("business connection %s could not be read: %s", connection_id, error)
        return None
    await _record(services, _facts(connection))
    return connection.user.id


def _facts(connection: BusinessConnection) -> ConnectionFacts:
    rights = connection.rights.to_dict() if connection.rights is not None else {}
    return ConnectionFacts(
        id=connection.id,
        owner_user_id=connection.user.id,
        owner_chat_id=connection.user_chat_id,
        owner_name=connection.user.full_name,
        rights=rights,
        enabled=connection.is_enabled,
    )


async def _record(services: Services, facts: ConnectionFacts) -> ConnectionChange:
    async with services.sessionmaker.begin() as session:
        change = await business.record_connection(session, facts, services.clock.now())
        if change is not ConnectionChange.UNCHANGED and services.staff_chat_id is not None:
            # Staff learn that customers can (or no longer can) reach them there.
            with use_locale(services.default_locale):
                text = _connection_words(change, facts)
            owed.owe(
                session, now=services.clock.now(), purpose=Purpose.STAFF_NOTICE,
                chat_id=services.staff_chat_id, text=text,
            )  # fmt: skip
    services.business_owners[facts.id] = facts.owner_user_id
    return change


def _connection_words(change: ConnectionChange, facts: ConnectionFacts) -> str:
    name = facts.owner_name or str(facts.owner_user_id)
    can_reply = bool(facts.rights.get("can_reply"))
    if change is ConnectionChange.DISCONNECTED:
        return _(
            "🔌 The Business account {name} disconnected the bot: its customers are no "
            "longer answered there."
        ).format(name=name)
    if can_reply:
        return _(
            "🔗 The Business account {name} connected the bot: customers who write to it "
            "are served like those who write to the bot."
        ).format(name=name)
    return _(
        "⚠ The Business account {name} connected the bot without the right to reply: "
        "give it that right in Telegram's Business settings, or customers there get no answer."
    ).format(name=name)


async def connection_changed(update: Update, context: CareContext) -> None:
    """Record a Business account's connection, rights or disconnection; tell staff."""
    connection = update.business_connection
    if connection is None:
        return
    change = await _record(context.services, _facts(connection))
    log.info("business connection %s: %s", connection.id, change)


def screen_handler() -> BaseHandler:
    """The first check of every update (see :func:`screen`)."""
    return TypeHandler(Update, screen)


def business_handlers() -> list[BaseHandler]:
    """Connections (business messages, and their deletions, go to the conversations'
    handlers)."""
    return [BusinessConnectionHandler(connection_changed)]
