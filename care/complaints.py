"""Complaints (客户投诉): filing, the lifecycle with its audit trail, and ratings.

The SLA watch (warnings, breaches, closing unanswered resolved complaints) is
``care.deadlines``.

Every change is a ``ComplaintEvent`` (who, when, from, to, note); events are only ever
added. Lifecycle functions return a ``Change`` describing what happened, or ``None`` when
the request changes nothing (a second press of the same button), so that callers can
notify people exactly once. An illegal request raises ``Refused`` with a reason code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care import ratings
from care.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintEventType,
    ComplaintMessage,
    ComplaintStatus,
    Customer,
    Priority,
    StaffMember,
)
from care.sla import SlaPolicy
from care.triage import Triage

S = ComplaintStatus
MAX_ATTACHMENTS = 10
# A description is kept whole up to this length (a customer may write several messages
# and captions into it); staff and the customer are shown all of it, split into messages.
MAX_DESCRIPTION = 16_000

OPEN_STATUSES = (S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.REOPENED)
AWAITING_ACKNOWLEDGEMENT = (S.NEW, S.REOPENED)

# Which status may follow which. Resolving is allowed from every open state (a quick fix
# needs no ceremony); acknowledging only from a state that awaits it.
TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    S.NEW: frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED}),
    S.ACKNOWLEDGED: frozenset({S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED}),
    S.IN_PROGRESS: frozenset({S.WAITING_CUSTOMER, S.RESOLVED}),
    S.WAITING_CUSTOMER: frozenset({S.IN_PROGRESS, S.RESOLVED}),
    S.RESOLVED: frozenset({S.CLOSED, S.REOPENED}),
    S.CLOSED: frozenset({S.REOPENED}),
    S.REOPENED: frozenset({S.ACKNOWLEDGED, S.IN_PROGRESS, S.WAITING_CUSTOMER, S.RESOLVED}),
    S.DRAFT: frozenset({S.NEW}),
}


class Refusal(enum.StrEnum):
    """Why a request on a complaint was refused; handlers turn these into words."""

    NOT_ALLOWED = "not_allowed"  # e.g. acknowledging a closed complaint
    TOO_MANY_ATTACHMENTS = "too_many_attachments"
    NOT_RATEABLE = "not_rateable"
    BAD_RATING = "bad_rating"
    EMPTY = "empty"
    FORGOTTEN = "forgotten"  # the customer asked to be forgotten: nobody to answer to


class Refused(Exception):
    def __init__(self, reason: Refusal, status: ComplaintStatus | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Change:
    """What a lifecycle call did: the event recorded and the status before and after."""

    complaint: Complaint
    event: ComplaintEvent
    from_status: ComplaintStatus
    to_status: ComplaintStatus

    @property
    def status_changed(self) -> bool:
        return self.from_status is not self.to_status


def status_of(complaint: Complaint) -> ComplaintStatus:
    return ComplaintStatus(complaint.status)


def priority_of(complaint: Complaint) -> Priority:
    return Priority(complaint.priority)


def is_open(complaint: Complaint) -> bool:
    return status_of(complaint) in OPEN_STATUSES


def add_event(
    session: AsyncSession,
    complaint: Complaint,
    kind: ComplaintEventType,
    now: datetime,
    *,
    staff: StaffMember | None = None,
    by_customer: bool = False,
    from_status: ComplaintStatus | None = None,
    to_status: ComplaintStatus | None = None,
    note: str | None = None,
) -> ComplaintEvent:
    event = ComplaintEvent(
        complaint_id=complaint.id,
        at=now,
        type=kind.value,
        staff_id=staff.id if staff else None,
        by_customer=by_customer,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value if to_status else None,
        note=note,
    )
    session.add(event)
    complaint.updated_at = now
    return event


async def _move(
    session: AsyncSession,
    complaint: Complaint,
    to: ComplaintStatus,
    now: datetime,
    *,
    staff: StaffMember | None = None,
    by_customer: bool = False,
    note: str | None = None,
) -> Change:
    current = status_of(complaint)
    if to not in TRANSITIONS[current]:
        raise Refused(Refusal.NOT_ALLOWED, current)
    if current in AWAITING_ACKNOWLEDGEMENT:
        # Any move out of "new" or "reopened" means staff have taken notice.
        _mark_acknowledged(complaint, now)
    complaint.status = to.value
    event = add_event(
        session, complaint, ComplaintEventType.STATUS, now,
        staff=staff, by_customer=by_customer, from_status=current, to_status=to, note=note,
    )  # fmt: skip
    await session.flush()
    return Change(complaint, event, current, to)


def _mark_acknowledged(complaint: Complaint, now: datetime) -> None:
    if complaint.acknowledged_at is not None and status_of(complaint) is not S.REOPENED:
        return
    complaint.acknowledged_at = now
    on_time = complaint.acknowledge_due_at is None or now <= complaint.acknowledge_due_at
    # Once late, a complaint stays late for the timeliness rate, even after a reopening.
    complaint.acknowledged_on_time = on_time and complaint.acknowledged_on_time is not False


# --- filing -------------------------------------------------------------------------


async def current_draft(
    session: AsyncSession, customer_id: int, business_connection_id: str | None = None
) -> Complaint | None:
    """The complaint this customer is filing right now in one chat, if any.

    Args:
        session: The caller's transaction.
        customer_id: Whose.
        business_connection_id: The company's Business chat it is filed in (None: the
            customer's chat with the bot). A customer may file in both at once.
    """
    where = (
        Complaint.business_connection_id.is_(None)
        if business_connection_id is None
        else Complaint.business_connection_id == business_connection_id
    )
    return await session.scalar(
        select(Complaint)
        .where(Complaint.customer_id == customer_id, Complaint.status == S.DRAFT.value, where)
        .order_by(Complaint.id.desc())
        .limit(1)
    )


async def start_draft(
    session: AsyncSession,
    customer: Customer,
    now: datetime,
    business_connection_id: str | None = None,
) -> Complaint:
    """Begin filing in one chat (see :func:`current_draft`): a fresh draft (an earlier
    unfinished one in that chat is discarded)."""
    old = await current_draft(session, customer.id, business_connection_id)
    if old is not None:
        await session.delete(old)
    draft = Complaint(
        customer_id=customer.id,
        created_at=now,
        updated_at=now,
        business_connection_id=business_connection_id,
    )
    session.add(draft)
    await session.flush()
    return draft


def set_category(draft: Complaint, category: str) -> None:
    draft.category = category


def set_description(draft: Complaint, text: str) -> None:
    text = text.strip()
    if not text:
        raise Refused(Refusal.EMPTY)
    draft.description = text[:MAX_DESCRIPTION]


def add_to_description(draft: Complaint, text: str) -> None:
    """Add the customer's next words to the draft's description, on a line of their own.

    Words that already end it are not added again: a message handled a second time
    (its update comes again when the process died before marking it handled) must not
    be doubled, and a customer who repeats their last words verbatim adds nothing by it.
    """
    text = text.strip()
    current = draft.description or ""
    if not text or current == text or current.endswith("\n" + text):
        return
    set_description(draft, f"{current}\n{text}" if current else text)


def set_reference(draft: Complaint, reference: str | None) -> None:
    draft.reference = reference.strip()[:64] if reference and reference.strip() else None


async def attachments_of(session: AsyncSession, complaint_id: int) -> list[ComplaintAttachment]:
    return list(
        (
            await session.scalars(
                select(ComplaintAttachment)
                .where(ComplaintAttachment.complaint_id == complaint_id)
                .order_by(ComplaintAttachment.id)
            )
        ).all()
    )


async def add_attachment(
    session: AsyncSession,
    complaint: Complaint,
    kind: str,
    file_id: str,
    now: datetime,
    *,
    file_name: str | None = None,
    caption: str | None = None,
) -> int:
    """Attach a photo or document (by Telegram file id), once: the same file again (the
    message handled a second time after a restart, or sent twice) is already there.

    Returns:
        How many attachments the complaint has now.

    Raises:
        Refused: ``TOO_MANY_ATTACHMENTS`` past ``MAX_ATTACHMENTS``.
    """
    attached = list(
        await session.scalars(
            select(ComplaintAttachment.file_id).where(
                ComplaintAttachment.complaint_id == complaint.id
            )
        )
    )
    count = len(attached)
    if file_id in attached:
        return count
    if count >= MAX_ATTACHMENTS:
        raise Refused(Refusal.TOO_MANY_ATTACHMENTS)
    session.add(
        ComplaintAttachment(
            complaint_id=complaint.id, kind=kind, file_id=file_id, file_name=file_name,
            caption=caption, created_at=now,
        )
    )  # fmt: skip
    await session.flush()
    return count + 1


async def similar_open_complaint(
    session: AsyncSession, customer_id: int, text: str, triage: Triage
) -> Complaint | None:
    """The customer's open complaint that reads like ``text``, if there is one."""
    rows = (
        await session.execute(
            select(Complaint.id, Complaint.description).where(
                Complaint.customer_id == customer_id,
                Complaint.status.in_([s.value for s in OPEN_STATUSES]),
                Complaint.description.is_not(None),
            )
        )
    ).all()
    best = triage.most_similar(text, [(row[0], row[1] or "") for row in rows])
    return None if best is None else await session.get(Complaint, best[0])


