"""Customer figures: volumes, churn (客户流失率), retention (客户保持率), cohorts, and
repeat contact.

- **Customers served** in a period: the relationships alive in it, customers who wrote
  to us (or pressed a button) within ``churn_days`` before its start or during it, and
  who had not already blocked the bot or asked to be forgotten before it began. Erased
  customers keep an anonymous row and their contacts' times (``care.privacy``), so they
  still count, anonymously.
- **Last message**: a customer's ``last_seen_at`` (kept by the contact log) when it is
  before the period's end, else their last inbound contact before it.
- **Customers lost** in the period, each once, for the first of: asked to be
  forgotten in it; blocked the bot in it; the company ended the relationship in it;
  went quiet in it (their last message before the period's end is ``churn_days`` old at
  a moment inside the period, and that moment has passed). The seeds' two kinds: the
  customer left (主动流失, active churn: forgotten, blocked, quiet) or the company ended
  it (被动流失, passive churn: ``Customer.ended_at``, ``carebot customer end``).
- **Churn rate** = lost ÷ served; **retention rate** = 1 − churn rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from care.models import Complaint, ComplaintRating, Contact, Customer, Direction
from care.reports.complaints import GOOD_RATING, filed_in
from care.reports.period import Period, month_starts
from care.reports.sql import bucket, ratio

__all__ = [
    "Churn",
    "Cohort",
    "DayFigures",
    "Volumes",
    "Writers",
    "churn",
    "cohorts",
    "days",
    "volumes",
    "writers",
]

INBOUND = Direction.INBOUND.value


def _in(column: Any, start: datetime, end: datetime) -> Any:
    return and_(column >= start, column < end)


def count_when(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class Volumes:
    new_customers: int
    customers_contacting: int  # distinct customers who wrote to us in the period
    contacts_in: int
    contacts_out: int


async def volumes(
    session: AsyncSession, period: Period, days: list[DayFigures], writers: Writers
) -> Volumes:
    """New customers, customers who wrote, and messages in and out in ``period`` (the
    messages are the days' sums, the writers :func:`writers`' count)."""
    new = await session.scalar(
        select(func.count()).where(_in(Customer.created_at, period.start, period.end))
    )
    return Volumes(
        new_customers=new or 0,
        customers_contacting=writers.total,
        contacts_in=sum(day.contacts_in for day in days),
        contacts_out=sum(day.contacts_out for day in days),
    )


@dataclass(frozen=True)
class Churn:
    served: int
    lost: int
    forgotten: int
    blocked: int
    quiet: int
    passive: int = 0  # the company ended the relationship

    @property
    def active(self) -> int:
        """The customers who left (forgotten, blocked, quiet)."""
        return self.forgotten + self.blocked + self.quiet

    @property
    def churn_rate(self) -> float | None:
        return ratio(self.lost, self.served)

    @property
    def retention_rate(self) -> float | None:
        rate = self.churn_rate
        return None if rate is None else 1 - rate

    def as_dict(self) -> dict[str, Any]:
        return {
            "customers_served": self.served,
            "customers_lost": self.lost,
            "churned_forgotten": self.forgotten,
            "churned_blocked": self.blocked,
            "churned_quiet": self.quiet,
            "churned_active": self.active,
            "churned_passive": self.passive,
            "churn_rate": self.churn_rate,
            "retention_rate": self.retention_rate,
        }


def last_seen_before(end: datetime) -> Any:
    """Each customer's last message to us before ``end`` (a subquery: customer_id, at):
    one seek in the contact index (customer, direction, time) per customer, rather than
    grouping every contact."""
    earlier = aliased(Contact)
    last_at = (
        select(func.max(earlier.created_at))
        .where(
            earlier.customer_id == Customer.id,
            earlier.direction == INBOUND,
            earlier.created_at < end,
        )
        .scalar_subquery()
    )
    # The contact log keeps last_seen_at (the last message to us): when it is before
    # ``end`` it is the answer, and only customers who wrote since need the seek.
    # Materialized, so that each customer's seek is made once, not once per use.
    known = and_(Customer.last_seen_at.is_not(None), Customer.last_seen_at < end)
    return (
        select(
            Customer.id.label("customer_id"),
            case((known, Customer.last_seen_at), else_=last_at).label("at"),
        )
        .where(Customer.created_at < end)
        .cte("last_seen")
        .prefix_with("MATERIALIZED")
    )


async def churn(session: AsyncSession, period: Period, now: datetime, churn_days: int) -> Churn:
    """Customers served and lost in ``period`` (see the module's definitions)."""
    quiet_for = timedelta(days=churn_days)
    start, end = period.start, period.end
    last = last_seen_before(end)
    # Every condition is false, never NULL, for a customer without the moment it tests
    # (NOT NULL would drop them).
    forgotten = and_(Customer.erased_at.is_not(None), _in(Customer.erased_at, start, end))
    blocked = and_(
        ~forgotten,
        Customer.reachable.is_(False),
        Customer.unreachable_since.is_not(None),
        _in(Customer.unreachable_since, start, end),
    )
    ended = and_(
        ~forgotten, ~blocked, Customer.ended_at.is_not(None), _in(Customer.ended_at, start, end)
    )
    quiet = and_(
        ~forgotten,
        ~blocked,
        ~ended,
        last.c.at >= start - quiet_for,
        last.c.at < min(end, now) - quiet_for,
    )
    still_here = and_(
        or_(Customer.erased_at.is_(None), Customer.erased_at >= start),
        or_(
            Customer.reachable.is_not(False),
            Customer.unreachable_since.is_(None),
            Customer.unreachable_since >= start,
        ),
        or_(Customer.ended_at.is_(None), Customer.ended_at >= start),
    )
    row = (
        await session.execute(
            select(
                func.count(),
                count_when(forgotten),
                count_when(blocked),
                count_when(quiet),
                count_when(ended),
            )
            .select_from(Customer)
            .join(last, last.c.customer_id == Customer.id)
            .where(last.c.at >= start - quiet_for, Customer.created_at < end, still_here)
        )
    ).one()
    served, lost_forgotten, lost_blocked, lost_quiet, lost_ended = (int(v or 0) for v in row)
    return Churn(
        served=served,
        lost=lost_forgotten + lost_blocked + lost_quiet + lost_ended,
        forgotten=lost_forgotten,
        blocked=lost_blocked,
        quiet=lost_quiet,
        passive=lost_ended,
    )


@dataclass(frozen=True)
class Writers:
    """Customers who wrote to us in a period, and how many of them had written before."""

    total: int
    returning: int

    @property
    def repeat_contact_rate(self) -> float | None:
        return ratio(self.returning, self.total)


async def writers(session: AsyncSession, period: Period) -> Writers:
    """Customers who wrote in ``period``, and those of them who had written before it
    (the repeat-contact rate: returning ÷ all)."""
    wrote = (
        select(Contact.customer_id.label("customer_id"))
        .where(Contact.direction == INBOUND, _in(Contact.created_at, period.start, period.end))
        .group_by(Contact.customer_id)
        .subquery()
    )
    earlier = aliased(Contact)
    returning = exists().where(
        earlier.customer_id == wrote.c.customer_id,
        earlier.direction == INBOUND,
        earlier.created_at < period.start,
    )
    total, repeat = (
        await session.execute(select(func.count(), count_when(returning)).select_from(wrote))
    ).one()
    return Writers(total=total, returning=repeat)


@dataclass(frozen=True)
class Cohort:
    """Customers who came in one month, and the share of them who wrote in each month
    since (the first is their own month)."""

    month: date
    customers: int
    retained: list[float | None] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cohort": self.month.strftime("%Y-%m"),
            "customers": self.customers,
            "retained": self.retained,
        }


