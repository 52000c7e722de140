"""Erasure (/forget): everything that names a customer or carries their words goes.

What stays is what the reports need and nothing else: an anonymous customer row (its id,
type, stage, language, creation, onboarding, last-contact and erasure times) so churn
and counts stay right; contacts reduced to direction, kind and time; complaints with
their number, category, status, priority, times, SLA outcomes and ratings (the numbers);
the complaint history's kinds, times, statuses and codes (who of the staff, which SLA
stage, which rating), without a word of text; purchases reduced to their time; care
messages (outbox rows) with their state and times. docs/architecture.md, "Data
protection", lists it column by column.

Telegram's side (the staff chats still show the customer's words) is owed in the same
transaction: :func:`forget_customer` says which complaints' cards to show again and which
chats showed the customer's words, and :func:`owe_staff_erasure` owes each of those chats
an ``erase`` (``care.owed``). What it deletes is found when it is sent
(:func:`staff_copies`: the customer's forum topics, every recorded copy of their words,
and every message about them that staff wrote or the bot answered them with, recorded
as a ``CustomerMention`` by ``care.mentions``; the complaint cards stay, rendered from
the erased complaint), so that a copy still on the wire at the erasure, recorded after
it, goes too: the sender sends a chat's rows in order, and the erase is the newest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.complaints import is_open, status_of
from care.conversation_models import (
    Conversation,
    ConversationEvent,
    ConversationEventType,
    ConversationMessage,
    ConversationStatus,
    StaffTopic,
)
from care.customers import set_birthday
from care.faq_models import FaqEvent
from care.inbox_models import InboxChatOwner, InboxState, InboxUpdate
from care.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintEventType,
    ComplaintMessage,
    ComplaintRating,
    ComplaintStatus,
    Contact,
    Customer,
    CustomerMention,
    CustomerTag,
    Outbox,
    OutboxState,
    OwedMessage,
    OwedState,
    Purchase,
)
from care.outbox import SkipReason
from care.owed import Kind, Purpose, owe

# History events whose note is a code, not anybody's words: kept after erasure.
_CODE_NOTES = frozenset(
    {
        ComplaintEventType.ASSIGNED.value,  # a staff member's id
        ComplaintEventType.PRIORITY.value,  # a priority
        ComplaintEventType.SLA_WARNING.value,  # an SLA stage
        ComplaintEventType.SLA_BREACH.value,
        ComplaintEventType.RATING.value,  # 1-5
    }
)

# Conversation events whose note is a code: a staff member's id, a complaint's id, a
# time, an SLA stage.
_CONVERSATION_CODE_NOTES = frozenset(
    {
        ConversationEventType.ASSIGNED.value,
        ConversationEventType.COMPLAINT.value,
        ConversationEventType.OUT_OF_HOURS.value,
        ConversationEventType.SLA_WARNING.value,  # an SLA stage
        ConversationEventType.SLA_BREACH.value,
    }
)

# complaint_message purposes of messages in staff chats that show the customer's words
# and are deleted; the card ("alert") stays, edited to show the erased complaint.
_RELAY = "relay"  # quotes the customer
_MENTION = "mention"  # an alert about the complaint, which may name the customer
# A message to the customer in their private chat: its row names their chat.
_TO_CUSTOMER = "customer"


@dataclass(frozen=True)
class ClosedComplaint:
    """An open complaint that the erasure closed."""

    complaint_id: int
    number: str | None
    was: ComplaintStatus


@dataclass(frozen=True)
class Erasure:
    """What :func:`forget_customer` did."""

    customer_id: int
    complaint_ids: tuple[int, ...]
    """The filed complaints it stripped of text (their cards must be shown again)."""
    closed: tuple[ClosedComplaint, ...]
    """Open complaints it closed (staff must be told)."""
    staff_chats: tuple[int, ...]
    """Chats (never the customer's) that show, or will show, copies of their words."""
    care_messages_skipped: int
    """Care messages still waiting to be sent that will not be."""


async def forget_customer(session: AsyncSession, customer: Customer, now: datetime) -> Erasure:
    """Erase a customer's personal data (PIPL art. 47, GDPR art. 17), keeping counts.

    In the caller's transaction: the customer row loses every identifying column
    (Telegram ids, names, phone, birthday, time zone) and their consent; contacts lose
    text and message ids; every complaint loses description, reference, resolution and
    rating comment, each of its ratings its comment, its history every free text (the
    customer's messages, staff replies and notes, resolution notes), its attachments and
    the record of messages in the customer's private chat; the questions the FAQ handed
    to staff lose their words; messages owed about them
    (``care.owed``) lose their words and files, those to their private chat are deleted
    and those still waiting are dropped, but for cards (rendered from the erased
    complaint); an open complaint is closed, with an ``erased`` event (the customer,
    from its status to closed); an unfinished draft is deleted; purchases lose product
    and reference; tags are deleted; care messages lose their Telegram message id, and
    those still waiting are skipped as ``forgotten``. A second call finds nothing more
    to erase and closes nothing.

    Args:
        session: the caller's session; flushed, never committed.
        customer: the customer to forget.
        now: the erasure time.

    Returns:
        What was done, with the chats that showed the customer's words: the caller owes
        their clearing (:func:`owe_staff_erasure`), after whatever else it owes them.
    """
    private_chats = {c for c in (customer.chat_id, customer.telegram_user_id) if c is not None}
    await _forget_received_updates(session, private_chats)
    await session.execute(
        delete(Complaint).where(
            Complaint.customer_id == customer.id, Complaint.status == ComplaintStatus.DRAFT.value
        )
    )
    filed = list(
        (
            await session.scalars(
                select(Complaint).where(Complaint.customer_id == customer.id).order_by(Complaint.id)
            )
        ).all()
    )
    ids = [complaint.id for complaint in filed]
    closed = [_close(session, complaint, now) for complaint in filed if is_open(complaint)]
    for complaint in filed:
        complaint.description = complaint.reference = None
        complaint.resolution = complaint.rating_comment = None
    staff_chats = await _staff_chats(session, customer.id, private_chats)
    if ids:
        await session.execute(
            update(ComplaintEvent)
            .where(
                ComplaintEvent.complaint_id.in_(ids),
                ComplaintEvent.type.not_in(_CODE_NOTES),
                ComplaintEvent.note.is_not(None),
            )
            .values(note=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(ComplaintRating)
            .where(ComplaintRating.complaint_id.in_(ids))
            .values(comment=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(ComplaintAttachment).where(ComplaintAttachment.complaint_id.in_(ids))
        )
        await session.execute(
            delete(ComplaintMessage).where(
                ComplaintMessage.complaint_id.in_(ids),
                or_(
                    ComplaintMessage.purpose == _TO_CUSTOMER,
                    ComplaintMessage.chat_id.in_(private_chats),
                ),
            )
        )
    await _strip_owed_messages(session, customer.id, ids, private_chats)
    # Never kept in their own chat; were one, its row would name it (their Telegram id).
    await session.execute(
        delete(CustomerMention)
        .where(
            CustomerMention.customer_id == customer.id, CustomerMention.chat_id.in_(private_chats)
        )
        .execution_options(synchronize_session=False)
    )
    await _strip_conversations(session, customer.id, now)
    # The questions the FAQ handed to staff (kept for teaching, ``care.faq_teaching``);
    # phrasings staff taught from them are the company's and stay (docs/faq.md).
    await session.execute(
        update(FaqEvent)
        .where(FaqEvent.customer_id == customer.id, FaqEvent.question.is_not(None))
        .values(question=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Purchase)
        .where(Purchase.customer_id == customer.id)
        .values(product=None, reference=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(CustomerTag).where(CustomerTag.customer_id == customer.id))
    skipped = await session.execute(
        update(Outbox)
        .where(Outbox.customer_id == customer.id, Outbox.state == OutboxState.PENDING.value)
        .values(state=OutboxState.SKIPPED.value, last_error=SkipReason.FORGOTTEN.value)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Outbox)
        .where(Outbox.customer_id == customer.id)
        .values(telegram_message_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Contact)
        .where(Contact.customer_id == customer.id)
        .values(text=None, telegram_message_id=None)
        .execution_options(synchronize_session=False)
    )
    _anonymize(customer, now)
    await session.flush()
    return Erasure(
        customer_id=customer.id,
        complaint_ids=tuple(ids),
        closed=tuple(closed),
        staff_chats=staff_chats,
        care_messages_skipped=int(getattr(skipped, "rowcount", 0) or 0),
    )


async def _strip_owed_messages(
    session: AsyncSession, customer_id: int, complaint_ids: list[int], private_chats: set[int]
) -> None:
    """Messages carebot owes about the customer (``care.owed``): those still waiting are
    not sent (a card, rendered when it is sent, still is: it shows the erased complaint);
    none keeps words, files or the customer's chat."""
    about = or_(OwedMessage.customer_id == customer_id, OwedMessage.complaint_id.in_(complaint_ids))
    await session.execute(
        update(OwedMessage)
        .where(
            about,
            OwedMessage.state == OwedState.PENDING.value,
            OwedMessage.kind.not_in([Kind.CARD.value, Kind.CARD_EDIT.value]),
        )
        .values(state=OwedState.DROPPED.value, last_error=SkipReason.FORGOTTEN.value)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OwedMessage)
        .where(about)
        .values(text=None, file_id=None, note=None, source_chat_id=None, source_message_id=None)
        .execution_options(synchronize_session=False)
    )
    # A message to the customer's private chat names it (its id is their Telegram id).
    await session.execute(
        delete(OwedMessage)
        .where(
            about,
            or_(
                OwedMessage.chat_id.in_(private_chats),
                OwedMessage.fallback_chat_id.in_(private_chats),
            ),
        )
        .execution_options(synchronize_session=False)
    )


async def _forget_received_updates(session: AsyncSession, private_chats: set[int]) -> None:
    """The durable inbox (``bot.inbox``) keeps each update as Telegram sent it, names and
    words included: the customer's handled ones go, and so does the one being handled
    (the /forget itself). Updates not yet taken are new messages, handled as such. The
    chat's owner row (which worker handles it) goes too: its key is the Telegram id."""
    if not private_chats:
        return
    await session.execute(
        delete(InboxUpdate)
        .where(
            InboxUpdate.chat_key.in_(private_chats),
            or_(
                InboxUpdate.state != InboxState.PENDING.value,
                InboxUpdate.claimed_by.is_not(None),
            ),
        )
        .execution_options(synchronize_session=False)
    )
    # Which worker handles the chat (several instances) names the chat too.
    await session.execute(
        delete(InboxChatOwner)
        .where(InboxChatOwner.chat_key.in_(private_chats))
        .execution_options(synchronize_session=False)
    )


async def _strip_conversations(session: AsyncSession, customer_id: int, now: datetime) -> None:
    """Their conversations (``care.conversations``) keep their times and statuses (open
    ones are closed) and their events' kinds and times; no words, and their topics no
    name."""
    ids = select(Conversation.id).where(Conversation.customer_id == customer_id)
    await session.execute(
        update(ConversationEvent)
        .where(
            ConversationEvent.conversation_id.in_(ids),
            ConversationEvent.type.not_in(_CONVERSATION_CODE_NOTES),
        )
        .values(note=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Conversation)
        .where(Conversation.customer_id == customer_id, Conversation.closed_at.is_(None))
        .values(status=ConversationStatus.CLOSED.value, closed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(StaffTopic)
        .where(StaffTopic.customer_id == customer_id)
        .values(name=None)
        .execution_options(synchronize_session=False)
    )


def _close(session: AsyncSession, complaint: Complaint, now: datetime) -> ClosedComplaint:
    """Close an open complaint because its customer is gone, bypassing the lifecycle.

    No ordinary move leads from an open status to closed (a complaint is resolved first),
    and this is no resolution: ``resolved_at`` and the on-time outcome stay unset, so the
    timeliness rate does not count it as solved.
    """
    was = status_of(complaint)
    complaint.status = ComplaintStatus.CLOSED.value
    complaint.closed_at = complaint.updated_at = now
    session.add(
        ComplaintEvent(
            complaint_id=complaint.id, at=now, type=ComplaintEventType.ERASED.value,
            by_customer=True, from_status=was.value, to_status=ComplaintStatus.CLOSED.value,
        )
    )  # fmt: skip
    return ClosedComplaint(complaint.id, complaint.number, was)


async def _staff_chats(
    session: AsyncSession, customer_id: int, private_chats: set[int]
) -> tuple[int, ...]:
    """Where copies of the customer's words are, or may land: every chat with a recorded
    copy or a topic of theirs, and those of messages about them on the wire right now."""
    queries = (
        select(ConversationMessage.chat_id).where(_their_conversations(customer_id)),
        select(ComplaintMessage.chat_id).where(*_their_complaint_copies(customer_id)),
        select(StaffTopic.chat_id).where(StaffTopic.customer_id == customer_id),
        select(CustomerMention.chat_id).where(CustomerMention.customer_id == customer_id),
        select(OwedMessage.chat_id).where(
            OwedMessage.customer_id == customer_id, OwedMessage.state == OwedState.SENDING.value
        ),
    )
    chats: set[int] = set()
    for query in queries:
        chats.update((await session.scalars(query.distinct())).all())
    return tuple(sorted(chats - private_chats))


def owe_staff_erasure(session: AsyncSession, erasure: Erasure, now: datetime) -> None:
    """Owe each chat that showed the customer's words their clearing (kind ``erase``):
    in the erasure's transaction, after whatever else is owed to those chats."""
    for chat_id in erasure.staff_chats:
        owe(
            session, now=now, purpose=Purpose.ERASURE, kind=Kind.ERASE, chat_id=chat_id,
            customer_id=erasure.customer_id,
        )  # fmt: skip


@dataclass(frozen=True)
class StaffCopies:
    """What a chat still shows of a forgotten customer."""

    topics: tuple[tuple[int, int | None], ...]
    """Their forum topics: (``StaffTopic`` id, thread id or None if never made)."""
    message_ids: tuple[int, ...]
    """The bot's messages with their words or name: copies, relays, cards of their
    conversations, alerts naming them, answers to commands about them (not their
    complaints' cards, which show the erased complaint)."""
    old_ids: tuple[int, ...] = ()
    """Those of them (and of ``staff_ids``) sent before ``sent_before``: too old to
    delete, most likely."""
    staff_ids: tuple[int, ...] = ()
    """Staff members' messages about them (answers, notes, commands naming them): the
    bot may delete them where it has the right to, never edit them."""


def _their_conversations(customer_id: int) -> ColumnElement[bool]:
    return ConversationMessage.conversation_id.in_(
        select(Conversation.id).where(Conversation.customer_id == customer_id)
    )


def _their_complaint_copies(customer_id: int) -> tuple[ColumnElement[bool], ...]:
    return (
        ComplaintMessage.complaint_id.in_(
            select(Complaint.id).where(Complaint.customer_id == customer_id)
        ),
        ComplaintMessage.purpose.in_([_RELAY, _MENTION]),
    )


async def staff_copies(
    session: AsyncSession, customer_id: int, chat_id: int, sent_before: datetime | None = None
) -> StaffCopies:
    """What ``chat_id`` still shows of the customer, as recorded (oldest first); those
    recorded before ``sent_before`` are also in ``old_ids``."""
    topics = (
        await session.execute(
            select(StaffTopic.id, StaffTopic.thread_id)
            .where(StaffTopic.customer_id == customer_id, StaffTopic.chat_id == chat_id)
            .order_by(StaffTopic.id)
        )
    ).all()
    conversation = await session.execute(
        select(ConversationMessage.message_id, ConversationMessage.created_at).where(
            _their_conversations(customer_id), ConversationMessage.chat_id == chat_id
        )
    )
    complaint = await session.execute(
        select(ComplaintMessage.message_id, ComplaintMessage.created_at).where(
            *_their_complaint_copies(customer_id), ComplaintMessage.chat_id == chat_id
        )
    )
    mentions = (
        await session.execute(
            select(
                CustomerMention.message_id, CustomerMention.created_at, CustomerMention.by_staff
            ).where(CustomerMention.customer_id == customer_id, CustomerMention.chat_id == chat_id)
        )
    ).all()
    sent = {int(i): at for i, at in [*conversation.all(), *complaint.all()]}
    sent.update({int(m.message_id): m.created_at for m in mentions if not m.by_staff})
    by_staff = {int(m.message_id): m.created_at for m in mentions if m.by_staff}
    old = [
        i
        for i, at in [*sent.items(), *by_staff.items()]
        if sent_before is not None and at < sent_before
    ]
    return StaffCopies(
        tuple((t.id, t.thread_id) for t in topics), tuple(sorted(sent)), tuple(sorted(set(old))),
        tuple(sorted(by_staff)),
    )  # fmt: skip


async def forget_copies(session: AsyncSession, chat_id: int, message_ids: Sequence[int]) -> None:
    """The messages ``message_ids`` of ``chat_id`` are gone (or say nothing any more)."""
    if not message_ids:
        return
    for model in (ConversationMessage, ComplaintMessage, CustomerMention):
        await session.execute(
            delete(model)
            .where(model.chat_id == chat_id, model.message_id.in_(list(message_ids)))
            .execution_options(synchronize_session=False)
        )


async def forget_topic(session: AsyncSession, topic_id: int) -> None:
    """The customer's topic is gone (or was never made)."""
    await session.execute(
        delete(StaffTopic)
        .where(StaffTopic.id == topic_id)
        .execution_options(synchronize_session=False)
    )


def _anonymize(customer: Customer, now: datetime) -> None:
    customer.telegram_user_id = None
    customer.chat_id = None
    customer.first_name = customer.last_name = customer.username = customer.phone = None
    customer.timezone = None
    customer.ended_reason = None  # why the company ended it may say who they are
    set_birthday(customer, None)
    customer.consent_care = False
    customer.consent_changed_at = now
    customer.erased_at = now