def complaint_number(complaint: Complaint, timezone: str) -> str:
    """A number a customer can read aloud: ``C-2026-000123`` (year of filing)."""
    assert complaint.filed_at is not None
    year = complaint.filed_at.astimezone(ZoneInfo(timezone)).year
    return f"C-{year}-{complaint.id:06d}"


async def file_complaint(
    session: AsyncSession,
    draft: Complaint,
    policy: SlaPolicy,
    triage: Triage,
    now: datetime,
    timezone: str,
) -> Complaint:
    """Turn a finished draft into a new complaint: number, priority, SLA deadlines.

    Priority is high when the text shows a sign of an upset customer and urgent when it
    shows two or more (angry words, "!!!", shouting).
    """
    if not draft.description:
        raise Refused(Refusal.EMPTY)
    if status_of(draft) is not S.DRAFT:
        raise Refused(Refusal.NOT_ALLOWED, status_of(draft))
    signs = triage.agitation(draft.description)
    priority = Priority.URGENT if signs >= 2 else Priority.HIGH if signs == 1 else Priority.NORMAL
    draft.priority = priority.value
    draft.agitated = signs > 0
    draft.filed_at = now
    draft.status = S.NEW.value
    draft.number = complaint_number(draft, timezone)
    draft.acknowledge_due_at = policy.acknowledge_due(now, priority)
    draft.resolve_due_at = policy.resolve_due(now, priority)
    add_event(
        session, draft, ComplaintEventType.FILED, now,
        by_customer=True, from_status=S.DRAFT, to_status=S.NEW, note=draft.description,
    )  # fmt: skip
    await session.flush()
    return draft


