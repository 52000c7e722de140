"""A whole report: every figure of a period, overall and by view, as plain values.

:func:`build_report` runs the queries of ``care.reports.complaints``, ``.customers``
and ``.care_messages``; :meth:`Report.as_dict` is the JSON object ``carebot report
--format json`` prints (its keys are documented in docs/reports.md).

Channels: each channel a customer reaches us by has one function in :data:`CHANNELS`
that gives its figures for the period (``complaint`` and ``conversation``). A new
channel adds its function there and appears in the "by channel" view (the JSON's
``by.channel``) and the workbook, with no other change. The conversation channel has
its own figures by staff member too (the JSON's ``conversations.by_staff``).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import StaffMember
from care.reports import care_messages, customers
from care.reports import conversations as conversation_figures
from care.reports.care_messages import CareFigures
from care.reports.complaints import ComplaintCube, ComplaintFigures, complaint_figures, rows_of
from care.reports.customers import Churn, Cohort, DayFigures, Volumes
from care.reports.faq import FaqFigures, faq_figures
from care.reports.period import Period
from care.reports.sql import dialect_of, ratio
from care.sla import BusinessHours

__all__ = ["CHANNELS", "Dimension", "Report", "ReportSettings", "View", "build_report"]


class Dimension(enum.StrEnum):
    """What a view of the complaint figures is broken down by."""

    CATEGORY = "category"
    PRIORITY = "priority"
    STAFF = "staff"
    CHANNEL = "channel"


@dataclass(frozen=True)
class ReportSettings:
    """What a report needs to know besides the period."""

    churn_days: int = 90
    business_hours: BusinessHours | None = None
    cohort_months: int = 6
    # An FAQ answer not followed by "ask a person" or a message this long deflected.
    faq_quiet_after: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class ViewRow:
    """One line of a view: its key (a category, a staff member's name …) and figures."""

    key: str
    figures: dict[str, Any]


@dataclass(frozen=True)
class View:
    dimension: Dimension
    rows: list[ViewRow]


@dataclass(frozen=True)
class Known:
    """What a report has computed already, for the channels to reuse."""

    complaints: ComplaintCube
    overall: ComplaintFigures
    conversations: conversation_figures.ConversationReport


# A channel's figures for a period: (session, period, now, settings, known) → its row.
ChannelFigures = Callable[
    [AsyncSession, Period, datetime, ReportSettings, Known], Awaitable[ViewRow]
]


async def complaint_channel(
    session: AsyncSession, period: Period, now: datetime, settings: ReportSettings, known: Known
) -> ViewRow:
    """The complaint channel: the period's complaint figures as a whole (computed for
    the report already)."""
    return ViewRow("complaint", known.overall.as_dict())


async def conversation_channel(
    session: AsyncSession, period: Period, now: datetime, settings: ReportSettings, known: Known
) -> ViewRow:
    """The conversation channel: the period's conversations as a whole."""
    return ViewRow("conversation", known.conversations.overall.as_dict())


CHANNELS: tuple[ChannelFigures, ...] = (complaint_channel, conversation_channel)


@dataclass
class Report:
    period: Period
    made_at: datetime
    volumes: Volumes
    overall: ComplaintFigures
    churn: Churn
    care: CareFigures
    repeat_contact_rate: float | None
    days: list[DayFigures]
    cohorts: list[Cohort]
    conversations: conversation_figures.ConversationFigures
    faq: FaqFigures
    # The conversation figures by staff member (key: their name; "-": nobody).
    conversation_staff: list[ViewRow] = field(default_factory=list)
    views: list[View] = field(default_factory=list)

    @property
    def complaint_rate(self) -> float | None:
        """Complaints ÷ customers served."""
        return ratio(self.overall.complaints, self.churn.served)

    def view(self, dimension: Dimension) -> View | None:
        return next((v for v in self.views if v.dimension is dimension), None)

    def as_dict(self) -> dict[str, Any]:
        """The report as one JSON-ready object (docs/reports.md lists every key)."""
        return {
            "period": self.period.as_dict(),
            "made_at": self.made_at.isoformat(),
            "new_customers": self.volumes.new_customers,
            "customers_contacting": self.volumes.customers_contacting,
            "contacts_in": self.volumes.contacts_in,
            "contacts_out": self.volumes.contacts_out,
            **self.churn.as_dict(),
            "complaint_rate": self.complaint_rate,
            **self.overall.as_dict(),
            "repeat_contact_rate": self.repeat_contact_rate,
            **self.care.as_dict(),
            **self.faq.as_dict(),
            "conversations": {
                **self.conversations.as_dict(),
                "by_staff": [{"key": row.key, **row.figures} for row in self.conversation_staff],
            },
            "by": {
                view.dimension.value: [{"key": row.key, **row.figures} for row in view.rows]
                for view in self.views
            },
            "days": [day.as_dict() for day in self.days],
            "cohorts": [cohort.as_dict() for cohort in self.cohorts],
        }


async def build_report(
    session: AsyncSession,
    period: Period,
    now: datetime,
    settings: ReportSettings,
    views: Sequence[Dimension] = tuple(Dimension),
) -> Report:
    """Every figure of ``period`` as known at ``now``, with the breakdowns ``views``.

    On PostgreSQL, JIT compilation is off for the caller's transaction: the planner
    thinks these queries costly enough to compile, and compiling takes seconds while
    running them takes a fraction of one.
    """
    if dialect_of(session) == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))
    cube = await complaint_figures(session, period, now, settings.business_hours)
    talks = await conversation_figures.conversation_figures(session, period, now)
    known = Known(cube, cube.by(None)[None], talks)
    days = await customers.days(session, period, now)
    for day, opened in zip(
        days, await conversation_figures.opened_per_day(session, period), strict=True
    ):
        day.conversations = opened
    writers = await customers.writers(session, period)
    report = Report(
        period=period,
        made_at=now,
        volumes=await customers.volumes(session, period, days, writers),
        overall=known.overall,
        churn=await customers.churn(session, period, now, settings.churn_days),
        care=await care_messages.care_figures(session, period, now),
        repeat_contact_rate=writers.repeat_contact_rate,
        days=days,
        cohorts=await customers.cohorts(session, period, settings.cohort_months),
        conversations=talks.overall,
        faq=await faq_figures(session, period, settings.faq_quiet_after),
    )
    names = await _names(session, [key for key in talks.by_staff if key is not None])
    report.conversation_staff = [
        ViewRow(_label(figures.key, names), figures.as_dict())
        for figures in sorted(
            talks.by_staff.values(), key=lambda f: (f.key is None, _label(f.key, names))
        )
    ]
    for dimension in views:
        report.views.append(await _view(session, period, now, settings, dimension, known))
    return report


async def _view(
    session: AsyncSession,
    period: Period,
    now: datetime,
    settings: ReportSettings,
    dimension: Dimension,
    known: Known,
) -> View:
    if dimension is Dimension.CHANNEL:
        rows = [await channel(session, period, now, settings, known) for channel in CHANNELS]
        return View(dimension, rows)
    found = known.complaints.by(dimension.value)
    names: dict[Any, str] = {}
    if dimension is Dimension.STAFF:
        names = await _names(session, [k for k in found if k is not None])
    rows = [ViewRow(_label(figures.key, names), figures.as_dict()) for figures in rows_of(found)]
    return View(dimension, rows)


async def _names(session: AsyncSession, ids: list[Any]) -> dict[Any, str]:
    """Staff members' names by id (their id when they have none)."""
    if not ids:
        return {}
    return {
        member_id: name or str(member_id)
        for member_id, name in await session.execute(
            select(StaffMember.id, StaffMember.name).where(StaffMember.id.in_(ids))
        )
    }


def _label(key: Any, names: dict[Any, str]) -> str:
    if key is None:
        return "-"
    return names.get(key, str(key))
