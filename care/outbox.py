"""The outbox: every scheduled care message, claimed, sent and settled exactly once.

The sender (``bot.outbox_jobs``) works in three steps, each its own short transaction:

1. :func:`claim_due` takes due ``pending`` rows and marks them ``sending``; the caller
   commits **before** any request goes out, so a crash afterwards leaves them
   ``sending``, never ``pending``.
2. :func:`message_for` decides at send time what each row becomes: a :class:`Message`
   in the customer's current language, a :class:`Skip` (opted out, forgotten,
   unreachable, campaign cancelled, a follow-up that no longer applies, too late for
   its day: ``care.timing``), which :func:`skip` records, or a :class:`Wait` for the
   end of the customer's quiet hours, which :func:`postpone` records.
3. One ``mark_*`` call per outcome: :func:`mark_sent`, :func:`mark_blocked`,
   :func:`mark_failed`, :func:`mark_unconfirmed` or :func:`retry_later`.

Every ``mark_*`` call changes a row only while it is ``sending``: an outcome that comes
too late (the row was recovered meanwhile) changes nothing. :func:`recover_in_flight`
runs whenever a sender starts to send and turns what a dead sender left ``sending``
into ``unconfirmed``: maybe delivered, so never sent again without a person deciding
to. A sender that is alive says so by holding its lock (:func:`hold_sender_lock`)
while it has rows in flight, so that a second process on the same PostgreSQL database
leaves them alone.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care import locks, planning, timing
from care.messages import NoText, Render, row_text
from care.models import (
    Campaign,
    CampaignStatus,
    Channel,
    Complaint,
    Customer,
    Outbox,
    OutboxState,
)

__all__ = [
    "Message",
    "NoText",
    "Render",
    "SendTimes",
    "Sent",
    "Skip",
    "SkipReason",
    "Wait",
    "claim_due",
    "hold_sender_lock",
    "mark_blocked",
    "mark_failed",
    "mark_sent",
    "mark_sent_many",
    "mark_unconfirmed",
    "message_for",
    "messages_for",
    "postpone",
    "progress",
    "recover_in_flight",
    "retry_later",
    "skip",
]

SendTimes = timing.SendTimes

# What a row left in flight by a dead sender is marked with.
IN_FLIGHT_AT_RESTART = "in flight when the sender stopped: maybe delivered"


class SkipReason(enum.StrEnum):
    """Why a row was not sent after all (decided at send time)."""

    FORGOTTEN = "forgotten"  # the customer was erased (/forget): no chat any more
    OPTED_OUT = "opted_out"  # consent_care is off
    UNREACHABLE = "unreachable"  # the customer blocked the bot
    # The customer now writes through the company's Business account, where Telegram
    # lets no message start that the customer did not ask for (care.business).
    BUSINESS_CHANNEL = "business_channel"
    CANCELLED = "cancelled"  # the campaign was cancelled after the row was claimed
    # A follow-up whose reason went away after it was planned: the complaint it asks
    # about was reopened (and maybe resolved again: that resolution has its own), or the
    # customer it would win back has written since.
    NO_LONGER_APPLIES = "no_longer_applies"
    # Its day (and a follow-up's grace after it) was over in the customer's time zone,
    # or no hour outside quiet hours was left in it: the bot was down, say.
    TOO_LATE = "too_late"
    # Decided at planning time, not at send time: computing the customer's day failed
    # (care.followups: Failure); the log has the error.
    NOT_PLANNED = planning.NOT_PLANNED


@dataclass(frozen=True)
class Message:
    """What to send for a row: this text into this chat."""

    chat_id: int
    text: str
    locale: str


@dataclass(frozen=True)
class Skip:
    """Do not send this row; record ``reason`` instead."""

    reason: SkipReason


@dataclass(frozen=True)
class Wait:
    """Not now: inside the customer's quiet hours. Send it at ``until`` (UTC)."""

    until: datetime


