"""Staff answer conversations by just typing (issue 11).

In forum mode whatever a staff member writes in a customer's topic (text, photo,
document, voice) goes to the customer, signed with their name; a message starting with
``#note`` or ``//`` is an internal note and never does. In a plain group a reply to a
conversation's card or to any message relayed from it does the same, and ``/reply
<customer id | #conversation | C-…> text`` works anywhere in the staff chat. The buttons
of a conversation's card (Acknowledge, Take, Close, To complaint) are idempotent,
refused for anyone but care staff, and recorded as events.

A staff message that belongs to no conversation is handed to the complaints' handlers
(a reply to a complaint's card) or answered with how to reach a customer.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from care import complaints, conversations
from care import staff as staff_members
from care.conversations import Conversation, ConversationStatus
from care.models import Customer, Priority, StaffMember
from care.owed import Purpose
from handlers import complaint_words as words
from handlers import conversation_desk as desk
from handlers import notify, staff, staff_card
from handlers.context import CareContext, Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.stray import StrayHint

log = logging.getLogger(__name__)
S = ConversationStatus

NOTE_MARKERS = ("#note", "//")
ACTION = re.compile(r"^cv:(ack|take|close|cmp):(\d{1,12})$")
CATEGORY = re.compile(r"^cv:(cat):(\d{1,12}):(\w{1,32})$")
PRIORITY = re.compile(r"^cv:(pri):(\d{1,12}):(\w{1,32}):(normal|high|urgent)$")
CONVERSATION_NUMBER = re.compile(r"^#(\d{1,12})$")
CUSTOMER_ID = re.compile(r"^\d{1,12}$")


class Reach:
    """Where a staff message goes: a conversation, or nobody."""

    def __init__(self, conversation: Conversation | None) -> None:
        self.conversation = conversation


def is_note(text: str) -> bool:
    """Whether staff meant this for each other only."""
    return text.lstrip().lower().startswith(NOTE_MARKERS)


def signed(name: str, text: str) -> str:
    """A staff answer as the customer reads it: "王丽（客户关怀）：…"."""
    if not text:
        return _("{name} (customer care)").format(name=name)
    return _("{name} (customer care): {text}").format(name=name, text=text)


async def _member(session: AsyncSession, user: User) -> StaffMember | None:
    """The active staff member behind ``user``, their name taken from Telegram if unknown."""
    member = await staff_members.find_staff(session, user.id)
    if member is not None and not member.name:
        member.name = user.full_name
    return member


async def _target(session: AsyncSession, message: Message, services: Services) -> Reach:
    """The conversation a staff message in the staff chat belongs to, if any."""
    chat = message.chat_id
    if message.is_topic_message and message.message_thread_id is not None:
        topic = await conversations.topic_by_thread(session, chat, message.message_thread_id)
        if topic is not None:
            # The newest conversation: a closed one answered in its topic opens again.
            return Reach(await conversations.latest_of(session, topic.customer_id))
    replied = message.reply_to_message
    if replied is not None and replied.forum_topic_created is None:
        return Reach(await conversations.message_owner(session, chat, replied.message_id))
    return Reach(None)


async def on_staff_message(update: Update, context: CareContext) -> None:
    """A staff member wrote in the staff chat: to a customer, a note, or nobody."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or user.is_bot:
        return
    services = context.services
    async with services.sessionmaker.begin() as session:
        reach = await _target(session, message, services)
    if reach.conversation is None:
        if (
            message.reply_to_message is not None
            and message.reply_to_message.forum_topic_created is None
        ):
            await staff.on_staff_reply(update, context)
        else:
            await STRAY(update, context)
        return
    await answer(
        update, context, reach.conversation.id, message, message.text or message.caption or ""
    )


async def answer(
    update: Update, context: CareContext, conversation_id: int, message: Message, text: str
) -> None:
    """Send a staff member's words (and media) to the conversation's customer, or keep
    them as a note."""
    user = update.effective_user
    assert user is not None
    services = context.services
    media = bool(message.photo or message.document or message.voice or message.video)
    with use_locale(services.default_locale):
        async with services.sessionmaker.begin() as session:
            member = await _member(session, user)
            found = await desk.conversation_facts(session, conversation_id)
            if member is None or found is None:
                reply = None
            else:
                conversation, customer = found
                reply = await _answer_in(
                    session, services, conversation, customer, member, message, text, media
                )
        if member is None:
            await staff.refuse(update, context, f"a message to conversation #{conversation_id}")
            return
        if reply:
            await message.reply_text(reply)


