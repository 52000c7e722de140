"""What the outbox did with messages that belong to no campaign: follow-ups and personal
greetings (birthdays, anniversaries), rule by rule.

Campaigns have their own status (``care.campaigns.status``). These rows have no
campaign to look at, so this is where staff see them, above all the ``unconfirmed``
ones: in flight when a sender stopped, maybe delivered, never sent again, and worth a
look by a person; and the customers the planner could not plan a rule for
(``not_planned``: an error with their data, see ``care.followups``), which are no
messages and are named apart, not counted with them.

The planner puts a follow-up into the outbox only a day ahead, so right after a
resolution the outbox holds nothing for it yet. :func:`coming_up` says which follow-ups
the rules will plan on the days after that, from the events on record (a complaint
reopened or a customer who writes meanwhile may still change them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.engine import FollowUpRules
from care.followups import (
    FIRST_CONTACTS,
    LOOK_AHEAD_DAYS,
    PURCHASES,
    QUIET_SPELLS,
    RESOLUTIONS,
    FollowUp,
)
from care.models import Customer, Outbox, OutboxState
from care.outbox import SkipReason
from care.planning import may_receive_care, zone_of

# At most this many unconfirmed rows are listed by name (the count says how many there are).
UNCONFIRMED_LISTED = 20


@dataclass(frozen=True)
class UnconfirmedRow:
    """One message that may or may not have reached its customer."""

    row_id: int
    customer_id: int
    name: str
    rule: str
    due_at: datetime
    error: str | None


@dataclass(frozen=True)
class NotPlanned:
    """A customer for whom the planner could not plan a rule (the log says why)."""

    customer_id: int
    name: str
    rule: str
    last_at: datetime  # the last time it failed
    times: int  # on how many days it failed


@dataclass(frozen=True)
class DeliveryReport:
    """Rows due in ``[since, until)`` that belong to no campaign."""

    since: datetime
    until: datetime
    counts: dict[str, dict[str, int]]  # rule -> OutboxState value -> rows (only those > 0)
    skipped_because: dict[str, int] = field(default_factory=dict)  # SkipReason value -> rows
    unconfirmed: list[UnconfirmedRow] = field(default_factory=list)  # newest first, at most 20
    not_planned: list[NotPlanned] = field(default_factory=list)  # latest first, at most 20

    def total(self, state: OutboxState) -> int:
        return sum(states.get(state.value, 0) for states in self.counts.values())


async def report(session: AsyncSession, since: datetime, until: datetime) -> DeliveryReport:
    """Count follow-ups and personal greetings due between ``since`` and ``until`` by rule
    and state, say why the skipped ones were skipped, and name the unconfirmed ones.

    Up to four queries; the last three only when there is something to show.
    """
    window = (
        Outbox.campaign_id.is_(None),
        Outbox.due_at >= since,
        Outbox.due_at < until,
    )
    # Inline values, no parameters: PostgreSQL groups by an expression only when its
    # text is the selected one's, and parameters are numbered apart ($1 … $4).
    not_planned = and_(
        Outbox.state == literal_column(f"'{OutboxState.SKIPPED.value}'"),
        Outbox.last_error == literal_column(f"'{SkipReason.NOT_PLANNED.value}'"),
    )
    is_not_planned = case((not_planned, literal_column("1")), else_=literal_column("0"))
    counts: dict[str, dict[str, int]] = {}
    not_planned_rows = 0
    rows = await session.execute(
        select(Outbox.rule, Outbox.state, is_not_planned, func.count())
        .where(*window)
        .group_by(Outbox.rule, Outbox.state, is_not_planned)
    )
    for rule, state, failed, count in rows:
        if failed:
            not_planned_rows += int(count)
        else:
            counts.setdefault(str(rule or "other"), {})[str(state)] = int(count)
    found = DeliveryReport(since, until, dict(sorted(counts.items())))
    if found.total(OutboxState.SKIPPED):
        reasons = await session.execute(
            select(Outbox.last_error, func.count())
            .where(*window, Outbox.state == OutboxState.SKIPPED.value, is_not_planned == 0)
            .group_by(Outbox.last_error)
            .order_by(func.count().desc(), Outbox.last_error)
        )
        found.skipped_because.update({str(reason): int(count) for reason, count in reasons})
    if found.total(OutboxState.UNCONFIRMED):
        unconfirmed = await session.execute(
            select(
                Outbox.id,
                Outbox.customer_id,
                Customer.first_name,
                Customer.last_name,
                Outbox.rule,
                Outbox.due_at,
                Outbox.last_error,
            )
            .join(Customer, Customer.id == Outbox.customer_id)
            .where(*window, Outbox.state == OutboxState.UNCONFIRMED.value)
            .order_by(Outbox.due_at.desc(), Outbox.id.desc())
            .limit(UNCONFIRMED_LISTED)
        )
        found.unconfirmed.extend(
            UnconfirmedRow(
                row_id=row_id,
                customer_id=customer_id,
                name=" ".join(part for part in (first, last) if part) or "",
                rule=str(rule or "other"),
                due_at=due_at,
                error=error,
            )
            for row_id, customer_id, first, last, rule, due_at, error in unconfirmed
        )
    if not_planned_rows:
        last_at = func.max(Outbox.due_at)
        failures = await session.execute(
            select(
                Outbox.customer_id,
                Customer.first_name,
                Customer.last_name,
                Outbox.rule,
                last_at,
                func.count(),
            )
            .join(Customer, Customer.id == Outbox.customer_id)
            .where(*window, not_planned)
            .group_by(Outbox.customer_id, Customer.first_name, Customer.last_name, Outbox.rule)
            .order_by(last_at.desc(), Outbox.customer_id)
            .limit(UNCONFIRMED_LISTED)
        )
        found.not_planned.extend(
            NotPlanned(
                customer_id=customer_id,
                name=" ".join(part for part in (first, last) if part) or "",
                rule=str(rule or "other"),
                last_at=at,
                times=int(times),
            )
            for customer_id, first, last, rule, at, times in failures
        )
    return found


# ----------------------------------------------------------------------------- ahead


@dataclass(frozen=True)
class ComingUp:
    """Follow-ups of one rule that the planner will plan on days still ahead."""

    rule: str
    count: int
    first_day: date  # the earliest of their days (customers' local days)
    last_day: date


async def coming_up(
    session: AsyncSession,
    today: date,
    until: date,
    rules: FollowUpRules,
    default_timezone: str,
) -> list[ComingUp]:
    """The follow-ups due after the planner's horizon (``today`` and the next
    ``LOOK_AHEAD_DAYS``, already in the outbox) up to ``until``, by rule, as the rules
    would plan them from the events on record now.

    One query per rule that is on; each reads only the events whose follow-up may fall
    in those days (a day of margin either side for time zones). Personal greetings
    (birthdays, anniversaries) are not counted.
    """
    first = today + timedelta(days=LOOK_AHEAD_DAYS + 1)
    found = []
    for follow_up, days_after in (
        (RESOLUTIONS, rules.after_resolution_days),
        (FIRST_CONTACTS, rules.after_first_contact_days),
        (PURCHASES, rules.after_purchase_days),
        (QUIET_SPELLS, rules.win_back_quiet_days),
    ):
        if days_after is None or first > until:
            continue
        days = [
            day
            async for day in _follow_up_days(
                session, follow_up, days_after, first, until, default_timezone
            )
        ]
        if days:
            found.append(ComingUp(follow_up.rule.name, len(days), min(days), max(days)))
    return found


async def _follow_up_days(
    session: AsyncSession,
    follow_up: FollowUp,
    days_after: int,
    first: date,
    last: date,
    default_timezone: str,
) -> AsyncIterator[date]:
    """The local day of each follow-up of this rule that falls from ``first`` to ``last``."""
    start = _midnight(first - timedelta(days=days_after + 1))
    end = _midnight(last - timedelta(days=days_after - 2))
    during = (
        follow_up.between(start, end)
        if follow_up.between is not None
        else and_(follow_up.event >= start, follow_up.event < end)
    )
    query = select(Customer.timezone, follow_up.event)
    if follow_up.source is not None:
        query = query.join(follow_up.source, follow_up.source.customer_id == Customer.id)
    query = query.where(*may_receive_care(), *follow_up.where, during)
    zones: dict[str | None, Any] = {}
    for timezone, at in await session.execute(query):
        if at is None:
            continue
        zone = zones.get(timezone) or zones.setdefault(
            timezone, zone_of(timezone, default_timezone)
        )
        day = at.astimezone(zone).date() + timedelta(days=days_after)
        if first <= day <= last:
            yield day


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
