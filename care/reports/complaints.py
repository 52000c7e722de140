"""Complaint figures: timeliness (及时率), response and resolution times, satisfaction.

One function computes them for the period's complaints as a whole or grouped by a
column (category, priority, assignee): each query groups by the same key, so the
overall figures and every breakdown are the same code.

- **The period's complaints** are those filed in it (drafts never count); their
  outcomes (acknowledged, resolved, reopened) are as known when the report is made.
- **Ratings** are those given in the period; **surveys sent** are the resolutions made
  in it (each resolution asks for a rating), and the response rate counts the ratings
  of those resolutions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from care.models import (
    Complaint,
    ComplaintEvent,
    ComplaintEventType,
    ComplaintRating,
    ComplaintStatus,
)
from care.reports.period import Period
from care.reports.sql import Spread, ratio
from care.sla import BusinessHours, business_time_between

__all__ = ["FRT_BANDS", "ComplaintFigures", "complaint_figures"]

# The first-response distribution's bands: (label, upper bound in hours; None: no bound).
FRT_BANDS: tuple[tuple[str, float | None], ...] = (
    ("0-1h", 1),
    ("1-4h", 4),
    ("4-8h", 8),
    ("8-24h", 24),
    (">24h", None),
)

# A rating this low is a complaint about the complaint: what became of it is reported.
LOW_RATING = 2
GOOD_RATING = 4


@dataclass
class ComplaintFigures:
    """The figures of one group of complaints (or of all of them: ``key`` None)."""

    key: Any = None
    complaints: int = 0
    ack_deadlines: int = 0
    acknowledged_on_time: int = 0
    ack_breaches: int = 0
    resolve_deadlines: int = 0
    resolved_on_time: int = 0
    resolve_breaches: int = 0
    resolved: int = 0  # resolved at least once
    reopened: int = 0  # reopened at least once
    first_response: Spread = field(default_factory=lambda: Spread(()))
    resolution: Spread = field(default_factory=lambda: Spread(()))
    first_response_business: Spread | None = None
    resolution_business: Spread | None = None
    frt_distribution: dict[str, int] = field(default_factory=lambda: _empty_bands())
    ratings: int = 0
    good_ratings: int = 0
    rating_sum: int = 0
    surveys_sent: int = 0
    surveys_answered: int = 0
    low_ratings: int = 0
    low_ratings_reopened: int = 0
    low_ratings_recovered: int = 0

    def add(self, other: ComplaintFigures) -> None:
        """Add the counts of ``other`` (a finer group) to these."""
        for name in ADDITIVE:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def set_durations(self, rows: Sequence[_Timed], business_hours: bool) -> None:
        """The spreads and the first-response distribution of ``rows``' durations."""
        responses = [r.first_response for r in rows if r.first_response is not None]
        self.first_response = Spread(responses)
        self.resolution = Spread([r.resolution for r in rows if r.resolution is not None])
        bands = _empty_bands()
        for value in responses:
            bands[_band(value)] += 1
        self.frt_distribution = bands
        if business_hours:
            self.first_response_business = Spread(
                [r.first_response_business for r in rows if r.first_response_business is not None]
            )
            self.resolution_business = Spread(
                [r.resolution_business for r in rows if r.resolution_business is not None]
            )

    @property
    def ack_on_time_rate(self) -> float | None:
        return ratio(self.acknowledged_on_time, self.ack_deadlines)

    @property
    def resolve_on_time_rate(self) -> float | None:
        return ratio(self.resolved_on_time, self.resolve_deadlines)

    @property
    def csat_score(self) -> float | None:
        """Ratings of 4 or 5 ÷ ratings × 100 (a score from 0 to 100, as the seeds define it)."""
        share = ratio(self.good_ratings, self.ratings)
        return None if share is None else round(share * 100, 2)

    @property
    def rating_average(self) -> float | None:
        share = ratio(self.rating_sum, self.ratings)
        return None if share is None else round(share, 3)

    @property
    def rating_response_rate(self) -> float | None:
        return ratio(self.surveys_answered, self.surveys_sent)

    @property
    def reopen_rate(self) -> float | None:
        return ratio(self.reopened, self.resolved)

    def as_dict(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "complaints": self.complaints,
            "ack_deadlines": self.ack_deadlines,
            "acknowledged_on_time": self.acknowledged_on_time,
            "ack_breaches": self.ack_breaches,
            "ack_on_time_rate": self.ack_on_time_rate,
            "resolve_deadlines": self.resolve_deadlines,
            "resolved_on_time": self.resolved_on_time,
            "resolve_breaches": self.resolve_breaches,
            "resolve_on_time_rate": self.resolve_on_time_rate,
            "first_responses": self.first_response.count,
            **self.first_response.as_dict("first_response"),
            "resolutions": self.resolution.count,
            **self.resolution.as_dict("resolution"),
        }
        for name, business in (
            ("first_response_business", self.first_response_business),
            ("resolution_business", self.resolution_business),
        ):
            figures.update((business or Spread(())).as_dict(name))
        figures.update(
            first_response_distribution=dict(self.frt_distribution),
            ratings=self.ratings,
            csat_score=self.csat_score,
            rating_average=self.rating_average,
            surveys_sent=self.surveys_sent,
            rating_response_rate=self.rating_response_rate,
            low_ratings=self.low_ratings,
            low_ratings_reopened=self.low_ratings_reopened,
            low_ratings_recovered=self.low_ratings_recovered,
            resolved=self.resolved,
            reopened=self.reopened,
            reopen_rate=self.reopen_rate,
        )
        return figures


