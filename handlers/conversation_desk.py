"""Where staff see conversations: a forum topic per customer, or cards in a plain group.

Forum mode (the staff chat is a supergroup with topics, ``Services.staff_forum``): each
customer has one topic (``care.conversations.StaffTopic``), named "🟢 王小明 · #17" after
their current conversation and renamed, closed and reopened with it. The topic is owed
(``care.owed``, kind ``topic``) in the transaction of the message that needs it; the
sender makes Telegram show the conversation as it is when it sends
(:func:`topic_request`): it creates the topic once (recording its thread at once, in a
transaction of its own, so a retry never makes a second one), renames, closes or reopens
it. Every customer message is copied into the topic after it (owed in the same
transaction, so it waits for the topic); a new conversation's card (its buttons) opens
it, and the General topic carries new-conversation notices and SLA alerts
(``handlers.conversation_deadlines``).

Plain-group mode: a new conversation gets a card with the buttons, and every customer
message is relayed under a header; replies to either reach the customer
(``handlers.conversation_staff``).

Everything here owes, in the caller's transaction; nothing is sent directly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, TelegramError

from care import business, conversation_deadlines, conversations, owed
from care.complaints import Change as ComplaintChange
from care.complaints import ComplaintFacts
from care.conversations import Conversation, ConversationStatus, Inbound, StaffTopic
from care.models import (
    ComplaintEventType,
    Customer,
    OwedMessage,
    StaffMember,
)
from care.owed import Button, Kind, Purpose
from handlers import complaint_words as words
from handlers import lost_topics
from handlers.business import file_of as business_file_of
from handlers.buttons import ConversationAction
from handlers.context import Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.owed_parts import owe_whole
from handlers.staff_names import staff_name

log = logging.getLogger(__name__)
S = ConversationStatus

# What a staff-chat message is for (``ConversationMessage.purpose``); a reply to any of
# them reaches the customer.
CARD, RELAY, NOTICE = "card", "relay", "notice"

STATE_ICONS = {
    S.OPEN: "🟢",
    S.WAITING_STAFF: "🟠",
    S.WAITING_CUSTOMER: "💬",
    S.CLOSED: "✅",
}
BLOCKED_ICON = "⛔"
TOPIC_NAME_LIMIT = 128
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

Request = Callable[[], Awaitable[Any]]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def customer_name(customer: Customer) -> str:
    """The customer as staff see them: their name, never a raw id."""
    if customer.erased_at is not None:
        return _("erased at their request")
    return customer.display_name or (f"@{customer.username}" if customer.username else "—")


def topic_name(conversation: Conversation, customer: Customer) -> str:
    """ "🟢 王小明 · #17": who, which conversation, and its state at a glance; "⛔ erased
    at their request · #17" once the customer asked us to forget them."""
    unreachable = not customer.reachable or customer.erased_at is not None
    icon = BLOCKED_ICON if unreachable else STATE_ICONS[S(conversation.status)]
    return _shorten(f"{icon} {customer_name(customer)} · #{conversation.id}", TOPIC_NAME_LIMIT)


def status_label(status: str) -> str:
    """A conversation's status as staff read it."""
    labels = {
        S.OPEN.value: _("new, nobody has answered yet"),
        S.WAITING_STAFF.value: _("waiting for us"),
        S.WAITING_CUSTOMER.value: _("waiting for the customer"),
        S.CLOSED.value: _("closed"),
    }
    return labels.get(status, status)


def card_text(
    conversation: Conversation, customer: Customer, assignee: StaffMember | None, timezone: str
) -> str:
    """A conversation's card, in the staff chat's words."""
    lines = [
        _("{icon} Conversation #{id} with {name}").format(
            icon=STATE_ICONS[S(conversation.status)], id=conversation.id,
            name=customer_name(customer),
        ),
        _("Status: {status}").format(status=status_label(conversation.status)),
        _("Assignee: {name}").format(
            name=(assignee.name or f"@{assignee.username}") if assignee else _("nobody yet")
        ),
    ]  # fmt: skip
    # What is due next: the first answer, then the resolution (nothing once closed).
    if conversation.status == S.CLOSED.value:
        if conversation.closed_at is not None:
            lines.append(_("Closed: {when}").format(
                when=words.local_time(conversation.closed_at, timezone)))  # fmt: skip
    elif conversation.first_response_at is None:
        lines.append(_("Answer by: {due}").format(
            due=words.local_time(conversation.first_response_due_at, timezone)))  # fmt: skip
    else:
        lines.append(_("First answered: {when}").format(
            when=words.local_time(conversation.first_response_at, timezone)))  # fmt: skip
        lines.append(_("Resolve by: {due}").format(
            due=words.local_time(conversation.resolve_due_at, timezone)))  # fmt: skip
    lines.append(_("Reply to this card or to any of the customer's messages to answer them."))
    if not customer.reachable:
        lines.append(_("⚠ The customer blocked the bot: messages cannot reach them."))
    return "\n".join(lines)


