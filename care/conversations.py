"""Conversations: every customer message reaches a person (issue 11).

A conversation is one customer's open exchange with the company. The first message that
is not part of a dialogue or an open complaint opens it; the next ones continue it. Its
states are open → waiting for staff ⇄ waiting for the customer → closed (by staff, or
after a quiet time following the last staff answer: :func:`close_quiet`). Its
first-response and resolve deadlines come from the complaints' SLA policy (business
hours included), at normal priority. Every change is an append-only
:class:`~care.conversation_models.ConversationEvent`; lifecycle calls return a
:class:`Change`, or None when nothing changed (a second press), so callers tell people
exactly once.

Where staff see it (a forum topic per customer, or a card in a plain group) is the
business of ``handlers``; here are only the records: the customer's topic row
(:class:`StaffTopic`) and which staff-chat messages belong to which conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care import complaints, locks
from care.conversation_models import (
    Conversation,
    ConversationEvent,
    ConversationEventType,
    ConversationMessage,
    ConversationStatus,
    StaffTopic,
)
from care.models import Complaint, Customer, Priority, StaffMember
from care.sla import SlaPolicy
from care.triage import Triage

__all__ = [
    "Change",
    "Conversation",
    "ConversationEvent",
    "ConversationEventType",
    "ConversationStatus",
    "Inbound",
    "StaffTopic",
    "acknowledge",
    "add_note",
    "attach_complaint",
    "close",
    "close_quiet",
    "complaint_of",
    "copy_of",
    "current_of",
    "ensure_open",
    "events_of",
    "latest_of",
    "message_of",
    "message_owner",
    "open_conversations_of",
    "record_customer_edit",
    "record_customer_message",
    "record_staff_answer",
    "record_topic",
    "record_unreachable",
    "remember_message",
    "take",
    "to_complaint",
    "topic_by_thread",
    "topic_of",
    "topic_row",
    "topic_threads",
]

S = ConversationStatus
E = ConversationEventType
OPEN = (S.OPEN.value, S.WAITING_STAFF.value, S.WAITING_CUSTOMER.value)


@dataclass(frozen=True)
class Change:
    """What a call did: the event recorded and the status before and after."""

    conversation: Conversation
    event: ConversationEvent
    from_status: ConversationStatus
    to_status: ConversationStatus

    @property
    def status_changed(self) -> bool:
        return self.from_status is not self.to_status


@dataclass(frozen=True)
class Inbound:
    """What a customer's message did to their conversation.

    ``opened``: it opened the conversation (the customer is told when we will answer);
    ``closed_until``: we are out of hours and the customer has not been told so in this
    conversation yet: when we open again.
    """

    change: Change
    opened: bool
    closed_until: datetime | None


def _event(
    session: AsyncSession,
    conversation: Conversation,
    kind: ConversationEventType,
    now: datetime,
    *,
    staff: StaffMember | None = None,
    by_customer: bool = False,
    from_status: ConversationStatus | None = None,
    to_status: ConversationStatus | None = None,
    message_kind: str | None = None,
    note: str | None = None,
) -> ConversationEvent:
    event = ConversationEvent(
        conversation_id=conversation.id, at=now, type=kind.value,
        staff_id=staff.id if staff else None, by_customer=by_customer,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        message_kind=message_kind, note=note,
    )  # fmt: skip
    session.add(event)
    conversation.updated_at = now
    return event


def _change(
    session: AsyncSession,
    conversation: Conversation,
    kind: ConversationEventType,
    to: ConversationStatus,
    now: datetime,
    **fields: object,
) -> Change:
    before = S(conversation.status)
    conversation.status = to.value
    event = _event(
        session, conversation, kind, now, from_status=before, to_status=to,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip
    return Change(conversation, event, before, to)


async def current_of(session: AsyncSession, customer_id: int) -> Conversation | None:
    """The customer's conversation that is not closed, if any (the newest)."""
    return await session.scalar(
        select(Conversation)
        .where(Conversation.customer_id == customer_id, Conversation.status.in_(OPEN))
        .order_by(Conversation.id.desc())
        .limit(1)
    )


