"""The customer's side of conversations: every message reaches a person (issue 11).

A message that is not part of a dialogue or an open complaint goes into the customer's
conversation (opened by it if none is open) and is owed to staff in the same
transaction (``handlers.conversation_desk``). The first message of a conversation is
answered with when a colleague will answer, in the customer's time zone; out of
business hours, once per conversation, with when we open again. Later messages get no
answer: staff answer them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message, Update
from telegram.ext import BaseHandler, BusinessMessagesDeletedHandler, MessageHandler, filters

from care import conversations, customers, owed
from care.conversations import Conversation, ConversationStatus
from care.models import ContactKind, Customer
from handlers import business, common
from handlers import complaint_words as words
from handlers import conversation_desk as desk
from handlers.context import CareContext, Services
from handlers.i18n import gettext as _

log = logging.getLogger(__name__)
S = ConversationStatus


async def on_customer_message(update: Update, context: CareContext) -> None:
    """Put a customer's message into their conversation and show it to staff."""
    message, view = update.effective_message, context.customer
    if message is None or view is None:
        return
    reply = await take_message(update, context)
    if reply is None:
        return
    if not view.onboarded:
        reply += "\n\n" + _("Welcome! When you have a moment, send /start to register.")
    await message.reply_text(reply)


# What else to owe staff in the transaction that puts a message into a conversation.
Then = Callable[[AsyncSession, Customer, Conversation], Awaitable[None]]


async def take_message(
    update: Update, context: CareContext, shown: str | None = None, then: Then | None = None
) -> str | None:
    """Put the customer's message into their conversation, owed to staff in the same
    transaction; the words to answer it with (None: no answer is due, staff answer).

    With ``shown`` (a button press that asks for a person, such as the FAQ's "Ask a
    person"), those words are what staff are shown, not the pressed message. ``then``
    owes what staff see after the message (such as the FAQ's answer offered to them), in
    the same transaction.
    """
    view, services = context.customer, context.services
    message = update.effective_message if shown is None else None
    assert view is not None and (message is not None or shown is not None)
    kind = common.message_kind(message) if message is not None else ContactKind.BUTTON
    text = (message.text or message.caption) if message is not None else shown
    async with services.sessionmaker.begin() as session:
        customer = await session.get_one(Customer, view.id)
        taken = await _taken_before(session, services, customer.id, message)
        if taken is not None:
            # The same message handled again: the process died after it was put into
            # the conversation and before its update was marked handled. It is on the
            # record and owed to staff already; only the answer may not have gone out.
            conversation, closed_until = taken, None
            opened = await conversations.customer_messages(session, conversation) == 1
        else:
            inbound = await conversations.record_customer_message(
                session, customer, kind.value, text, services.sla, services.clock.now()
            )
            await desk.owe_inbound(session, services, customer, inbound, message, shown)
            conversation = inbound.change.conversation
            if then is not None:
                await then(session, customer, conversation)
            opened, closed_until = inbound.opened, inbound.closed_until
        zone = customer.timezone
    if closed_until is not None:
        return _(
            "Thank you for your message. We are closed now; a colleague will answer by {due}."
        ).format(due=words.customer_time(closed_until, zone, services.timezone))
    if opened:
        return _("Thank you, we got your message. A colleague will answer by {due}.").format(
            due=words.customer_time(conversation.first_response_due_at, zone, services.timezone)
        )
    return None


async def _taken_before(
    session: AsyncSession, services: Services, customer_id: int, message: Message | None
) -> Conversation | None:
    """The conversation this customer's message is already in, shown (or owed) to staff;
    None for a message not taken before (or when there is no staff chat to look in)."""
    if message is None or services.staff_chat_id is None:
        return None
    source = (message.chat.id, message.message_id)
    return await _shown_in(session, services, customer_id, source, message.business_connection_id)


