"""Messages carebot owes someone, kept in the database until Telegram has them.

A change that someone must hear about (a complaint filed: its card for staff and its
number for the customer; a status change: the customer's notice and the card's edit; a
customer's message: its relay to staff and the customer's acknowledgement; a staff
reply; an alert) writes :class:`~care.models.OwedMessage` rows **in the transaction of
the change**. Either both are committed or neither is. ``bot.owed_jobs`` delivers the
rows after the commit, with retries and backoff, so a failing Telegram or a crash delays
a message but never loses it.

Rules the sender keeps, through the functions here:

- One chat's messages go out in the order they were owed (:func:`claim_due` takes a row
  only when nothing older to the same chat is unsettled): a relay never overtakes the
  card it replies to.
- A row is claimed (``sending``) and committed before its request goes out. Rows that a
  dead sender left ``sending`` go back to ``pending`` (:func:`recover_in_flight`): the
  message may have arrived already, and is sent again. Owed messages are at least once:
  losing a resolution or a customer's words is worse than showing one twice, and it can
  only happen for the single message in flight when the process died (or timed out).
- A card whose message id is unknown (its post failed, or timed out) is posted again;
  an edit owed while the card's post is still owed is dropped, since the card is rendered
  when it is sent and shows the current truth anyway.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from care import complaints, conversations, locks, mentions
from care.models import Complaint, OwedMessage, OwedState

__all__ = [
    "CAPTIONLESS",
    "CUSTOMER_BOUND",
    "FILE_KINDS",
    "Button",
    "CustomerDelivery",
    "Kind",
    "Purpose",
    "claim_due",
    "drop",
    "drop_the_rest",
    "hold_sender_lock",
    "last_customer_delivery",
    "mark_failed",
    "mark_sent",
    "newest_sent_message_id",
    "owe",
    "owe_card",
    "owe_card_edit",
    "prune",
    "recover_in_flight",
    "retry_later",
    "unsettled",
]

# Give up on a row after this many attempts (with backoff that is about a day): staff
# are told that it could not be delivered.
MAX_ATTEMPTS = 40


class Kind(enum.StrEnum):
    TEXT = "text"
    # A Telegram file sent by its id (the bot may send any file it received), with the
    # text as caption where Telegram takes one.
    PHOTO = "photo"
    DOCUMENT = "document"
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO = "video"
    ANIMATION = "animation"
    VIDEO_NOTE = "video_note"  # no caption
    STICKER = "sticker"  # no caption
    COPY = "copy"  # copy a message from another chat (a customer's photo, voice, …)
    CARD = "card"  # post the complaint's card, rendered when it is sent
    CARD_EDIT = "card_edit"  # edit the card to show the complaint as it is when sent
    # Make the customer's forum topic show their conversation as it is when sent:
    # create it (once), rename it, close or reopen it.
    TOPIC = "topic"
    # Edit a conversation's card to show it as it is when sent.
    CONVERSATION_CARD = "conv_card"
    # After /forget: delete what the chat still shows of the customer (their forum
    # topics, copies of their words), found when it is sent (``care.privacy``).
    ERASE = "erase"


# The kinds that send a Telegram file by its id (or, a photo, its bytes).
FILE_KINDS = frozenset(
    {
        Kind.PHOTO, Kind.DOCUMENT, Kind.VOICE, Kind.AUDIO, Kind.VIDEO, Kind.ANIMATION,
        Kind.VIDEO_NOTE, Kind.STICKER,
    }
)  # fmt: skip
# Telegram takes no caption with these: whatever is to be said goes in a text before.
CAPTIONLESS = frozenset({Kind.STICKER, Kind.VIDEO_NOTE})


class Purpose(enum.StrEnum):
    """Why carebot owes the message: what it is for, and whom it reaches."""

    CARD = "card"  # a complaint's card in the staff group, and its edits
    ATTACHMENT = "attachment"  # a customer's photo or document shown under the card
    RELAY = "relay"  # a customer's message shown to staff
    CUSTOMER_NOTICE = "customer_notice"  # a change of a complaint, told to the customer
    CONFIRMATION = "confirmation"  # a complaint's number, "added to your complaint"
    STAFF_REPLY = "staff_reply"  # a staff member's answer, to the customer
    ALERT = "alert"  # upset customer, SLA warning or breach, low rating: for staff
    STAFF_NOTICE = "staff_notice"  # staff told what became of a message they sent
    REPORT = "report"  # the weekly report's summary, to a supervisor (care.reports.weekly)
    TOPIC = "topic"  # the customer's forum topic in the staff chat
    CONVERSATION = "conversation"  # a conversation's card or notice for staff
    ERASURE = "erasure"  # a forgotten customer's words taken out of a staff chat


# The purposes that reach the customer: what the card's delivery line is about.
CUSTOMER_BOUND = frozenset({Purpose.CUSTOMER_NOTICE, Purpose.CONFIRMATION, Purpose.STAFF_REPLY})

UNSETTLED = (OwedState.PENDING.value, OwedState.SENDING.value)


@dataclass(frozen=True)
class Button:
    """An inline button: its label (already in the reader's words) and callback data."""

    label: str
    data: str


def owe(
    session: AsyncSession,
    *,
    now: datetime,
    purpose: Purpose,
    chat_id: int,
    text: str | None = None,
    kind: Kind = Kind.TEXT,
    file_id: str | None = None,
    data: bytes | None = None,
    buttons: Sequence[Sequence[Button]] | None = None,
    customer_id: int | None = None,
    complaint_id: int | None = None,
    reply_to_message_id: int | None = None,
    reply_to_card: bool = False,
    reply_to_source: bool = False,
    source: tuple[int, int] | None = None,
    source_business_connection_id: str | None = None,
    remember_as: str | None = None,
    fallback_chat_id: int | None = None,
    staff_message: tuple[int, int] | None = None,
    staff_reply: tuple[int, str] | None = None,
    business_connection_id: str | None = None,
    conversation_id: int | None = None,
    to_topic: bool = False,
) -> OwedMessage:
    """Owe a message: it is sent once the caller's transaction has committed.

    Args:
        session: The transaction of the change that causes the message.
        now: When it is owed (and due).
        purpose: What it is for.
        chat_id: Where it goes.
        text: Its words (the caption of a photo, document or copy), already in the
            reader's language.
        kind: What to send (:class:`Kind`).
        file_id: The Telegram file of a file kind (:data:`FILE_KINDS`).
        data: Or its bytes, uploaded when it is sent (a report's chart).
        buttons: Inline buttons, rows of :class:`Button`.
        customer_id: The customer it is about (or for).
        complaint_id: The complaint it belongs to.
        reply_to_message_id: A message it replies to.
        reply_to_card: It replies to the complaint's card, wherever that is when sent.
        reply_to_source: It replies to the message in ``chat_id`` that shows ``source``
            (a relay), wherever that is when sent; it is not itself filed as showing it.
        source: ``(chat id, message id)`` of the message a copy copies, or that a
            relay to staff stands for.
        source_business_connection_id: The Business chat that message is in (None:
            the customer's chat with the bot).
        remember_as: The ``complaint_message`` purpose its message is filed under.
        fallback_chat_id: Where it goes when ``chat_id`` refuses it.
        staff_message: ``(chat id, message id)`` of the staff member's message it
            stands for: staff are told there if it cannot be delivered.
        staff_reply: ``(staff member id, note)``: a staff reply, recorded on the
            complaint (``care.complaints.record_staff_reply``) once it is delivered, so
            that the record and the SLA count only replies the customer got.
        business_connection_id: It goes to a customer's chat with the company's
            Business account, through this connection (``care.business.route_of``).
            With ``conversation_id`` and no complaint: recorded on the conversation.
        conversation_id: The conversation it belongs to (``care.conversations``).
        to_topic: It goes into the customer's forum topic of ``chat_id`` (General if
            that topic could not be made).

    Returns:
        The new row (added to the session, not yet flushed).
    """
    row = OwedMessage(
        kind=kind.value,
        purpose=purpose.value,
        chat_id=chat_id,
        fallback_chat_id=fallback_chat_id,
        customer_id=customer_id,
        complaint_id=complaint_id,
        conversation_id=conversation_id,
        to_topic=to_topic,
        text=text,
        file_id=file_id,
        data=data,
        buttons=[[[b.label, b.data] for b in row] for row in buttons] if buttons else None,
        reply_to_message_id=reply_to_message_id,
        reply_to_card=reply_to_card,
        reply_to_source=reply_to_source,
        source_chat_id=source[0] if source else None,
        source_message_id=source[1] if source else None,
        source_business_connection_id=source_business_connection_id,
        remember_as=remember_as,
        staff_chat_id=staff_message[0] if staff_message else None,
        staff_message_id=staff_message[1] if staff_message else None,
        staff_member_id=staff_reply[0] if staff_reply else None,
        note=staff_reply[1] if staff_reply else None,
        business_connection_id=business_connection_id,
        created_at=now,
        due_at=now,
        state=OwedState.PENDING.value,
        attempts=0,
    )
    session.add(row)
    return row


def owe_card(session: AsyncSession, complaint: Complaint, chat_id: int, now: datetime) -> None:
    """Owe a new complaint's card in the staff group ``chat_id`` (rendered when sent)."""
    owe(
        session, now=now, purpose=Purpose.CARD, kind=Kind.CARD, chat_id=chat_id,
        customer_id=complaint.customer_id, complaint_id=complaint.id, remember_as="alert",
    )  # fmt: skip


async def owe_card_edit(session: AsyncSession, complaint: Complaint, now: datetime) -> bool:
    """Owe an edit of the complaint's card, so that it shows the complaint as it is.

    Nothing is owed when no card was ever owed for it (no staff group), or when a post or
    an edit of its card is still unsettled: that one is rendered when it is sent, so it
    will show this change too.

    Returns:
        Whether an edit was owed.
    """
    card_rows = select(OwedMessage.id, OwedMessage.state, OwedMessage.chat_id).where(
        OwedMessage.complaint_id == complaint.id,
        OwedMessage.kind.in_((Kind.CARD.value, Kind.CARD_EDIT.value)),
    )
    rows = (await session.execute(card_rows)).all()
    if any(row.state == OwedState.PENDING.value for row in rows):
        return False
    chat_id = complaint.staff_chat_id or next((row.chat_id for row in rows), None)
    if chat_id is None:
        return False
    owe(
        session, now=now, purpose=Purpose.CARD, kind=Kind.CARD_EDIT, chat_id=chat_id,
        customer_id=complaint.customer_id, complaint_id=complaint.id,
    )  # fmt: skip
    return True


def _shows(row: OwedMessage) -> dict[str, Any]:
    """The customer's message a relay shows (``care.conversations.remember_message``)."""
    return {
        "source_message_id": row.source_message_id,
        "source_business_connection_id": row.source_business_connection_id,
    }


async def relay_on_its_way(
    session: AsyncSession,
    chat_id: int,
    source: tuple[int, int],
    business_connection_id: str | None = None,
) -> int | None:
    """The conversation whose relay of the customer's message ``source`` to ``chat_id`` is
    owed and not settled yet (Telegram may show it already, its id not known yet); None
    when there is none. ``business_connection_id``: the message is in that Business chat.
    """
    source_chat = (
        OwedMessage.source_business_connection_id.is_(None)
        if business_connection_id is None
        else OwedMessage.source_business_connection_id == business_connection_id
    )
    return await session.scalar(
        select(OwedMessage.conversation_id)
        .where(
            OwedMessage.chat_id == chat_id,
            OwedMessage.source_chat_id == source[0],
            OwedMessage.source_message_id == source[1],
            source_chat,
            OwedMessage.state.in_(UNSETTLED),
            OwedMessage.conversation_id.is_not(None),
            OwedMessage.remember_as.is_not(None),
            OwedMessage.reply_to_source.is_(False),
        )
        .order_by(OwedMessage.id.desc())
        .limit(1)
    )


async def sending_in(
    session: AsyncSession, chat_id: int, among: Sequence[int] | None = None
) -> list[int]:
    """The rows of ``chat_id`` being sent now (``among``: of these rows only): Telegram
    may show their messages already while carebot does not know their ids yet."""
    query = select(OwedMessage.id).where(
        OwedMessage.chat_id == chat_id, OwedMessage.state == OwedState.SENDING.value
    )
    if among is not None:
        query = query.where(OwedMessage.id.in_(among))
    return list((await session.scalars(query)).all())


# Built once: an alias made per call costs its column proxies again on every claim.
_OLDER = aliased(OwedMessage, name="older")


async def still_pending(session: AsyncSession, chat_id: int, kind: Kind, **where: Any) -> bool:
    """Whether a row of ``kind`` for ``chat_id`` (and the column values ``where``) is still
    waiting to be sent. Rows that are rendered when sent (a topic's look, a card's edit)
    need no second one: the waiting one will show the newest state.

    The row is locked (PostgreSQL), so a sender claiming it meanwhile is waited for and
    the row, then ``sending`` and perhaps rendered already, no longer counts.
    """
    found = await session.scalar(
        select(OwedMessage.id)
        .where(
            OwedMessage.chat_id == chat_id,
            OwedMessage.state == OwedState.PENDING.value,
            OwedMessage.kind == kind.value,
            *(getattr(OwedMessage, column) == value for column, value in where.items()),
        )
        .limit(1)
        .with_for_update()
    )
    return found is not None


# ----------------------------------------------------------------------------- claiming


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, worker_id: str
) -> list[OwedMessage]:
    """Claim up to ``limit`` due rows for this sender, each the oldest unsettled of its chat.

    A row whose chat has an older row still pending (waiting for a retry) or being sent
    waits: one chat's messages go out in the order they were owed. The caller commits
    before sending anything.

    Returns:
        The claimed rows, oldest first.
    """
    if limit <= 0:
        return []
    older = _OLDER
    blocked = exists().where(
        older.chat_id == OwedMessage.chat_id,
        older.id < OwedMessage.id,
        older.state.in_(UNSETTLED),
    )
    due = (
        select(OwedMessage.id)
        .where(OwedMessage.state == OwedState.PENDING.value, OwedMessage.due_at <= now, ~blocked)
        .order_by(OwedMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await locks.claim(
        session, OwedMessage, due, sending=OwedState.SENDING.value, worker_id=worker_id, now=now
    )
    return sorted(claimed, key=lambda row: row.id)


async def hold_sender_lock(session: AsyncSession, worker_id: str) -> bool:
    """Tell other processes, while this transaction lasts, that sender ``worker_id`` is
    alive (see ``care.outbox.hold_sender_lock``, the same idea for care messages)."""
    return await locks.try_hold(session, locks.OWED_SENDER, locks.number_of(worker_id))


async def recover_in_flight(session: AsyncSession, worker_id: str, *, own: bool = False) -> int:
    """Put rows that senders which are gone left ``sending`` back to ``pending``.

    A sender is gone when its lock is free (on SQLite, one process: every other sender).
    The message may have arrived before the process died; it is sent again (owed
    messages are at least once, see the module docstring). ``own=True``: this sender's
    own rows too (call it so only between two of its passes, when it has none in flight).

    Returns:
        How many rows went back.
    """
    if own:
        result = await session.execute(
            update(OwedMessage)
            .where(
                OwedMessage.state == OwedState.SENDING.value, OwedMessage.claimed_by == worker_id
            )
            .values(state=OwedState.PENDING.value, last_error="left claimed by a failed pass")
            .execution_options(synchronize_session=False)
        )
        mine = int(getattr(result, "rowcount", 0) or 0)
        return mine + await recover_in_flight(session, worker_id)
    elsewhere = (OwedMessage.state == OwedState.SENDING.value) & or_(
        OwedMessage.claimed_by != worker_id, OwedMessage.claimed_by.is_(None)
    )
    claimers = (
        await session.scalars(select(OwedMessage.claimed_by).where(elsewhere).distinct())
    ).all()
    gone = [
        claimer
        for claimer in claimers
        if claimer is not None
        and await locks.try_hold(session, locks.OWED_SENDER, locks.number_of(claimer))
    ]
    if not gone and None not in claimers:
        return 0
    result = await session.execute(
        update(OwedMessage)
        .where(elsewhere, or_(OwedMessage.claimed_by.in_(gone), OwedMessage.claimed_by.is_(None)))
        .values(state=OwedState.PENDING.value, last_error="in flight when its sender stopped")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ----------------------------------------------------------------------------- outcomes


async def _settle(session: AsyncSession, row_id: int, **values: Any) -> OwedMessage | None:
    """Write the outcome on the row if it is still being sent, in one statement
    (UPDATE … RETURNING), and return the row as it is now; None when it was recovered
    meanwhile: the outcome comes too late to count."""
    settled = await session.scalars(
        update(OwedMessage)
        .where(OwedMessage.id == row_id, OwedMessage.state == OwedState.SENDING.value)
        .values(**values)
        .returning(OwedMessage)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return settled.one_or_none()


async def mark_sent(
    session: AsyncSession, row_id: int, message_id: int | None, now: datetime
) -> OwedMessage | None:
    """Record that Telegram took the message (``message_id``: the new message's id;
    None for an edit).

    A card's message id goes on its complaint, and a message that belongs to a complaint
    is filed under ``remember_as`` there, so that a reply to it finds the complaint.

    Returns:
        The row, or None if it was no longer this sender's to settle.
    """
    row = await _settle(
        session,
        row_id,
        state=OwedState.SENT.value,
        sent_at=now,
        telegram_message_id=message_id,
        last_error=None,
    )
    if row is None:
        return None
    if row.conversation_id is not None and row.remember_as is not None and message_id:
        # A reply to it finds the conversation; the customer's message it shows is
        # noted, so that an edit of it is shown under it.
        await conversations.remember_message(
            session, row.conversation_id, row.chat_id, message_id, row.remember_as, now,
            **({} if row.reply_to_source else _shows(row)),
        )  # fmt: skip
    if (
        row.customer_id is not None
        and row.complaint_id is None
        and row.conversation_id is None
        and row.remember_as is not None
        and row.purpose not in CUSTOMER_BOUND
        and message_id
    ):
        # About a customer only (an alert on a key customer): /forget finds it.
        await mentions.remember(
            session, [row.customer_id], row.chat_id, [message_id], now, by_staff=False
        )
    if row.complaint_id is None or message_id is None:
        return row
    if row.kind in (Kind.CARD.value, Kind.CARD_EDIT.value):
        # A card posted (an edit posts one when the card it would edit is unknown).
        complaint = await session.get_one(Complaint, row.complaint_id)
        complaint.staff_chat_id, complaint.alert_message_id = row.chat_id, message_id
    remember_as = "alert" if row.kind == Kind.CARD_EDIT.value else row.remember_as
    if remember_as is not None:
        await complaints.remember_message(
            session, row.complaint_id, row.chat_id, message_id, remember_as, now,
            business_connection_id=row.business_connection_id,
        )  # fmt: skip
    return row


async def retry_later(
    session: AsyncSession, row_id: int, error: str, due_at: datetime, *, count: bool = True
) -> OwedMessage | None:
    """Put the row back to ``pending`` until ``due_at``; ``count=False`` (a 429): this
    attempt does not count.

    Returns:
        The row, or None if it was no longer this sender's to settle.
    """
    return await _settle(
        session,
        row_id,
        state=OwedState.PENDING.value,
        due_at=due_at,
        last_error=error[:500],
        attempts=OwedMessage.attempts if count else OwedMessage.attempts - 1,
    )


async def mark_failed(session: AsyncSession, row_id: int, error: str) -> OwedMessage | None:
    """Give up on the row (the chat refuses it, or retries ran out)."""
    return await _settle(session, row_id, state=OwedState.FAILED.value, last_error=error[:500])


async def drop(session: AsyncSession, row_id: int, reason: str) -> OwedMessage | None:
    """The row is no longer owed (a card edit with no card to edit, a forgotten chat)."""
    return await _settle(session, row_id, state=OwedState.DROPPED.value, last_error=reason[:500])


async def drop_the_rest(session: AsyncSession, row: OwedMessage, reason: str) -> int:
    """Drop the rows still pending to ``row``'s chat with its purpose and note (the rest
    of a weekly report to a supervisor who refused its first part).

    Returns:
        How many rows were dropped.
    """
    result = await session.execute(
        update(OwedMessage)
        .where(
            OwedMessage.state == OwedState.PENDING.value,
            OwedMessage.chat_id == row.chat_id,
            OwedMessage.purpose == row.purpose,
            OwedMessage.note == row.note,
            OwedMessage.id != row.id,
        )
        .values(state=OwedState.DROPPED.value, last_error=reason[:500])
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def prune(session: AsyncSession, settled_before: datetime) -> int:
    """Delete rows settled (sent, failed, dropped) before ``settled_before``: they hold
    people's words, and what staff need of them is on the complaint's record.

    Returns:
        How many rows were deleted.
    """
    result = await session.execute(
        delete(OwedMessage)
        .where(~OwedMessage.state.in_(UNSETTLED), OwedMessage.created_at < settled_before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def backoff(attempts: int) -> timedelta:
    """How long to wait before the next attempt: 2 s, 4 s, 8 s … at most 30 minutes."""
    return min(timedelta(seconds=2 ** min(attempts, 11)), timedelta(minutes=30))


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class CustomerDelivery:
    """What became of the newest message owed to a complaint's customer."""

    state: OwedState
    at: datetime  # when it was sent, or owed
    error: str | None


async def last_customer_delivery(
    session: AsyncSession, complaint_id: int
) -> CustomerDelivery | None:
    """The newest message owed to the complaint's customer and what became of it."""
    row = await session.scalar(
        select(OwedMessage)
        .where(
            OwedMessage.complaint_id == complaint_id,
            OwedMessage.purpose.in_([p.value for p in CUSTOMER_BOUND]),
            OwedMessage.state != OwedState.DROPPED.value,
        )
        .order_by(OwedMessage.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    return CustomerDelivery(OwedState(row.state), row.sent_at or row.created_at, row.last_error)


async def unsettled(session: AsyncSession, **where: Any) -> list[OwedMessage]:
    """Rows still owed (pending or being sent), oldest first, filtered by column values."""
    query = select(OwedMessage).where(OwedMessage.state.in_(UNSETTLED))
    query = query.where(and_(*(getattr(OwedMessage, k) == v for k, v in where.items())))
    return list((await session.scalars(query.order_by(OwedMessage.id))).all())


async def newest_sent_message_id(session: AsyncSession, chat_id: int) -> int | None:
    """The highest message id Telegram gave a message owed to ``chat_id`` (None: none
    known). One chat's rows go out in order, so while a row of it is retried nothing
    newer was sent there: what Telegram made meanwhile has a higher id than this."""
    return await session.scalar(
        select(func.max(OwedMessage.telegram_message_id)).where(
            OwedMessage.chat_id == chat_id, OwedMessage.state == OwedState.SENT.value
        )
    )