def queue_line(
    conversation: Conversation,
    customer: Customer,
    assignee: StaffMember | None,
    timezone: str,
    now: datetime,
) -> str:
    """One open conversation in /queue: who, its state, its next deadline, its assignee."""
    due = conversation_deadlines.next_deadline(conversation)
    when = words.local_time(due, timezone)
    if conversation.first_response_at is None:
        deadline = _("answer by {due}").format(due=when)
    else:
        deadline = _("settle by {due}").format(due=when)
    if due <= now:
        deadline = "⏰ " + deadline
    return _("{icon} #{id} {name} · {status} · {deadline} · {assignee}").format(
        icon=STATE_ICONS[S(conversation.status)], id=conversation.id,
        name=customer_name(customer), status=status_label(conversation.status),
        deadline=deadline, assignee=staff_name(assignee),
    )  # fmt: skip


def card_buttons(conversation: Conversation) -> list[list[Button]]:
    """Acknowledge, Take, Close, To complaint."""
    cid = conversation.id

    def button(label: str, action: Literal["ack", "take", "close", "cmp"]) -> Button:
        return Button(label, ConversationAction(action, cid).pack())

    return [
        [button(_("Acknowledge"), "ack"), button(_("Take"), "take")],
        [button(_("Close"), "close"), button(_("To complaint"), "cmp")],
    ]


async def staff_chat_is_forum(bot: Bot, services: Services) -> bool:
    """Ask Telegram whether the staff chat is a forum (topics); False if it cannot say."""
    if services.staff_chat_id is None:
        return False
    try:
        chat = await bot.get_chat(services.staff_chat_id)
    except TelegramError as error:
        log.warning("the staff chat could not be read (%s): conversations use cards", error)
        return False
    return bool(chat.is_forum)


# --- owing ------------------------------------------------------------------------------


async def owe_state(session: AsyncSession, services: Services, conversation: Conversation) -> None:
    """Owe what shows the conversation's state: its topic's look and its card's edit."""
    await owe_topic(session, services, conversation)
    chat = services.staff_chat_id
    if chat is not None and not await owed.still_pending(
        session, chat, Kind.CONVERSATION_CARD, conversation_id=conversation.id
    ):
        owed.owe(
            session, now=services.clock.now(), purpose=Purpose.CONVERSATION,
            kind=Kind.CONVERSATION_CARD, chat_id=chat,
            customer_id=conversation.customer_id, conversation_id=conversation.id,
        )  # fmt: skip


async def owe_topic(
    session: AsyncSession, services: Services, conversation: Conversation
) -> StaffTopic | None:
    """Owe the customer's topic its current look (made on first use). None: no forum."""
    chat = services.staff_chat_id
    if chat is None or not services.staff_forum:
        return None
    now = services.clock.now()
    topic, _made = await conversations.topic_row(session, conversation.customer_id, chat, now)
    if await owed.still_pending(session, chat, Kind.TOPIC, customer_id=conversation.customer_id):
        return topic
    owed.owe(
        session, now=now, purpose=Purpose.TOPIC, kind=Kind.TOPIC, chat_id=chat,
        customer_id=conversation.customer_id, conversation_id=conversation.id,
    )  # fmt: skip
    return topic


def _owe_staff(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    text: str | None,
    *,
    kind: Kind = Kind.TEXT,
    source: tuple[int, int] | None = None,
    source_business_connection_id: str | None = None,
    file_id: str | None = None,
    buttons: list[list[Button]] | None = None,
    remember_as: str | None = RELAY,
    general: bool = False,
    reply_to_message_id: int | None = None,
) -> None:
    """Owe the staff chat a message about the conversation: in the customer's topic in
    forum mode (``general``: in General), else in the group."""
    assert services.staff_chat_id is not None
    owe_whole(
        session, now=services.clock.now(), purpose=Purpose.CONVERSATION, kind=kind,
        chat_id=services.staff_chat_id, text=text, media=kind is not Kind.TEXT,
        source=source, buttons=buttons,
        source_business_connection_id=source_business_connection_id, file_id=file_id,
        customer_id=conversation.customer_id, conversation_id=conversation.id,
        to_topic=services.staff_forum and not general, remember_as=remember_as,
        reply_to_message_id=reply_to_message_id,
    )  # fmt: skip