async def merge_draft(
    session: AsyncSession, draft: Complaint, target: Complaint, now: datetime
) -> Change:
    """ "Same problem": add the draft's text and attachments to an open complaint."""
    await session.execute(
        update(ComplaintAttachment)
        .where(ComplaintAttachment.complaint_id == draft.id)
        .values(complaint_id=target.id)
    )
    text = draft.description or ""
    await session.delete(draft)
    return await record_customer_message(session, target, text, now)


# --- lifecycle ----------------------------------------------------------------------


async def acknowledge(
    session: AsyncSession, complaint: Complaint, staff: StaffMember, now: datetime
) -> Change | None:
    """Staff have seen it (受理). A second press changes nothing."""
    if status_of(complaint) not in AWAITING_ACKNOWLEDGEMENT:
        if is_open(complaint):
            return None
        raise Refused(Refusal.NOT_ALLOWED, status_of(complaint))
    return await _move(session, complaint, S.ACKNOWLEDGED, now, staff=staff)


async def take(
    session: AsyncSession, complaint: Complaint, staff: StaffMember, now: datetime
) -> Change | None:
    """Assign to ``staff`` and start work. Taking what one already has changes nothing."""
    if not is_open(complaint):
        raise Refused(Refusal.NOT_ALLOWED, status_of(complaint))
    if complaint.assignee_id == staff.id and status_of(complaint) is S.IN_PROGRESS:
        return None
    change = await assign(session, complaint, staff, staff, now)
    if status_of(complaint) in (S.NEW, S.ACKNOWLEDGED, S.REOPENED):
        return await _move(session, complaint, S.IN_PROGRESS, now, staff=staff)
    return change