async def latest_of(session: AsyncSession, customer_id: int) -> Conversation | None:
    """The customer's newest conversation, closed or not."""
    return await session.scalar(
        select(Conversation)
        .where(Conversation.customer_id == customer_id)
        .order_by(Conversation.id.desc())
        .limit(1)
    )


async def open_conversations_of(session: AsyncSession, customer_id: int) -> list[Conversation]:
    """The customer's conversations that are not closed, newest first."""
    return list(
        (
            await session.scalars(
                select(Conversation)
                .where(Conversation.customer_id == customer_id, Conversation.status.in_(OPEN))
                .order_by(Conversation.id.desc())
            )
        ).all()
    )


async def record_customer_message(
    session: AsyncSession,
    customer: Customer,
    message_kind: str,
    text: str | None,
    policy: SlaPolicy,
    now: datetime,
) -> Inbound:
    """Put a customer's message into their conversation, opening one if none is open.

    Args:
        session: The caller's transaction.
        customer: Who wrote.
        message_kind: What they sent (a ``care.models.ContactKind`` value).
        text: Its words (a caption for media), if any.
        policy: The SLA policy: deadlines, and the business hours for "we are closed".
        now: When it arrived.

    Returns:
        What the message did (:class:`Inbound`).
    """
    conversation = await current_of(session, customer.id)
    opened = conversation is None
    if conversation is None:
        conversation = Conversation(
            customer_id=customer.id, status=S.OPEN.value, opened_at=now, updated_at=now,
            first_response_due_at=policy.acknowledge_due(now, Priority.NORMAL),
            resolve_due_at=policy.resolve_due(now, Priority.NORMAL),
        )  # fmt: skip
        session.add(conversation)
        await session.flush()
        _event(session, conversation, E.OPENED, now, by_customer=True, to_status=S.OPEN)
    conversation.last_customer_message_at = now
    if conversation.status == S.WAITING_CUSTOMER.value:
        change = _change(
            session, conversation, E.CUSTOMER_MESSAGE, S.WAITING_STAFF, now,
            by_customer=True, message_kind=message_kind, note=text,
        )  # fmt: skip
    else:
        status = S(conversation.status)
        event = _event(
            session, conversation, E.CUSTOMER_MESSAGE, now,
            by_customer=True, message_kind=message_kind, note=text,
        )  # fmt: skip
        change = Change(conversation, event, status, status)
    closed_until = None
    hours = policy.business_hours
    if hours is not None and conversation.out_of_hours_told_at is None and not hours.is_open(now):
        closed_until = hours.next_opening(now)
        conversation.out_of_hours_told_at = now
        _event(session, conversation, E.OUT_OF_HOURS, now, note=closed_until.isoformat())
    await session.flush()
    return Inbound(change, opened, closed_until)


async def customer_messages(session: AsyncSession, conversation: Conversation) -> int:
    """How many messages the customer has written in the conversation so far."""
    found = await session.scalar(
        select(func.count())
        .select_from(ConversationEvent)
        .where(
            ConversationEvent.conversation_id == conversation.id,
            ConversationEvent.type == E.CUSTOMER_MESSAGE.value,
        )
    )
    return int(found or 0)


async def record_customer_edit(
    session: AsyncSession, conversation: Conversation, text: str | None, now: datetime
) -> ConversationEvent:
    """Note that the customer edited one of their messages in the conversation."""
    event = _event(session, conversation, E.CUSTOMER_EDIT, now, by_customer=True, note=text)
    await session.flush()
    return event


async def record_customer_delete(
    session: AsyncSession, conversation: Conversation, now: datetime
) -> ConversationEvent:
    """Note that the customer deleted one of their messages in the conversation (their
    words stay on the record, as what they said)."""
    event = _event(session, conversation, E.CUSTOMER_DELETE, now, by_customer=True)
    await session.flush()
    return event