async def _owe_from_business_chat(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    customer: Customer,
    message: Message,
) -> None:
    """Owe staff a customer's message from a Business chat, under a header naming the
    account (a reply goes to the chat the customer last wrote in: staff see which),
    without copying it.

    copyMessage takes no business connection: asked for the message's id in the
    customer's chat, Telegram would copy the message of that id in their chat with the
    bot. Texts are shown as words, media by their file (the bot may send a file it
    received) with the header as caption, or after it, for a sticker or a round video
    message (no caption); anything else (a contact, a location) by what it is.
    """
    assert message.business_connection_id is not None
    connection = await business.find_connection(session, message.business_connection_id)
    account = (connection.owner_name if connection is not None else None) or _(
        "the company's Business account"
    )
    if services.staff_forum:  # the topic is the customer's
        header = _("via 💼 {account}:").format(account=account)
    else:
        header = _("💬 #{id} {name} via 💼 {account}:").format(
            id=conversation.id, name=customer_name(customer), account=account
        )
    text = message.text or message.caption or ""
    shown = f"{header}\n{text}" if text else header
    kind, file_id = Kind.TEXT, None
    file = business_file_of(message)
    if file is not None:
        kind, file_id = file
    elif not message.text:
        what = _("(a message Telegram does not let the bot pass on from a Business chat)")
        shown = f"{shown}\n{what}"
    if kind in owed.CAPTIONLESS:
        _owe_staff(session, services, conversation, shown)
        shown = ""
    _owe_staff(
        session, services, conversation, shown or None,
        kind=kind, file_id=file_id, source=(message.chat.id, message.message_id),
        source_business_connection_id=message.business_connection_id,
    )  # fmt: skip


async def owe_inbound(
    session: AsyncSession,
    services: Services,
    customer: Customer,
    inbound: Inbound,
    message: Message | None,
    words: str | None = None,
) -> None:
    """Owe staff a customer's message (in the caller's transaction).

    Forum: the topic's look (made, reopened, renamed), a new conversation's card and a
    notice in General, then the message copied into the topic. Plain group: a new
    conversation's card, then the message under a header (and copied, if not text).
    Without a message (a button asking for a person), ``words`` are shown instead.
    """
    if services.staff_chat_id is None:
        log.warning("conversation %s: no CAREBOT_STAFF_CHAT_ID, nobody sees it",
                    inbound.change.conversation.id)  # fmt: skip
        return
    conversation = inbound.change.conversation
    text = (message.text or message.caption or "") if message is not None else words or ""
    source = (message.chat.id, message.message_id) if message is not None else None
    with use_locale(services.default_locale):
        if services.staff_forum:
            topic = await conversations.topic_of(session, customer.id, services.staff_chat_id)
            if inbound.opened or inbound.change.status_changed or topic is None or topic.closed:
                await owe_topic(session, services, conversation)
        if inbound.change.status_changed and not inbound.opened:
            await owe_state(session, services, conversation)
        if inbound.opened:
            await _owe_card(session, services, conversation, customer)
            if services.staff_forum:
                notice = _("🆕 Conversation #{id} with {name}: {text}").format(
                    id=conversation.id, name=customer_name(customer),
                    text=_shorten(text, 500) if text else _("(no text)"),
                )  # fmt: skip
                _owe_staff(session, services, conversation, notice, general=True,
                           remember_as=NOTICE)  # fmt: skip
        if services.staff_forum:
            if source is None:
                _owe_staff(session, services, conversation, _shorten(text, TEXT_LIMIT))
            elif message is not None and message.business_connection_id is not None:
                await _owe_from_business_chat(session, services, conversation, customer, message)
            else:
                _owe_staff(session, services, conversation, None, kind=Kind.COPY, source=source)
            return
        header = _("💬 #{id} {name}:").format(id=conversation.id, name=customer_name(customer))
        if message is not None and message.business_connection_id is not None:
            await _owe_from_business_chat(session, services, conversation, customer, message)
            return
    if message is None or message.text:
        # The relay stands for the customer's message (``source``): an edit or deletion
        # of it is shown under the relay.
        _owe_staff(
            session, services, conversation, f"{header}\n{text}", source=source,
        )  # fmt: skip
        return
    _owe_staff(session, services, conversation, header)
    _owe_staff(session, services, conversation, None, kind=Kind.COPY, source=source)