# The counts, which add up from finer groups to coarser ones.
ADDITIVE = (
    "complaints", "ack_deadlines", "acknowledged_on_time", "ack_breaches",
    "resolve_deadlines", "resolved_on_time", "resolve_breaches", "resolved", "reopened",
    "ratings", "good_ratings", "rating_sum", "surveys_sent", "surveys_answered",
    "low_ratings", "low_ratings_reopened", "low_ratings_recovered",
)  # fmt: skip


def _empty_bands() -> dict[str, int]:
    return {label: 0 for label, _ in FRT_BANDS}


def _band(seconds: float) -> str:
    for label, hours in FRT_BANDS:
        if hours is None or seconds < hours * 3600:
            return label
    raise AssertionError("the last band has no bound")


def _in(column: Any, period: Period) -> Any:
    return and_(column >= period.start, column < period.end)


def filed_in(period: Period) -> Any:
    """The period's complaints: filed in it, drafts never."""
    return and_(_in(Complaint.filed_at, period), Complaint.status != ComplaintStatus.DRAFT.value)


# The finest grouping the reports need; every view (and the whole) is a roll-up of it.
GROUPING = (Complaint.category, Complaint.priority, Complaint.assignee_id)
GROUP_INDEX = {"category": 0, "priority": 1, "staff": 2}

Cell = tuple[Any, Any, Any]  # (category, priority, assignee id)


@dataclass
class _Timed:
    """One complaint's durations (seconds; None when not reached), for the spreads."""

    cell: Cell
    first_response: float | None
    resolution: float | None
    first_response_business: float | None = None
    resolution_business: float | None = None


@dataclass
class ComplaintCube:
    """The period's complaint figures by (category, priority, assignee), and each
    complaint's durations: any view, and the whole, is rolled up from them."""

    cells: dict[Cell, ComplaintFigures]
    timed: list[_Timed]
    business_hours: bool

    def by(self, dimension: str | None) -> dict[Any, ComplaintFigures]:
        """The figures by ``dimension`` (category, priority, staff), or of all
        complaints (None: one entry, under the key None, even when empty)."""
        index = GROUP_INDEX[dimension] if dimension is not None else None

        def key_of(cell: Cell) -> Any:
            return None if index is None else cell[index]

        found: dict[Any, ComplaintFigures] = defaultdict(ComplaintFigures)
        for cell, figures in self.cells.items():
            found[key_of(cell)].add(figures)
        spans: dict[Any, list[_Timed]] = defaultdict(list)
        for timed in self.timed:
            spans[key_of(timed.cell)].append(timed)
        for key, rows in spans.items():
            found[key].set_durations(rows, self.business_hours)
        if index is None:
            found[None].key = None  # present even when nothing was filed
        for key, figures in found.items():
            figures.key = key
        return dict(found)


