"""Staff answer conversations by just typing (issue 11).

In forum mode whatever a staff member writes in a customer's topic (text, photo,
document, voice or video message, video, audio, animation, sticker) goes to the
customer, signed with their name (``handlers.conversation_answers``); a message starting with
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
from telegram.ext import BaseHandler, MessageHandler, filters

from care import business, complaints, conversations, mentions, owed
from care import staff as staff_members
from care.conversations import Conversation, ConversationStatus
from care.models import Customer, Priority, StaffMember
from care.owed import Kind, Purpose
from handlers import common, notify, staff, staff_card
from handlers import complaint_words as words
from handlers import conversation_answers as answers
from handlers import conversation_desk as desk
from handlers.business import file_of as business_file_of
from handlers.buttons import ConversationAction, ConversationCategory, ConversationPriority
from handlers.context import CareContext, Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.staff_access import (
    Answer,
    Reply,
    StaffRequest,
    refuse,
    staff_button,
    staff_command,
)
from handlers.stray import StrayHint

log = logging.getLogger(__name__)
S = ConversationStatus

NOTE_MARKERS = ("#note", "//")
CONVERSATION_NUMBER = re.compile(r"^#(\d{1,12})$")
CUSTOMER_ID = re.compile(r"^\d{1,12}$")


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


async def conversation_of_message(
    session: AsyncSession, message: Message, services: Services
) -> Conversation | None:
    """The conversation a staff message in the staff chat belongs to (None: nobody's)."""
    chat = message.chat_id
    if message.is_topic_message and message.message_thread_id is not None:
        topic = await conversations.topic_by_thread(session, chat, message.message_thread_id)
        if topic is not None:
            # The newest conversation: a closed one answered in its topic opens again.
            return await conversations.latest_of(session, topic.customer_id)
    replied = message.reply_to_message
    if replied is not None and replied.forum_topic_created is None:
        return await conversations.message_owner(session, chat, replied.message_id)
    return None


class StaffChatMessages:
    """What staff write in the staff chat: to a customer, a note, or nobody (then the
    hint how to reach a customer, rate-limited per member by its own ``StrayHint``)."""

    def __init__(self) -> None:
        self.stray = StrayHint()

    async def __call__(self, update: Update, context: CareContext) -> None:
        """A staff member wrote in the staff chat: to a customer, a note, or nobody."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or user.is_bot:
            return
        conversation = await self._conversation_of(message, context)
        if conversation is not None:
            text = message.text or message.caption or ""
            await answer(update, context, conversation.id, message, text)
        elif (
            message.reply_to_message is not None
            and not message.reply_to_message.forum_topic_created
        ):
            await staff.on_staff_reply(update, context)
        else:
            await self.stray(update, context)

    @staticmethod
    async def _conversation_of(message: Message, context: CareContext) -> Conversation | None:
        """The conversation ``message`` belongs to; a reply to a message of the bot's that
        is not filed yet waits for the send that made it (``common.wait_for_replied_send``)."""
        services = context.services
        async with services.sessionmaker.begin() as session:
            conversation = await conversation_of_message(session, message, services)
            replied = message.reply_to_message
            if conversation is not None or replied is None:
                return conversation
            if await complaints.message_owner(session, message.chat_id, replied.message_id):
                return None
        if not await common.wait_for_replied_send(message, context):
            return None
        async with services.sessionmaker.begin() as session:
            return await conversation_of_message(session, message, services)


async def answer(
    update: Update, context: CareContext, conversation_id: int, message: Message, text: str
) -> None:
    """Send a staff member's words (and media) to the conversation's customer, or keep
    them as a note."""
    user = update.effective_user
    assert user is not None
    services = context.services
    file = business_file_of(message)
    with use_locale(services.default_locale):
        async with services.sessionmaker.begin() as session:
            member = await _member(session, user)
            found = await desk.conversation_facts(session, conversation_id)
            if member is None or found is None:
                reply = None
            else:
                conversation, customer = found
                reply = await _answer_in(
                    session, services, conversation, customer, member, message, text, file
                )
        if member is None:
            await refuse(update, context, f"a message to conversation #{conversation_id}")
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
    file: tuple[Kind, str] | None,
) -> str | None:
    """Owe the answer or keep the note; words for the staff member (None: nothing).
    ``file``: the media the message carries (``handlers.business.file_of``)."""
    now = services.clock.now()
    # What staff wrote to (or about) the customer is theirs to have erased (/forget).
    await mentions.remember(
        session, [customer.id], message.chat_id, [message.message_id], now, by_staff=True
    )
    if is_note(text):
        await conversations.add_note(session, conversation, member, text, now)
        return _("📝 Kept as an internal note; the customer does not see it.")
    if not text and file is None:
        return _(
            "Only texts, photos, documents, videos, voice and video messages, audio, "
            "animations and stickers reach the customer."
        )
    if not customer.reachable or customer.chat_id is None:
        return _("⚠ Not delivered: the customer blocked the bot, so no answer can reach them.")
    # copyMessage cannot go through a Business connection, and a sticker or a round video
    # takes no caption to sign: those go by their file id; other media are copied.
    by_id = file is not None and (
        business.route_of(customer) is not None or file[0] in owed.CAPTIONLESS
    )
    with use_locale(customer.language or services.default_locale):
        words_out = signed(member.name or "—", text)
    media = file is not None
    answers.owe_answer(
        session, services, conversation, customer, member, words_out,
        source=(message.chat_id, message.message_id) if media and not by_id else None,
        file=file if by_id else None, staff_message=(message.chat_id, message.message_id),
        note=("📎 " + text if media else text).strip(),
    )  # fmt: skip
    return None


# --- /reply -------------------------------------------------------------------------------


async def reply_action(request: StaffRequest) -> Reply:
    """/reply <customer id | #conversation | C-…> text: write to a customer from anywhere."""
    message, services, session = request.message, request.services, request.session
    assert message is not None
    target, _space, text = request.arguments.partition(" ")
    text = text.strip()
    usage = _("Usage: /reply <customer id, #conversation or C-2026-000123> your answer")
    if not target or not text:
        raise Answer(usage)
    if (number := staff.normalized_number(target)) is not None:
        complaint = await complaints.find_by_number(session, number)
        if complaint is None:
            raise Answer(_("There is no complaint {number}.").format(number=number))
        request.concerns(complaint.customer_id)
        member, name = request.member, message.from_user.first_name if message.from_user else ""

        async def to_complaint_customer(context: CareContext, sent: Message | None) -> None:
            await staff.send_to_customer(context, message, complaint, member, name, text, None)

        return Reply(_("Sending it to the customer of {number}.").format(number=number),
                     after=to_complaint_customer)  # fmt: skip
    conversation: Conversation | None = None
    if (match := CONVERSATION_NUMBER.match(target)) is not None:
        conversation = await session.get(Conversation, int(match.group(1)))
        if conversation is None:
            raise Answer(_("There is no conversation {id}.").format(id=target))
    elif CUSTOMER_ID.match(target):
        customer = await session.get(Customer, int(target))
        if customer is None or customer.erased_at is not None:
            raise Answer(_("There is no customer {id}.").format(id=target))
        conversation = await conversations.ensure_open(
            session, customer, services.sla, services.clock.now()
        )
    else:
        raise Answer(usage)
    found = await desk.conversation_facts(session, conversation.id)
    assert found is not None
    request.concerns(found[1].id)
    _member_named(request.member, message.from_user)
    problem = await _answer_in(
        session, services, conversation, found[1], request.member, message, text, file=None
    )
    if problem is not None:
        raise Answer(problem)
    return Reply(_("Sending it to {name} (conversation #{id}).").format(
        name=desk.customer_name(found[1]), id=conversation.id
    ))  # fmt: skip


# --- the card's buttons ---------------------------------------------------------------


async def card_button(request: StaffRequest) -> Reply:
    """Acknowledge, Take, Close, To complaint (then its category and priority)."""
    session, services, member = request.session, request.services, request.member
    _member_named(member, request.update.effective_user)
    now = services.clock.now()
    data = request.arguments
    pressed = (
        ConversationAction.parse(data)
        or ConversationCategory.parse(data)
        or ConversationPriority.parse(data)
    )
    conversation = (
        await session.get(Conversation, pressed.conversation_id) if pressed is not None else None
    )
    if pressed is None or conversation is None:
        raise Answer(_("This button is no longer valid."))
    if isinstance(pressed, ConversationAction) and pressed.action != "cmp":
        moves = {
            "ack": (conversations.acknowledge, _("Acknowledged.")),
            "take": (conversations.take, _("It is yours now.")),
            "close": (conversations.close, _("Conversation closed.")),
        }
        move, done_words = moves[pressed.action]
        done = await move(session, conversation, member, now)
        if done is None:
            return Reply(_("Already done."))
        await desk.owe_state(session, services, conversation)
        return Reply(done_words)
    existing = await conversations.complaint_of(session, conversation.id)
    if existing is not None:
        return Reply(_("Already complaint {number}.").format(number=existing.number))
    if isinstance(pressed, ConversationAction):
        keyboard = [
            [
                InlineKeyboardButton(
                    words.category_label(code),
                    callback_data=ConversationCategory(conversation.id, code).pack(),
                )
            ]
            for code in services.complaint_categories
        ]
        question = _("Conversation #{id} to a complaint: what is it about?")
        return _ask(request, question.format(id=conversation.id), keyboard)
    if pressed.code not in services.complaint_categories:
        raise Answer(_("This button is no longer valid."))
    if isinstance(pressed, ConversationCategory):
        keyboard = [
            [
                InlineKeyboardButton(
                    words.priority_label(p.value),
                    callback_data=ConversationPriority(
                        conversation.id, pressed.code, p.value
                    ).pack(),
                )
                for p in Priority
            ]
        ]
        question = _("Conversation #{id} to a complaint: which priority?")
        return _ask(request, question.format(id=conversation.id), keyboard)
    return Reply(
        await _file_complaint(
            session, services, member, conversation, pressed.code, Priority(pressed.priority)
        )
    )


def _ask(request: StaffRequest, question: str, keyboard: list[list[InlineKeyboardButton]]) -> Reply:
    """Answer the press with the question, and post it with the next buttons below the
    pressed message (in its topic, in forum mode)."""
    pressed = request.message

    async def post(context: CareContext, sent: Message | None) -> None:
        if pressed is not None:
            await pressed.reply_text(question, reply_markup=InlineKeyboardMarkup(keyboard))

    return Reply(question, after=post)


def _member_named(member: StaffMember, user: User | None) -> None:
    """Staff are shown by name: take it from Telegram when the record has none."""
    if user is not None and not member.name:
        member.name = user.full_name


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


def conversation_staff_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """The staff chat's messages, /reply and the conversation buttons.

    Registered before the complaints' staff handlers: a message that is not about a
    conversation is handed to them from here.
    """
    handlers: list[BaseHandler] = [staff_button(ConversationAction, card_button)]
    if staff_chat_id is None:
        return handlers
    chat = filters.Chat(staff_chat_id)
    handlers += [
        staff_command("reply", reply_action, where=chat),
        MessageHandler(
            chat & filters.UpdateType.MESSAGE & ~filters.COMMAND & ~filters.StatusUpdate.ALL,
            StaffChatMessages(),
        ),
    ]
    return handlers