async def on_customer_edit(update: Update, context: CareContext) -> None:
    """Show staff the customer's edit of a message they were shown."""
    message, view, services = update.effective_message, context.customer, context.services
    if message is None or view is None or services.staff_chat_id is None:
        return
    text = message.text or message.caption or ""
    source = (message.chat.id, message.message_id)
    connection = message.business_connection_id
    async with services.sessionmaker.begin() as session:
        conversation = await _shown_in(session, services, view.id, source, connection)
        if conversation is not None:
            await conversations.record_customer_edit(
                session, conversation, text, services.clock.now()
            )
            await desk.owe_edit(session, services, conversation, source, connection, text)
    if conversation is None:
        log.debug("an edit of a message staff were not shown as a conversation's: not shown")


async def on_customer_delete(update: Update, context: CareContext) -> None:
    """Show staff, under each message of theirs they were shown, that the customer deleted
    it in the company's Business chat."""
    deleted, services = update.deleted_business_messages, context.services
    if deleted is None or services.staff_chat_id is None:
        return
    shown = 0
    connection = deleted.business_connection_id
    async with services.sessionmaker.begin() as session:
        customer = await customers.find_customer(session, deleted.chat.id)
        if customer is not None:
            now = services.clock.now()
            for message_id in deleted.message_ids:
                source = (deleted.chat.id, message_id)
                conversation = await _shown_in(session, services, customer.id, source, connection)
                if conversation is None:
                    continue
                await conversations.record_customer_delete(session, conversation, now)
                desk.owe_deleted(session, services, conversation, source, connection)
                shown += 1
    log.info("%d message(s) deleted in a business chat, %d of them shown to staff",
             len(deleted.message_ids), shown)  # fmt: skip


async def _shown_in(
    session: AsyncSession,
    services: Services,
    customer_id: int,
    source: tuple[int, int],
    business_connection_id: str | None,
) -> Conversation | None:
    """The conversation whose relay to staff shows the customer's message ``source``
    (``business_connection_id``: in that Business chat): sent, or owed and perhaps shown
    already while Telegram's answer is on its way. None: staff were not shown it."""
    assert services.staff_chat_id is not None
    found = await conversations.copy_of(
        session, customer_id, services.staff_chat_id, source[1], business_connection_id
    )
    if found is not None:
        return found[0]
    on_its_way = await owed.relay_on_its_way(
        session, services.staff_chat_id, source, business_connection_id
    )
    return None if on_its_way is None else await session.get(Conversation, on_its_way)


def status_label(status: str) -> str:
    """A conversation's status as the customer reads it."""
    if status == S.WAITING_CUSTOMER.value:
        return _("we answered, waiting for you")
    return _("waiting for our answer")


async def status_lines(
    session: AsyncSession, customer_id: int, zone: str, timezone: str
) -> list[str]:
    """The customer's open conversations, for /status (empty: none)."""
    found = await conversations.open_conversations_of(session, customer_id)
    if not found:
        return []
    return [_("Your conversations with us:")] + [_line(c, zone, timezone) for c in found[:10]]


def _line(conversation: Conversation, zone: str, timezone: str) -> str:
    when: datetime = conversation.updated_at
    return _("#{id}: {status}, last message {when}").format(
        id=conversation.id, status=status_label(conversation.status),
        when=words.local_time(when, zone),
    )  # fmt: skip


def conversation_handlers() -> list[BaseHandler]:
    """Edits of the customer's messages, in their chat with the bot or a Business chat
    (registered after the dialogues), and their deletions in a Business chat."""
    return [
        MessageHandler(
            filters.ChatType.PRIVATE
            & (filters.UpdateType.EDITED_MESSAGE | filters.UpdateType.EDITED_BUSINESS_MESSAGE),
            on_customer_edit,
        ),
        BusinessMessagesDeletedHandler(on_customer_delete),
    ]


def last_resort_handlers() -> list[BaseHandler]:
    """Any other private message that is no command: into the conversation."""
    return [
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.COMMAND & business.NEW_MESSAGE,
            on_customer_message,
        )
    ]