async def complaint_figures(
    session: AsyncSession,
    period: Period,
    now: datetime,
    business_hours: BusinessHours | None = None,
) -> ComplaintCube:
    """The complaint figures of ``period``, by (category, priority, assignee).

    A deadline counts once it is met or missed: acknowledged (or resolved) by it is on
    time; late, or not done when it passed, is a breach; a deadline still ahead and not
    met yet is not counted. Once late, a complaint stays late after a reopening.
    """
    cells: dict[Cell, ComplaintFigures] = defaultdict(ComplaintFigures)

    ack_on_time = Complaint.acknowledged_on_time.is_(True)
    ack_late = Complaint.acknowledged_on_time.is_(False) | and_(
        Complaint.acknowledged_on_time.is_(None), Complaint.acknowledge_due_at < now
    )
    resolve_on_time = Complaint.resolved_on_time.is_(True)
    resolve_late = Complaint.resolved_on_time.is_(False) | and_(
        Complaint.resolved_on_time.is_(None), Complaint.resolve_due_at < now
    )
    was_reopened = exists().where(
        ComplaintEvent.complaint_id == Complaint.id,
        ComplaintEvent.type == ComplaintEventType.STATUS.value,
        ComplaintEvent.to_status == ComplaintStatus.REOPENED.value,
    )

    rows = await session.execute(
        select(
            *GROUPING,
            func.count(),
            _count(Complaint.acknowledge_due_at.is_not(None) & ack_on_time),
            _count(Complaint.acknowledge_due_at.is_not(None) & ack_late),
            _count(Complaint.resolve_due_at.is_not(None) & resolve_on_time),
            _count(Complaint.resolve_due_at.is_not(None) & resolve_late),
            _count(Complaint.times_resolved > 0),
            _count(was_reopened),
        )
        .where(filed_in(period))
        .group_by(*GROUPING)
    )
    for category, priority, assignee, total, ack_ok, ack_bad, res_ok, res_bad, done, again in rows:
        figures = cells[(category, priority, assignee)]
        figures.complaints = total
        figures.acknowledged_on_time, figures.ack_breaches = ack_ok, ack_bad
        figures.ack_deadlines = ack_ok + ack_bad
        figures.resolved_on_time, figures.resolve_breaches = res_ok, res_bad
        figures.resolve_deadlines = res_ok + res_bad
        figures.resolved, figures.reopened = done, again

    await _ratings(session, period, cells)
    timed = await _durations(session, period, business_hours)
    return ComplaintCube(dict(cells), timed, business_hours is not None)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# The first response: staff took the complaint out of "new" (accepting, replying or
# changing its status: the customer then knows someone is on it).
FIRST_RESPONSE = and_(
    ComplaintEvent.type == ComplaintEventType.STATUS.value,
    ComplaintEvent.from_status == ComplaintStatus.NEW.value,
    ComplaintEvent.by_customer.is_(False),
)
# A resolution (the first one ends the resolution time: a reopened complaint's later
# ones do not restart the clock; every one asks for a rating).
RESOLVED = and_(
    ComplaintEvent.type == ComplaintEventType.STATUS.value,
    ComplaintEvent.to_status == ComplaintStatus.RESOLVED.value,
)