async def _answer_in(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    customer: Customer,
    member: StaffMember,
    message: Message,
    text: str,
    media: bool,
) -> str | None:
    """Owe the answer or keep the note; words for the staff member (None: nothing)."""
    now = services.clock.now()
    if is_note(text):
        await conversations.add_note(session, conversation, member, text, now)
        return _("📝 Kept as an internal note; the customer does not see it.")
    if not text and not media:
        return _("Only text, photos, documents and voice messages reach the customer.")
    if not customer.reachable or customer.chat_id is None:
        return _("⚠ Not delivered: the customer blocked the bot, so no answer can reach them.")
    with use_locale(customer.language or services.default_locale):
        words_out = signed(member.name or "—", text)
    desk.owe_answer(
        session, services, conversation, customer, member, words_out,
        source=(message.chat_id, message.message_id) if media else None,
        staff_message=(message.chat_id, message.message_id),
        note=("📎 " + text if media else text).strip(),
    )  # fmt: skip
    return None


# --- /reply -------------------------------------------------------------------------------


async def reply_command(update: Update, context: CareContext) -> None:
    """/reply <customer id | #conversation | C-…> text: write to a customer from anywhere."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.services
    arguments = staff.command_arguments(message)
    target, _space, text = arguments.partition(" ")
    text = text.strip()
    with use_locale(services.default_locale):
        usage = _("Usage: /reply <customer id, #conversation or C-2026-000123> your answer")
        async with services.sessionmaker.begin() as session:
            member = await _member(session, user)
            conversation_id: int | None = None
            complaint = None
            problem = None
            if member is not None:
                if not target or not text:
                    problem = usage
                elif (number := staff.normalized_number(target)) is not None:
                    complaint = await complaints.find_by_number(session, number)
                    if complaint is None:
                        problem = _("There is no complaint {number}.").format(number=number)
                elif (match := CONVERSATION_NUMBER.match(target)) is not None:
                    found = await session.get(Conversation, int(match.group(1)))
                    conversation_id = found.id if found else None
                    if found is None:
                        problem = _("There is no conversation {id}.").format(id=target)
                elif CUSTOMER_ID.match(target):
                    customer = await session.get(Customer, int(target))
                    if customer is None or customer.erased_at is not None:
                        problem = _("There is no customer {id}.").format(id=target)
                    else:
                        opened = await conversations.ensure_open(
                            session, customer, services.sla, services.clock.now()
                        )
                        conversation_id = opened.id
                else:
                    problem = usage
        if member is None:
            await staff.refuse(update, context, "/reply")
            return
        if problem is not None:
            await message.reply_text(problem)
            return
        if complaint is not None:
            await staff.send_to_customer(
                context, message, complaint, member, user.first_name, text, None
            )
            return
    assert conversation_id is not None
    await answer(update, context, conversation_id, message, text)


# --- the card's buttons ---------------------------------------------------------------


async def on_button(update: Update, context: CareContext) -> None:
    """Acknowledge, Take, Close, To complaint (then its category and priority)."""
    query = update.callback_query
    assert query is not None
    services = context.services
    data = query.data or ""
    keyboard: InlineKeyboardMarkup | None = None
    with use_locale(services.default_locale):
        async with services.sessionmaker.begin() as session:
            member = await _member(session, query.from_user)
            if member is None:
                text = None
            else:
                text, keyboard = await _act(session, services, member, data)
        if text is None:
            await staff.refuse(update, context, f"button {data!r}")
            return
        await query.answer(text)
        if keyboard is not None and query.message is not None:
            in_topic = getattr(query.message, "is_topic_message", False)
            thread = getattr(query.message, "message_thread_id", None) if in_topic else None
            await context.bot.send_message(
                query.message.chat.id, text, reply_markup=keyboard, message_thread_id=thread
            )


async def _act(
    session: AsyncSession, services: Services, member: StaffMember, data: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Do what a button asks; the answer to show and, to go on, a keyboard to post."""
    now = services.clock.now()
    match = ACTION.match(data) or CATEGORY.match(data) or PRIORITY.match(data)
    conversation = await session.get(Conversation, int(match.group(2))) if match else None
    if match is None or conversation is None:
        return _("This button is no longer valid."), None
    action = match.group(1)
    if action == "ack":
        done = await conversations.acknowledge(session, conversation, member, now)
        if done:
            await desk.owe_state(session, services, conversation)
        return (_("Acknowledged.") if done else _("Already done.")), None
    if action == "take":
        done = await conversations.take(session, conversation, member, now)
        if done:
            await desk.owe_state(session, services, conversation)
        return (_("It is yours now.") if done else _("Already done.")), None
    if action == "close":
        done = await conversations.close(session, conversation, member, now)
        if done:
            await desk.owe_state(session, services, conversation)
        return (_("Conversation closed.") if done else _("Already done.")), None
    existing = await conversations.complaint_of(session, conversation.id)
    if existing is not None:
        return _("Already complaint {number}.").format(number=existing.number), None
    if action == "cmp":
        rows = [
            [
                InlineKeyboardButton(
                    words.category_label(code), callback_data=f"cv:cat:{conversation.id}:{code}"
                )
            ]
            for code in services.complaint_categories
        ]
        return _("Conversation #{id} to a complaint: what is it about?").format(
            id=conversation.id
        ), InlineKeyboardMarkup(rows)
    category = match.group(3)
    if category not in services.complaint_categories:
        return _("This button is no longer valid."), None
    if action == "cat":
        rows = [
            [
                InlineKeyboardButton(
                    words.priority_label(p.value),
                    callback_data=f"cv:pri:{conversation.id}:{category}:{p.value}",
                )
                for p in Priority
            ]
        ]
        return _("Conversation #{id} to a complaint: which priority?").format(
            id=conversation.id
        ), InlineKeyboardMarkup(rows)
    return await _file_complaint(
        session, services, member, conversation, category, Priority(match.group(4))
    ), None