async def cohorts(session: AsyncSession, period: Period, months: int = 6) -> list[Cohort]:
    """The monthly cohort retention table of the ``months`` months up to the period's
    last: for each month's new customers, the share who wrote to us in each month since."""
    starts = month_starts(period.last, months)
    bounds = [period.midnight(day) for day in starts]
    cohort_of = bucket(Customer.created_at, bounds)

    def wrote_in(month: int) -> Any:
        # One index seek per customer and month (customer, direction, time), skipped
        # for a month before the customer came or after the last message they sent.
        return and_(
            Customer.created_at < bounds[month + 1],
            or_(Customer.last_seen_at.is_(None), Customer.last_seen_at >= bounds[month]),
            exists().where(
                Contact.customer_id == Customer.id,
                Contact.direction == INBOUND,
                _in(Contact.created_at, bounds[month], bounds[month + 1]),
            ),
        )

    sizes: dict[int, int] = {}
    active: dict[tuple[int, int], int] = {}
    for index, size, *wrote in await session.execute(
        select(cohort_of, func.count(), *(count_when(wrote_in(m)) for m in range(months)))
        .where(_in(Customer.created_at, bounds[0], bounds[-1]))
        .group_by(cohort_of)
    ):
        sizes[index] = size
        for month, customers in enumerate(wrote):
            active[(index, month)] = customers
    table = []
    for index in range(months):
        size = sizes.get(index, 0)
        retained = [ratio(active.get((index, later), 0), size) for later in range(index, months)]
        table.append(Cohort(starts[index], size, retained))
    return table