async def assign(
    session: AsyncSession,
    complaint: Complaint,
    assignee: StaffMember,
    by: StaffMember,
    now: datetime,
) -> Change | None:
    """Give the complaint to ``assignee``. Assigning it to its assignee changes nothing."""
    if not is_open(complaint):
        raise Refused(Refusal.NOT_ALLOWED, status_of(complaint))
    if complaint.assignee_id == assignee.id:
        return None
    complaint.assignee_id = assignee.id
    status = status_of(complaint)
    event = add_event(
        session, complaint, ComplaintEventType.ASSIGNED, now,
        staff=by, note=str(assignee.id),
    )  # fmt: skip
    await session.flush()
    return Change(complaint, event, status, status)


async def resolve(
    session: AsyncSession,
    complaint: Complaint,
    staff: StaffMember,
    note: str | None,
    now: datetime,
) -> Change | None:
    """Mark solved, with what was done (shown to the customer).

    Each resolution is counted (``times_resolved``): one reopened and resolved again is
    followed up again, N days after this resolution (``care.followups``).
    """
    if status_of(complaint) is S.RESOLVED:
        return None
    change = await _move(session, complaint, S.RESOLVED, now, staff=staff, note=note)
    complaint.resolved_at = now
    complaint.times_resolved += 1
    complaint.resolution = note
    on_time = complaint.resolve_due_at is None or now <= complaint.resolve_due_at
    complaint.resolved_on_time = on_time and complaint.resolved_on_time is not False
    if complaint.assignee_id is None:
        complaint.assignee_id = staff.id
    await session.flush()
    return change


async def reopen(
    session: AsyncSession,
    complaint: Complaint,
    policy: SlaPolicy,
    now: datetime,
    *,
    staff: StaffMember | None = None,
    by_customer: bool = False,
    note: str | None = None,
) -> Change | None:
    """Open a resolved or closed complaint again, with fresh SLA deadlines.

    Raises:
        Refused: ``NOT_ALLOWED`` if it is open; ``FORGOTTEN`` if its customer was erased
            (/forget): there is nobody left to answer.
    """
    if status_of(complaint) is S.REOPENED:
        return None
    customer = await session.get(Customer, complaint.customer_id)
    if customer is not None and customer.erased_at is not None:
        raise Refused(Refusal.FORGOTTEN, status_of(complaint))
    change = await _move(
        session, complaint, S.REOPENED, now, staff=staff, by_customer=by_customer, note=note
    )
    priority = priority_of(complaint)
    complaint.acknowledge_due_at = policy.acknowledge_due(now, priority)
    complaint.resolve_due_at = policy.resolve_due(now, priority)
    complaint.acknowledge_warned_at = complaint.acknowledge_breached_at = None
    complaint.resolve_warned_at = complaint.resolve_breached_at = None
    complaint.resolved_at = complaint.closed_at = None
    # The next resolution asks for a rating of its own; this one's stays (care.ratings).
    await session.flush()
    return change


async def close(
    session: AsyncSession, complaint: Complaint, now: datetime, note: str | None = None
) -> Change | None:
    """Close a resolved complaint (the customer is satisfied or did not answer)."""
    if status_of(complaint) is S.CLOSED:
        return None
    change = await _move(session, complaint, S.CLOSED, now, note=note)
    complaint.closed_at = now
    return change


async def add_note(
    session: AsyncSession, complaint: Complaint, staff: StaffMember, text: str, now: datetime
) -> ComplaintEvent:
    """An internal note: for staff only, never shown to the customer."""
    if not text.strip():
        raise Refused(Refusal.EMPTY)
    event = add_event(session, complaint, ComplaintEventType.NOTE, now, staff=staff, note=text)
    await session.flush()
    return event