async def record_staff_answer(
    session: AsyncSession,
    conversation: Conversation,
    staff: StaffMember,
    message_kind: str,
    note: str,
    now: datetime,
) -> Change:
    """Record a staff answer the customer now has: their turn now (a closed
    conversation answered again is open again), the first response timed."""
    if conversation.first_response_at is None:
        conversation.first_response_at = now
    if conversation.acknowledged_at is None:
        conversation.acknowledged_at = now
    conversation.last_staff_answer_at = now
    change = _change(
        session, conversation, E.STAFF_ANSWER, S.WAITING_CUSTOMER, now,
        staff=staff, message_kind=message_kind, note=note,
    )  # fmt: skip
    conversation.closed_at = conversation.closed_by = None
    await session.flush()
    return change


async def add_note(
    session: AsyncSession, conversation: Conversation, staff: StaffMember, note: str, now: datetime
) -> ConversationEvent:
    """An internal note: on the record, never shown to the customer."""
    event = _event(session, conversation, E.NOTE, now, staff=staff, note=note)
    await session.flush()
    return event


async def acknowledge(
    session: AsyncSession, conversation: Conversation, staff: StaffMember, now: datetime
) -> Change | None:
    """Staff have seen it: open → waiting for staff. None if it was not open."""
    if conversation.status != S.OPEN.value:
        return None
    conversation.acknowledged_at = now
    change = _change(session, conversation, E.STATUS, S.WAITING_STAFF, now, staff=staff)
    await session.flush()
    return change


async def take(
    session: AsyncSession, conversation: Conversation, staff: StaffMember, now: datetime
) -> Change | None:
    """Staff member ``staff`` takes it on (acknowledging an open one). None if it is
    already theirs or closed."""
    if conversation.status == S.CLOSED.value or conversation.assignee_id == staff.id:
        return None
    conversation.assignee_id = staff.id
    before = S(conversation.status)
    after = S.WAITING_STAFF if before is S.OPEN else before
    if conversation.acknowledged_at is None:
        conversation.acknowledged_at = now
    conversation.status = after.value
    event = _event(
        session, conversation, E.ASSIGNED, now, staff=staff, from_status=before, to_status=after,
        note=str(staff.id),
    )  # fmt: skip
    await session.flush()
    return Change(conversation, event, before, after)


async def close(
    session: AsyncSession, conversation: Conversation, staff: StaffMember | None, now: datetime
) -> Change | None:
    """Close it (``staff`` None: carebot, after the quiet time). None if already closed."""
    if conversation.status == S.CLOSED.value:
        return None
    conversation.closed_at = now
    conversation.closed_by = staff.id if staff else None
    change = _change(session, conversation, E.STATUS, S.CLOSED, now, staff=staff)
    await session.flush()
    return change


async def record_unreachable(
    session: AsyncSession, conversation: Conversation, now: datetime
) -> None:
    """An answer could not reach the customer: they blocked the bot."""
    _event(session, conversation, E.UNREACHABLE, now)
    await session.flush()


async def to_complaint(
    session: AsyncSession,
    conversation: Conversation,
    staff: StaffMember,
    category: str,
    priority: Priority,
    policy: SlaPolicy,
    triage: Triage,
    now: datetime,
    timezone: str,
) -> Complaint:
    """File a complaint from the conversation: the customer's words are its description,
    staff chose its category and priority, and it belongs to the conversation.

    Raises:
        complaints.Refused: The conversation has no words of the customer to file.
    """
    customer = await session.get_one(Customer, conversation.customer_id)
    words = [
        event.note
        for event in await events_of(session, conversation.id)
        if event.type == E.CUSTOMER_MESSAGE.value and event.note
    ]
    draft = await complaints.start_draft(session, customer, now)
    complaints.set_category(draft, category)
    complaints.set_description(draft, "\n".join(words))
    complaint = await complaints.file_complaint(session, draft, policy, triage, now, timezone)
    complaint.conversation_id = conversation.id
    if complaint.priority != priority.value:
        complaint.priority = priority.value
        complaint.acknowledge_due_at = policy.acknowledge_due(now, priority)
        complaint.resolve_due_at = policy.resolve_due(now, priority)
    _event(session, conversation, E.COMPLAINT, now, staff=staff, note=str(complaint.id))
    await session.flush()
    return complaint