# ----------------------------------------------------------------------------- claiming


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, worker_id: str
) -> list[Outbox]:
    """Claim up to ``limit`` due pending rows, oldest first, for this sender.

    Each row becomes ``sending`` with ``claimed_at``, ``claimed_by`` and one more
    attempt. It is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)
    RETURNING``: on PostgreSQL two senders never take the same row and never wait for
    each other; on SQLite the statement holds the write lock, which is as good.

    The caller must commit before sending anything, so that a crash leaves the rows
    ``sending`` (and :func:`recover_in_flight` finds them), never ``pending``.

    Returns:
        The claimed rows, oldest due first.
    """
    if limit <= 0:
        return []
    due = (
        select(Outbox.id)
        .where(Outbox.state == OutboxState.PENDING.value, Outbox.due_at <= now)
        .order_by(Outbox.due_at, Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await locks.claim(
        session, Outbox, due, sending=OutboxState.SENDING.value, worker_id=worker_id, now=now
    )
    return sorted(claimed, key=lambda row: (row.due_at, row.id))


async def hold_sender_lock(session: AsyncSession, worker_id: str) -> bool:
    """Tell other processes, for as long as this transaction lasts, that the sender
    ``worker_id`` is alive: :func:`recover_in_flight` leaves its rows alone.

    Hold it, in a transaction of its own, from before the sender's first claim until
    every row it claimed is settled. If the process dies, PostgreSQL drops its
    connection and the lock with it. On SQLite (one process) this takes nothing.

    Returns:
        False if it cannot be held just now (another process is checking this sender
        in :func:`recover_in_flight` at this moment): claim nothing, try again soon.
    """
    return await locks.try_hold(session, locks.SENDER, locks.number_of(worker_id))


async def recover_in_flight(session: AsyncSession, now: datetime, worker_id: str) -> int:
    """Mark rows that senders which are gone left ``sending`` as ``unconfirmed``.

    A row another sender claimed is in flight as long as that sender holds its lock
    (:func:`hold_sender_lock`); once the lock is free, the sender's process died (or
    could not record the row's outcome). The row may have been delivered, so it is
    never sent again without a person deciding to: campaign status shows it. The rows
    of a sender alive in another process (PostgreSQL) are left alone. On SQLite,
    where carebot runs one process, every other sender is gone.

    Call it before this sender claims anything, and again whenever it starts to send
    after a pause: a process may have died meanwhile.

    Returns:
        How many rows were marked.
    """
    elsewhere = (Outbox.state == OutboxState.SENDING.value) & or_(
        Outbox.claimed_by != worker_id, Outbox.claimed_by.is_(None)
    )
    claimers = (await session.scalars(select(Outbox.claimed_by).where(elsewhere).distinct())).all()
    # Holding a sender's lock for the rest of this transaction also keeps that sender
    # from starting again (and claiming) while its rows are being marked.
    gone = [
        claimer
        for claimer in claimers
        if claimer is not None
        and await locks.try_hold(session, locks.SENDER, locks.number_of(claimer))
    ]
    if not gone and None not in claimers:
        return 0
    result = await session.execute(
        update(Outbox)
        .where(elsewhere, or_(Outbox.claimed_by.in_(gone), Outbox.claimed_by.is_(None)))
        .values(state=OutboxState.UNCONFIRMED.value, last_error=IN_FLIGHT_AT_RESTART)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result)


# ----------------------------------------------------------------------------- outcomes


async def mark_sent(session: AsyncSession, row_id: int, message_id: int, now: datetime) -> bool:
    """Record that Telegram accepted the message (with its message id).

    Returns:
        Whether the row was ``sending`` and is now ``sent``.
    """
    return await _settle(
        session,
        row_id,
        state=OutboxState.SENT,
        sent_at=now,
        telegram_message_id=message_id,
        last_error=None,
    )


@dataclass(frozen=True)
class Sent:
    """A row Telegram accepted: its message id, and when (and, for the contact log, to
    whom and what)."""

    row_id: int
    message_id: int
    at: datetime
    customer_id: int | None = None
    text: str | None = None


_OUTBOX = cast(Table, Outbox.__table__)
# One statement for many rows (executemany); the bound names differ from the columns'.
_MARK_SENT = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("b_row"), _OUTBOX.c.state == OutboxState.SENDING.value)
    .values(
        state=OutboxState.SENT.value,
        sent_at=bindparam("b_at"),
        telegram_message_id=bindparam("b_message"),
        last_error=None,
    )
)


async def mark_sent_many(session: AsyncSession, sent: Sequence[Sent]) -> None:
    """:func:`mark_sent` for many rows in one statement (what a busy sender records)."""
    if sent:
        await session.execute(
            _MARK_SENT,
            [{"b_row": s.row_id, "b_at": s.at, "b_message": s.message_id} for s in sent],
        )