async def record_staff_reply(
    session: AsyncSession, complaint: Complaint, staff: StaffMember, text: str, now: datetime
) -> Change:
    """Staff wrote to the customer: the ball is in the customer's court."""
    if status_of(complaint) in (S.DRAFT,):
        raise Refused(Refusal.NOT_ALLOWED, status_of(complaint))
    before = status_of(complaint)
    event = add_event(
        session, complaint, ComplaintEventType.STAFF_REPLY, now, staff=staff, note=text
    )
    if is_open(complaint) and before is not S.WAITING_CUSTOMER:
        await _move(session, complaint, S.WAITING_CUSTOMER, now, staff=staff)
    if complaint.assignee_id is None:
        complaint.assignee_id = staff.id
    await session.flush()
    return Change(complaint, event, before, status_of(complaint))


async def record_customer_message(
    session: AsyncSession, complaint: Complaint, text: str, now: datetime
) -> Change:
    """The customer added something; an answer we were waiting for puts staff back on it."""
    before = status_of(complaint)
    event = add_event(
        session, complaint, ComplaintEventType.CUSTOMER_MESSAGE, now, by_customer=True, note=text
    )
    if before is S.WAITING_CUSTOMER:
        await _move(session, complaint, S.IN_PROGRESS, now, by_customer=True)
    await session.flush()
    return Change(complaint, event, before, status_of(complaint))


async def record_unreachable(
    session: AsyncSession, complaint: Complaint, now: datetime
) -> ComplaintEvent:
    """The customer blocked the bot while this complaint was open (staff must know)."""
    event = add_event(session, complaint, ComplaintEventType.UNREACHABLE, now)
    await session.flush()
    return event


async def rate(
    session: AsyncSession, complaint: Complaint, rating: int, now: datetime
) -> ComplaintEvent | None:
    """Store the customer's satisfaction (1-5) with the latest resolution
    (``care.ratings``). A repeat changes nothing.

    Raises:
        Refused: ``BAD_RATING`` outside 1-5; ``NOT_RATEABLE`` if not resolved or closed.
    """
    if not 1 <= rating <= 5:
        raise Refused(Refusal.BAD_RATING)
    if status_of(complaint) not in (S.RESOLVED, S.CLOSED):
        raise Refused(Refusal.NOT_RATEABLE, status_of(complaint))
    if not await ratings.record_rating(session, complaint, rating, now):
        return None
    event = add_event(
        session, complaint, ComplaintEventType.RATING, now, by_customer=True, note=str(rating)
    )
    await session.flush()
    return event


async def add_rating_comment(session: AsyncSession, complaint: Complaint, text: str) -> bool:
    """Keep the customer's comment on their rating of the resolution in force.

    Returns:
        False, keeping nothing, when the complaint is open again or that resolution has
        no rating: the text is not a comment then.
    """
    if status_of(complaint) not in (S.RESOLVED, S.CLOSED):
        return False
    return await ratings.add_comment(session, complaint, text)


# --- reading ------------------------------------------------------------------------


async def complaints_of(session: AsyncSession, customer_id: int) -> list[Complaint]:
    """The customer's filed complaints, newest first."""
    return list(
        (
            await session.scalars(
                select(Complaint)
                .where(Complaint.customer_id == customer_id, Complaint.status != S.DRAFT.value)
                .order_by(Complaint.id.desc())
            )
        ).all()
    )


async def open_complaints_of(session: AsyncSession, customer_id: int) -> list[Complaint]:
    return [c for c in await complaints_of(session, customer_id) if is_open(c)]


async def find_by_number(
    session: AsyncSession, number: str, customer_id: int | None = None
) -> Complaint | None:
    """The complaint with this number (case-insensitive), optionally only the customer's.

    A number of another customer is answered exactly like one that does not exist.
    """
    query = select(Complaint).where(Complaint.number == number.strip().upper())
    if customer_id is not None:
        query = query.where(Complaint.customer_id == customer_id)
    return await session.scalar(query)