async def _file_complaint(
    session: AsyncSession,
    services: Services,
    member: StaffMember,
    conversation: Conversation,
    category: str,
    priority: Priority,
) -> str:
    """File the conversation as a complaint; its card owed, the customer told its number."""
    now = services.clock.now()
    try:
        complaint = await conversations.to_complaint(
            session, conversation, member, category, priority, services.sla, services.triage,
            now, services.timezone,
        )  # fmt: skip
    except complaints.Refused:
        return _("The customer has written nothing to file as a complaint yet.")
    loaded = await complaints.facts(session, complaint.id)
    assert loaded is not None
    staff_card.owe_card(session, loaded, services)
    await desk.owe_complaint_in_topic(session, services, loaded)
    with use_locale(loaded.customer.language or services.default_locale):
        due = words.customer_time(
            complaints.promised_deadline(complaint), loaded.customer.timezone, services.timezone
        )
        told = _(
            "We have filed what you told us as complaint {number}. We will get back to you "
            "by {due}. Send /status {number} at any time to see where it stands."
        ).format(number=complaint.number, due=due)
    notify.owe_customer(session, services, loaded, told, purpose=Purpose.CONFIRMATION)
    return _("Filed as complaint {number}; the customer was told its number.").format(
        number=complaint.number
    )


STRAY = StrayHint()


def conversation_staff_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """The staff chat's messages, /reply and the conversation buttons.

    Registered before the complaints' staff handlers: a message that is not about a
    conversation is handed to them from here.
    """
    handlers: list[BaseHandler] = [
        CallbackQueryHandler(on_button, pattern=f"^{desk.PREFIX}"),
    ]
    if staff_chat_id is None:
        return handlers
    chat = filters.Chat(staff_chat_id)
    new = filters.UpdateType.MESSAGE
    handlers += [
        CommandHandler("reply", reply_command, filters=chat & new),
        MessageHandler(chat & new & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_staff_message),
    ]
    return handlers