async def _owe_card(
    session: AsyncSession, services: Services, conversation: Conversation, customer: Customer
) -> None:
    assignee = (
        await session.get(StaffMember, conversation.assignee_id)
        if conversation.assignee_id
        else None
    )
    _owe_staff(
        session, services, conversation,
        card_text(conversation, customer, assignee, services.timezone),
        buttons=card_buttons(conversation), remember_as=CARD,
    )  # fmt: skip


async def owe_edit(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    source: tuple[int, int],
    business_connection_id: str | None,
    text: str,
) -> None:
    """Owe staff the customer's edit of their message ``source`` (in the Business chat of
    ``business_connection_id``, or the bot chat), under its relay."""
    with use_locale(services.default_locale):
        words_out = _("✏ The customer edited this message: {text}").format(text=text)
    _owe_under_relay(
        session, services, conversation, words_out, source,
        business_connection_id,
    )  # fmt: skip


def owe_deleted(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    source: tuple[int, int],
    business_connection_id: str | None,
) -> None:
    """Owe staff a line under the relay of a customer's message: the customer deleted it
    (in a Business chat; Telegram tells bots of no other deletions)."""
    with use_locale(services.default_locale):
        words_out = _("🗑 The customer deleted this message.")
    _owe_under_relay(session, services, conversation, words_out, source, business_connection_id)


def _owe_under_relay(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    text: str,
    source: tuple[int, int],
    business_connection_id: str | None,
) -> None:
    """A line that replies to the relay of ``source``, wherever that relay is when the
    line is sent: it may be on its way still (``care.owed.relay_on_its_way``), and one
    chat's owed messages go out in order, so it is settled by then."""
    assert services.staff_chat_id is not None
    owe_whole(
        session, now=services.clock.now(), purpose=Purpose.CONVERSATION,
        chat_id=services.staff_chat_id, text=text, customer_id=conversation.customer_id,
        conversation_id=conversation.id, to_topic=services.staff_forum, remember_as=RELAY,
        source=source, source_business_connection_id=business_connection_id,
        reply_to_source=True,
    )  # fmt: skip


async def owe_complaint_in_topic(
    session: AsyncSession, services: Services, loaded: ComplaintFacts
) -> None:
    """Forum mode: the complaint's card text also in its customer's topic (the card
    itself, with buttons, is in General)."""
    from handlers.staff_card import card_text as complaint_card_text

    chat = services.staff_chat_id
    if chat is None or not services.staff_forum:
        return
    conversation = await conversations.current_of(session, loaded.customer.id)
    if conversation is None:
        return
    with use_locale(services.default_locale):
        text = "📋 " + complaint_card_text(loaded, services.timezone)
    _owe_staff(session, services, conversation, _shorten(text, TEXT_LIMIT))


async def owe_complaint_change_in_topic(
    session: AsyncSession, services: Services, loaded: ComplaintFacts, change: ComplaintChange
) -> None:
    """Forum mode: a short line in the customer's topic when their complaint changes
    status or hands ("📋 C-…: in progress · 王丽"), pointing to the live card in General.

    A line rather than an edit of the card copy posted when it was filed: the topic is
    read from the bottom, and Telegram shows an edit far up a topic to nobody, so a
    changed copy would go unseen; the line lands where staff are reading, in order with
    the messages that caused it, and the card in General stays the one live card.
    """
    from handlers.staff_card import staff_status_label

    chat = services.staff_chat_id
    if chat is None or not services.staff_forum:
        return
    if not change.status_changed and change.event.type != ComplaintEventType.ASSIGNED.value:
        return
    complaint = loaded.complaint
    conversation = (
        await session.get(Conversation, complaint.conversation_id)
        if complaint.conversation_id is not None
        else await conversations.latest_of(session, loaded.customer.id)
    )
    if (
        conversation is None
        or await conversations.topic_of(session, loaded.customer.id, chat) is None
    ):
        return  # no topic to point from
    with use_locale(services.default_locale):
        text = _("📋 {number}: {status} · {assignee} (its card in General is up to date)").format(
            number=complaint.number, status=staff_status_label(complaint.status),
            assignee=staff_name(loaded.assignee),
        )  # fmt: skip
    _owe_staff(session, services, conversation, text, remember_as=NOTICE)


# --- the sender's side (bot.owed_jobs) --------------------------------------------------


async def topic_thread(session: AsyncSession, row: OwedMessage) -> int | None:
    """The thread a ``to_topic`` row goes to: its customer's topic (None: General)."""
    if not row.to_topic or row.customer_id is None:
        return None
    topic = await conversations.topic_of(session, row.customer_id, row.chat_id)
    return topic.thread_id if topic is not None else None