async def mark_blocked(
    session: AsyncSession, row_id: int, error: str = "Forbidden: bot was blocked by the user"
) -> bool:
    """Record a 403: the customer blocked the bot. Never retried.

    (Marking the customer unreachable is the bot's door's job, ``bot.delivery``.)
    """
    return await _settle(session, row_id, state=OutboxState.BLOCKED, last_error=error)


async def mark_failed(session: AsyncSession, row_id: int, error: str) -> bool:
    """Give up on a row for good (400 chat not found, nothing to say, retries spent)."""
    return await _settle(session, row_id, state=OutboxState.FAILED, last_error=error)


async def mark_unconfirmed(session: AsyncSession, row_id: int, error: str) -> bool:
    """Record that the request went out but no answer came (a timeout): maybe delivered,
    so never resent."""
    return await _settle(session, row_id, state=OutboxState.UNCONFIRMED, last_error=error)


async def skip(session: AsyncSession, row_id: int, reason: SkipReason | str) -> bool:
    """Record that the row is not sent after all, and why."""
    return await _settle(session, row_id, state=OutboxState.SKIPPED, last_error=str(reason))


async def postpone(session: AsyncSession, row_id: int, until: datetime) -> bool:
    """Put a row back to ``pending``, due at ``until``, without using up an attempt: it
    was claimed inside the customer's quiet hours (see :class:`Wait`).

    Returns:
        Whether the row was ``sending`` and is now ``pending``.
    """
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.state == OutboxState.SENDING.value)
        .values(
            state=OutboxState.PENDING.value,
            due_at=until,
            attempts=Outbox.attempts - 1,
            claimed_at=None,
            claimed_by=None,
        )
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def retry_later(
    session: AsyncSession,
    row_id: int,
    error: str,
    at: datetime,
    *,
    max_attempts: int = 5,
    count_attempt: bool = True,
) -> OutboxState | None:
    """Put a row back to ``pending``, due at ``at``; after ``max_attempts`` it is ``failed``.

    Args:
        error: Why this attempt did not work; kept as ``last_error``.
        at: When to try again.
        max_attempts: Attempts (claims) a row gets in all.
        count_attempt: False when the attempt was not the row's fault and should not use
            up one of its attempts (a 429: every send was paused, or the sender stopped
            before sending it).

    Returns:
        The row's new state, or None if it was not ``sending``.
    """
    attempts = Outbox.attempts if count_attempt else Outbox.attempts - 1
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.state == OutboxState.SENDING.value)
        .values(
            attempts=attempts,
            state=case(
                (attempts >= max_attempts, OutboxState.FAILED.value),
                else_=OutboxState.PENDING.value,
            ),
            due_at=case((attempts >= max_attempts, Outbox.due_at), else_=at),
            claimed_at=None,
            claimed_by=None,
            last_error=error,
        )
        .returning(Outbox.state)
        .execution_options(synchronize_session=False)
    )
    state = result.scalar_one_or_none()
    return None if state is None else OutboxState(state)