async def events_of(session: AsyncSession, conversation_id: int) -> list[ConversationEvent]:
    """The conversation's history, oldest first."""
    return list(
        (
            await session.scalars(
                select(ConversationEvent)
                .where(ConversationEvent.conversation_id == conversation_id)
                .order_by(ConversationEvent.id)
            )
        ).all()
    )


# --- the quiet-time close (the deadlines: care.conversation_deadlines) ---------------


async def close_quiet(session: AsyncSession, quiet: timedelta, now: datetime) -> list[Change]:
    """Close the conversations waiting for the customer with nothing said since
    ``quiet`` after the last staff answer."""
    stale = (
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.status == S.WAITING_CUSTOMER.value,
                Conversation.last_staff_answer_at <= now - quiet,
            )
            .order_by(Conversation.id)
            .limit(200)
            .with_for_update(skip_locked=True)
        )
    ).all()
    closed = []
    for conversation in stale:
        change = await close(session, conversation, None, now)
        if change is not None:
            closed.append(change)
    return closed


# --- the staff chat's messages and topics ---------------------------------------------


async def remember_message(
    session: AsyncSession,
    conversation_id: int,
    chat_id: int,
    message_id: int,
    purpose: str,
    now: datetime,
    source_message_id: int | None = None,
    source_business_connection_id: str | None = None,
) -> None:
    """Note that a staff-chat message belongs to a conversation (for replies to it), and
    which customer message it shows, in which of their chats (the Business chat of
    ``source_business_connection_id``, or their chat with the bot)."""
    # One statement: a message already filed (a repeat of its settling) stays as it is.
    await session.execute(
        locks.insert_once(session, ConversationMessage, ["chat_id", "message_id"]),
        {
            "conversation_id": conversation_id, "chat_id": chat_id, "message_id": message_id,
            "purpose": purpose, "source_message_id": source_message_id,
            "source_business_connection_id": source_business_connection_id, "created_at": now,
        },
    )  # fmt: skip


async def message_owner(
    session: AsyncSession, chat_id: int, message_id: int
) -> Conversation | None:
    """The conversation a staff-chat message belongs to."""
    return await session.scalar(
        select(Conversation)
        .join(ConversationMessage, ConversationMessage.conversation_id == Conversation.id)
        .where(ConversationMessage.chat_id == chat_id, ConversationMessage.message_id == message_id)
    )


async def message_of(
    session: AsyncSession, conversation_id: int, chat_id: int, purpose: str
) -> int | None:
    """The id of the conversation's first message in ``chat_id`` filed as ``purpose``."""
    return await session.scalar(
        select(ConversationMessage.message_id)
        .where(
            ConversationMessage.conversation_id == conversation_id,
            ConversationMessage.chat_id == chat_id,
            ConversationMessage.purpose == purpose,
        )
        .order_by(ConversationMessage.id)
        .limit(1)
    )