async def history(
    session: AsyncSession, complaint_id: int, *, internal: bool = False
) -> list[ComplaintEvent]:
    """The complaint's events, oldest first; internal notes only when ``internal``."""
    query = (
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.id)
    )
    if not internal:
        query = query.where(
            ComplaintEvent.type.not_in(
                [
                    ComplaintEventType.NOTE.value,
                    ComplaintEventType.SLA_WARNING.value,
                    ComplaintEventType.SLA_BREACH.value,
                    ComplaintEventType.UNREACHABLE.value,
                ]
            )
        )
    return list((await session.scalars(query)).all())


async def queue(session: AsyncSession) -> list[Complaint]:
    """Open complaints, the nearest deadline first."""
    rows = (
        await session.scalars(
            select(Complaint).where(Complaint.status.in_([s.value for s in OPEN_STATUSES]))
        )
    ).all()
    return sorted(rows, key=next_deadline)


def next_deadline(complaint: Complaint) -> datetime:
    """The open complaint's next deadline (see :func:`promised_deadline`)."""
    due = promised_deadline(complaint)
    assert due is not None, "an open complaint has a deadline"
    return due


def promised_deadline(
    complaint: Complaint, status: ComplaintStatus | None = None
) -> datetime | None:
    """The one deadline by which the customer hears from us, in ``status``.

    While a complaint awaits acknowledgement (new, reopened) that is the acknowledgement
    deadline, after that the resolution deadline; a complaint that is not open has none.
    Every message that tells the customer a deadline (filing, acknowledgement, reopening,
    /status) asks this, so they never name two different moments.

    Args:
        complaint: the complaint with its SLA deadlines.
        status: the status to answer for (a change's new status); default its own.
    """
    status = status or status_of(complaint)
    if status not in OPEN_STATUSES:
        return None
    if status in AWAITING_ACKNOWLEDGEMENT and complaint.acknowledge_due_at:
        return complaint.acknowledge_due_at
    return complaint.resolve_due_at


async def remember_message(
    session: AsyncSession,
    complaint_id: int,
    chat_id: int,
    message_id: int,
    purpose: str,
    now: datetime,
    business_connection_id: str | None = None,
) -> None:
    """Note that a Telegram message belongs to a complaint (for replies to it).

    ``business_connection_id``: the message is in the customer's chat with that Business
    account, which has the customer's id as chat id too and numbers its messages apart.
    """
    session.add(
        ComplaintMessage(
            complaint_id=complaint_id, chat_id=chat_id, message_id=message_id,
            business_connection_id=business_connection_id, purpose=purpose, created_at=now,
        )
    )  # fmt: skip
    await session.flush()


async def message_owner(
    session: AsyncSession,
    chat_id: int,
    message_id: int,
    business_connection_id: str | None = None,
) -> tuple[Complaint, str] | None:
    """The complaint a Telegram message belongs to, and the message's purpose
    (``business_connection_id``: in that Business chat, see :func:`remember_message`)."""
    in_chat = (
        ComplaintMessage.business_connection_id.is_(None)
        if business_connection_id is None
        else ComplaintMessage.business_connection_id == business_connection_id
    )
    row = (
        await session.execute(
            select(Complaint, ComplaintMessage.purpose)
            .join(ComplaintMessage, ComplaintMessage.complaint_id == Complaint.id)
            .where(
                ComplaintMessage.chat_id == chat_id,
                ComplaintMessage.message_id == message_id,
                in_chat,
            )
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def drop_drafts_older_than(session: AsyncSession, age: timedelta, now: datetime) -> int:
    """Forget complaints that were started and never filed."""
    result = await session.execute(
        delete(Complaint).where(Complaint.status == S.DRAFT.value, Complaint.created_at < now - age)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class ComplaintFacts:
    """Everything needed to show one complaint to staff or to its customer."""

    complaint: Complaint
    customer: Customer
    assignee: StaffMember | None
    attachments: list[ComplaintAttachment]


async def facts(session: AsyncSession, complaint_id: int) -> ComplaintFacts | None:
    """Load a complaint with its customer, assignee and attachments."""
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None:
        return None
    customer = await session.get_one(Customer, complaint.customer_id)
    assignee = (
        await session.get(StaffMember, complaint.assignee_id) if complaint.assignee_id else None
    )
    return ComplaintFacts(
        complaint, customer, assignee, await attachments_of(session, complaint.id)
    )