@dataclass
class DayFigures:
    """One local day of the period: what the charts draw."""

    day: date
    contacts_in: int = 0
    contacts_out: int = 0
    complaints: int = 0
    ack_deadlines: int = 0
    acknowledged_on_time: int = 0
    ratings: int = 0
    good_ratings: int = 0
    conversations: int = 0  # opened that day (care.reports.conversations)

    @property
    def ack_on_time_rate(self) -> float | None:
        return ratio(self.acknowledged_on_time, self.ack_deadlines)

    @property
    def csat_score(self) -> float | None:
        share = ratio(self.good_ratings, self.ratings)
        return None if share is None else round(share * 100, 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "contacts_in": self.contacts_in,
            "contacts_out": self.contacts_out,
            "complaints": self.complaints,
            "conversations": self.conversations,
            "ack_on_time_rate": self.ack_on_time_rate,
            "ratings": self.ratings,
            "csat_score": self.csat_score,
        }


async def days(session: AsyncSession, period: Period, now: datetime) -> list[DayFigures]:
    """The period day by day (local days): messages, complaints filed and how many were
    acknowledged on time, ratings and CSAT."""
    bounds = period.day_bounds()
    series = [DayFigures(day) for day in period.days]
    day_of = bucket(Contact.created_at, bounds)
    for index, inbound, outbound in await session.execute(
        select(
            day_of,
            count_when(Contact.direction == INBOUND),
            count_when(Contact.direction != INBOUND),
        )
        .where(_in(Contact.created_at, period.start, period.end))
        .group_by(day_of)
    ):
        series[index].contacts_in, series[index].contacts_out = inbound, outbound
    filed_day = bucket(Complaint.filed_at, bounds)
    ack_on_time = Complaint.acknowledged_on_time.is_(True)
    ack_late = Complaint.acknowledged_on_time.is_(False) | and_(
        Complaint.acknowledged_on_time.is_(None), Complaint.acknowledge_due_at < now
    )
    for index, filed, on_time, late in await session.execute(
        select(
            filed_day,
            func.count(),
            count_when(Complaint.acknowledge_due_at.is_not(None) & ack_on_time),
            count_when(Complaint.acknowledge_due_at.is_not(None) & ack_late),
        )
        .where(filed_in(period))
        .group_by(filed_day)
    ):
        series[index].complaints = filed
        series[index].acknowledged_on_time, series[index].ack_deadlines = on_time, on_time + late
    rated_day = bucket(ComplaintRating.rated_at, bounds)
    for index, rated, good in await session.execute(
        select(rated_day, func.count(), count_when(ComplaintRating.score >= GOOD_RATING))
        .where(_in(ComplaintRating.rated_at, period.start, period.end))
        .group_by(rated_day)
    ):
        series[index].ratings, series[index].good_ratings = rated, good
    return series