async def _settle(session: AsyncSession, row_id: int, *, state: OutboxState, **values: Any) -> bool:
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.state == OutboxState.SENDING.value)
        .values(state=state.value, **values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# ----------------------------------------------------------------------------- reading


async def progress(session: AsyncSession, campaign_id: int) -> dict[str, int]:
    """How many of a campaign's rows are in each state (every state, 0 when none)."""
    counts = {state.value: 0 for state in OutboxState}
    rows = await session.execute(
        select(Outbox.state, func.count())
        .where(Outbox.campaign_id == campaign_id)
        .group_by(Outbox.state)
    )
    for state, count in rows:
        counts[state] = int(count)
    return counts


# ----------------------------------------------------------------------------- at send time


async def message_for(
    session: AsyncSession,
    row: Outbox,
    render: Render,
    *,
    company: str,
    default_locale: str,
    countries: Iterable[str] = ("CN",),
    times: SendTimes | None = None,
) -> Message | Skip | Wait:
    """Decide at send time what a claimed row becomes.

    The customer is read now, not when the row was planned: one who opted out, was
    forgotten or blocked the bot since is skipped, and the text is in the language
    the customer has now (or ``default_locale``). A follow-up whose reason went away
    since is skipped too (``NO_LONGER_APPLIES``): one after a resolution whose complaint
    is no longer resolved or closed (reopened, back in progress) or was resolved again
    since (the later resolution has a follow-up of its own), a win-back for a customer
    who has written to us since their quiet spell began (``row.event_at``), and a row of a
    campaign for quiet customers (``quiet:N``) whose customer has written to us since the
    campaign was approved. With ``times`` (the sender always gives them), a row whose
    day is over in the customer's time zone, or has no hour outside quiet hours left, is
    skipped ``TOO_LATE``, and one inside quiet hours with time left waits for their end
    (``Wait``): see ``care.timing``. A campaign row says the campaign's text
    (``texts[locale]``, else the default locale's) or its occasion's template; any other
    row says its ``template``.
    Placeholders: ``name``, ``company``, ``occasion``.

    Raises:
        NoText: The row has no campaign and no template.
    """
    customer = await session.get(Customer, row.customer_id)
    if customer is None or customer.erased_at is not None or customer.chat_id is None:
        return Skip(SkipReason.FORGOTTEN)
    if not customer.consent_care:
        return Skip(SkipReason.OPTED_OUT)
    if not customer.reachable:
        return Skip(SkipReason.UNREACHABLE)
    if customer.channel != Channel.BOT.value:
        return Skip(SkipReason.BUSINESS_CHANNEL)
    if await planning.no_longer_applies(session, row, customer):
        return Skip(SkipReason.NO_LONGER_APPLIES)
    locale = customer.language or default_locale
    countries = tuple(countries)
    campaign = None
    if row.campaign_id is not None:
        campaign = await session.get(Campaign, row.campaign_id)
        if campaign is None or campaign.status == CampaignStatus.CANCELLED.value:
            return Skip(SkipReason.CANCELLED)
        if planning.no_longer_quiet(campaign, customer):
            return Skip(SkipReason.NO_LONGER_APPLIES)
    if times is not None:
        decision = timing.decide(timing.allowed_for(row, customer, campaign, times), times.now)
        if decision.verdict is timing.Verdict.TOO_LATE:
            return Skip(SkipReason.TOO_LATE)
        if decision.at is not None:
            return Wait(decision.at)
    text = row_text(
        row,
        campaign,
        customer,
        locale,
        render,
        company=company,
        default_locale=default_locale,
        countries=countries,
    )
    return Message(chat_id=customer.chat_id, text=text, locale=locale)


async def messages_for(
    session: AsyncSession,
    rows: Sequence[Outbox],
    render: Render,
    *,
    company: str,
    default_locale: str,
    countries: Iterable[str] = ("CN",),
    times: SendTimes | None = None,
) -> list[Message | Skip | Wait | NoText]:
    """:func:`message_for` for many rows, reading their customers, campaigns and the
    complaints of after-resolution follow-ups in at most three queries, not per row.

    Returns:
        One entry per row, in order. A row whose text cannot be made (no campaign and no
        template, or ``render`` raising ``LookupError`` or ``ValueError``, such as an
        unknown template key) gets a ``NoText`` saying why.
    """
    customer_ids = {row.customer_id for row in rows}
    campaign_ids = {row.campaign_id for row in rows if row.campaign_id is not None}
    complaint_ids = planning.complaints_to_check(rows)
    # Read afresh into the session's identity map, where message_for's session.get
    # finds them. The map holds objects weakly: these lists keep them there.
    fresh = {"populate_existing": True}
    loaded: list[Customer | Campaign | Complaint] = []
    if customer_ids:
        found_customers = select(Customer).where(Customer.id.in_(customer_ids))
        loaded += (await session.scalars(found_customers, execution_options=fresh)).all()
    if campaign_ids:
        found_campaigns = select(Campaign).where(Campaign.id.in_(campaign_ids))
        loaded += (await session.scalars(found_campaigns, execution_options=fresh)).all()
    if complaint_ids:
        found_complaints = select(Complaint).where(Complaint.id.in_(complaint_ids))
        loaded += (await session.scalars(found_complaints, execution_options=fresh)).all()
    countries = tuple(countries)
    found: list[Message | Skip | Wait | NoText] = []
    for row in rows:
        try:
            found.append(
                await message_for(
                    session,
                    row,
                    render,
                    company=company,
                    default_locale=default_locale,
                    countries=countries,
                    times=times,
                )
            )
        except NoText as error:
            found.append(error)
        except (LookupError, ValueError) as error:  # the template book refused
            found.append(NoText(f"outbox row {row.id}: {error}"))
    return found