async def topic_request(
    session: AsyncSession, row: OwedMessage, services: Services, bot: Bot, read_timeout: float
) -> Request | None:
    """What makes the customer's topic show their conversation as it is now: create it
    (once), rename it, close or reopen it. None: it already does (or is gone)."""
    assert row.customer_id is not None
    topic = await conversations.topic_of(session, row.customer_id, row.chat_id)
    customer = await session.get(Customer, row.customer_id)
    conversation = (
        await session.get(Conversation, row.conversation_id) if row.conversation_id else None
    )
    if topic is None or customer is None or conversation is None:
        return None
    # The customer's newest conversation is what the topic shows.
    newest = await conversations.current_of(session, customer.id)
    if newest is not None and newest.id > conversation.id:
        conversation = newest
    with use_locale(services.default_locale):
        name = topic_name(conversation, customer)
    closed = conversation.status == S.CLOSED.value
    chat, topic_id, thread = row.chat_id, topic.id, topic.thread_id
    shown_name, shown_closed = topic.name, topic.closed
    if thread is not None and shown_name == name and shown_closed == closed:
        return None

    async def record(**fields: Any) -> None:
        async with services.sessionmaker.begin() as recording:
            await conversations.record_topic(recording, topic_id, **fields)

    # An earlier attempt failed: its createForumTopic may have made a topic all the same.
    retried, conversation_id, customer_id = row.last_error is not None, conversation.id, customer.id

    async def sync() -> None:
        nonlocal thread, shown_closed
        if thread is None:
            created = await bot.create_forum_topic(chat, name, read_timeout=read_timeout)
            thread = created.message_thread_id
            # At once, before anything else can fail: a retry must find it.
            await record(thread_id=thread, name=name, closed=False)
            shown_closed = False
            if retried:
                await lost_topics.find_lost_topics(
                    bot, services, chat, thread, customer_id, conversation_id, read_timeout
                )
        elif shown_name != name:
            await _unless_unchanged(
                bot.edit_forum_topic(chat, thread, name=name, read_timeout=read_timeout)
            )
            await record(name=name)
        if closed != shown_closed:
            if closed:
                await _unless_unchanged(
                    bot.close_forum_topic(chat, thread, read_timeout=read_timeout)
                )
            else:
                await _unless_unchanged(
                    bot.reopen_forum_topic(chat, thread, read_timeout=read_timeout)
                )
            await record(closed=closed)

    return sync


async def card_request(
    session: AsyncSession, row: OwedMessage, services: Services, bot: Bot, read_timeout: float
) -> Request | None:
    """The edit that makes the conversation's card show it as it is now (None: it has
    no card, e.g. opened by staff with /reply)."""
    assert row.conversation_id is not None
    found = await conversation_facts(session, row.conversation_id)
    card_id = await conversations.message_of(session, row.conversation_id, row.chat_id, CARD)
    if found is None or card_id is None:
        return None
    conversation, customer = found
    assignee = (
        await session.get(StaffMember, conversation.assignee_id)
        if conversation.assignee_id
        else None
    )
    with use_locale(services.default_locale):
        text = card_text(conversation, customer, assignee, services.timezone)
        markup = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label, callback_data=b.data) for b in line]
                for line in card_buttons(conversation)
            ]
        )
    chat = row.chat_id
    return lambda: bot.edit_message_text(
        text, chat, card_id, reply_markup=markup, read_timeout=read_timeout
    )


async def _unless_unchanged(request: Awaitable[Any]) -> None:
    """Telegram says TOPIC_NOT_MODIFIED when the topic already is so: that is done."""
    try:
        await request
    except BadRequest as error:
        if "not_modified" not in str(error).lower().replace(" ", "_"):
            raise


async def conversation_facts(
    session: AsyncSession, conversation_id: int
) -> tuple[Conversation, Customer] | None:
    """A conversation with its customer."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    return conversation, await session.get_one(Customer, conversation.customer_id)


__all__ = [
    "CARD",
    "NOTICE",
    "RELAY",
    "card_request",
    "card_text",
    "conversation_facts",
    "customer_name",
    "owe_complaint_change_in_topic",
    "owe_complaint_in_topic",
    "owe_edit",
    "owe_inbound",
    "owe_state",
    "owe_topic",
    "queue_line",
    "staff_chat_is_forum",
    "topic_name",
    "topic_request",
    "topic_thread",
]