async def copy_of(
    session: AsyncSession,
    customer_id: int,
    chat_id: int,
    source_message_id: int,
    business_connection_id: str | None = None,
) -> tuple[Conversation, int] | None:
    """Where the customer's message ``source_message_id`` was shown in ``chat_id``: its
    conversation and the message id there.

    ``business_connection_id``: the message is in the customer's chat with that Business
    account (None: in their chat with the bot; the two number their messages apart).
    """
    source_chat = (
        ConversationMessage.source_business_connection_id.is_(None)
        if business_connection_id is None
        else ConversationMessage.source_business_connection_id == business_connection_id
    )
    row = (
        await session.execute(
            select(Conversation, ConversationMessage.message_id)
            .join(ConversationMessage, ConversationMessage.conversation_id == Conversation.id)
            .where(
                Conversation.customer_id == customer_id,
                ConversationMessage.chat_id == chat_id,
                ConversationMessage.source_message_id == source_message_id,
                source_chat,
            )
            .order_by(ConversationMessage.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], int(row[1]))


async def topic_row(
    session: AsyncSession, customer_id: int, chat_id: int, now: datetime
) -> tuple[StaffTopic, bool]:
    """The customer's topic in ``chat_id``, made (without a thread yet) if there is none.

    Returns:
        The row and whether it was just made.
    """
    topic = await topic_of(session, customer_id, chat_id)
    if topic is not None:
        return topic, False
    topic = StaffTopic(customer_id=customer_id, chat_id=chat_id, closed=False, created_at=now)
    session.add(topic)
    await session.flush()
    return topic, True


async def topic_of(session: AsyncSession, customer_id: int, chat_id: int) -> StaffTopic | None:
    """The customer's topic in ``chat_id``, if one was ever owed."""
    return await session.scalar(
        select(StaffTopic).where(
            StaffTopic.customer_id == customer_id, StaffTopic.chat_id == chat_id
        )
    )


async def topic_by_thread(session: AsyncSession, chat_id: int, thread_id: int) -> StaffTopic | None:
    """The customer topic that is thread ``thread_id`` of ``chat_id``."""
    return await session.scalar(
        select(StaffTopic).where(StaffTopic.chat_id == chat_id, StaffTopic.thread_id == thread_id)
    )


async def topic_threads(session: AsyncSession, chat_id: int) -> set[int]:
    """The thread ids of every customer topic known in ``chat_id``."""
    found = await session.scalars(
        select(StaffTopic.thread_id).where(
            StaffTopic.chat_id == chat_id, StaffTopic.thread_id.is_not(None)
        )
    )
    return {int(thread) for thread in found.all() if thread is not None}


async def record_topic(
    session: AsyncSession,
    topic_id: int,
    *,
    thread_id: int | None = None,
    name: str | None = None,
    closed: bool | None = None,
) -> None:
    """Record what Telegram now shows of a topic (its thread, name, closed state)."""
    topic = await session.get_one(StaffTopic, topic_id, populate_existing=True)
    if thread_id is not None:
        topic.thread_id = thread_id
    if name is not None:
        topic.name = name
    if closed is not None:
        topic.closed = closed


async def attach_complaint(session: AsyncSession, complaint: Complaint, now: datetime) -> None:
    """A complaint filed during a conversation belongs to it (and the conversation's
    history says so)."""
    conversation = await current_of(session, complaint.customer_id)
    if conversation is None:
        return
    complaint.conversation_id = conversation.id
    _event(session, conversation, E.COMPLAINT, now, by_customer=True, note=str(complaint.id))
    await session.flush()


async def complaint_of(session: AsyncSession, conversation_id: int) -> Complaint | None:
    """The complaint filed from (or during) the conversation, the newest if several."""
    return await session.scalar(
        select(Complaint)
        .where(Complaint.conversation_id == conversation_id)
        .order_by(Complaint.id.desc())
        .limit(1)
    )


async def ensure_open(
    session: AsyncSession, customer: Customer, policy: SlaPolicy, now: datetime
) -> Conversation:
    """The customer's conversation that is not closed; one opened by staff if none is
    (staff writing first, with ``/reply``)."""
    conversation = await current_of(session, customer.id)
    if conversation is not None:
        return conversation
    conversation = Conversation(
        customer_id=customer.id, status=S.WAITING_STAFF.value, opened_at=now, updated_at=now,
        acknowledged_at=now, first_response_due_at=policy.acknowledge_due(now, Priority.NORMAL),
        resolve_due_at=policy.resolve_due(now, Priority.NORMAL),
    )  # fmt: skip
    session.add(conversation)
    await session.flush()
    _event(session, conversation, E.OPENED, now, to_status=S.WAITING_STAFF)
    await session.flush()
    return conversation