async def _durations(
    session: AsyncSession, period: Period, business_hours: BusinessHours | None
) -> list[_Timed]:
    """Each of the period's complaints' first response and resolution, in seconds, with
    the business-hours variants when there are hours. Only these columns come back: the
    group, the filing and the two moments (each found by one seek in the complaint's
    events)."""

    def first(condition: Any) -> Any:
        return (
            select(func.min(ComplaintEvent.at))
            .where(ComplaintEvent.complaint_id == Complaint.id, condition)
            .scalar_subquery()
        )

    query = select(*GROUPING, Complaint.filed_at, first(FIRST_RESPONSE), first(RESOLVED)).where(
        filed_in(period)
    )
    timed = []
    for category, priority, assignee, filed, answered, done in await session.execute(query):
        if answered is None and done is None:
            continue
        filed = _aware(filed)
        row = _Timed(
            (category, priority, assignee),
            _seconds(filed, answered),
            _seconds(filed, done),
        )
        if business_hours is not None:
            row.first_response_business = _business(business_hours, filed, answered)
            row.resolution_business = _business(business_hours, filed, done)
        timed.append(row)
    return timed


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max((_aware(end) - start).total_seconds(), 0.0)


def _business(hours: BusinessHours, start: datetime, end: datetime | None) -> float | None:
    if end is None:
        return None
    return business_time_between(hours, _aware(start), _aware(end)).total_seconds()


def _aware(moment: datetime) -> datetime:
    # A scalar subquery's column comes back without the model's type on SQLite.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def _ratings(
    session: AsyncSession, period: Period, cells: dict[Cell, ComplaintFigures]
) -> None:
    later = aliased(ComplaintRating)
    recovered = exists().where(
        later.complaint_id == ComplaintRating.complaint_id,
        later.resolution > ComplaintRating.resolution,
        later.score >= GOOD_RATING,
    )
    reopened_after = exists().where(
        ComplaintEvent.complaint_id == ComplaintRating.complaint_id,
        ComplaintEvent.type == ComplaintEventType.STATUS.value,
        ComplaintEvent.to_status == ComplaintStatus.REOPENED.value,
        ComplaintEvent.at >= ComplaintRating.rated_at,
    )
    low = ComplaintRating.score <= LOW_RATING

    rated = await session.execute(
        select(
            *GROUPING,
            func.count(),
            _count(ComplaintRating.score >= GOOD_RATING),
            func.coalesce(func.sum(ComplaintRating.score), 0),
            _count(low),
            _count(low & reopened_after),
            _count(low & recovered),
        )
        .join(Complaint, Complaint.id == ComplaintRating.complaint_id)
        .where(_in(ComplaintRating.rated_at, period))
        .group_by(*GROUPING)
    )
    for category, priority, assignee, total, good, score_sum, low_count, reopens, wins in rated:
        figures = cells[(category, priority, assignee)]
        figures.ratings, figures.good_ratings, figures.rating_sum = total, good, score_sum
        figures.low_ratings = low_count
        figures.low_ratings_reopened, figures.low_ratings_recovered = reopens, wins

    # Surveys: every resolution made in the period asks for a rating.
    sent = await session.execute(
        select(*GROUPING, func.count())
        .select_from(ComplaintEvent)
        .join(Complaint, Complaint.id == ComplaintEvent.complaint_id)
        .where(RESOLVED, _in(ComplaintEvent.at, period))
        .group_by(*GROUPING)
    )
    for category, priority, assignee, total in sent:
        cells[(category, priority, assignee)].surveys_sent = total
    answered = await session.execute(
        select(*GROUPING, func.count())
        .select_from(ComplaintRating)
        .join(Complaint, Complaint.id == ComplaintRating.complaint_id)
        .where(_in(ComplaintRating.resolved_at, period))
        .group_by(*GROUPING)
    )
    for category, priority, assignee, total in answered:
        cells[(category, priority, assignee)].surveys_answered = total


def rows_of(found: dict[Any, ComplaintFigures]) -> Sequence[ComplaintFigures]:
    """The groups, ordered by key (None last)."""
    return sorted(found.values(), key=lambda f: (f.key is None, str(f.key)))
