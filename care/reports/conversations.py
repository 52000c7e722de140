"""Conversation figures: the conversation channel of a report, overall and by staff member.

A conversation (``care.conversations``) has two deadlines, like a complaint at normal
priority: its first response (a staff answer the customer got) and its resolution (it
is closed). docs/reports.md defines each figure.

- **The period's conversations** are those opened in it; their outcomes are as known
  when the report is made.
- **First response**: the first staff answer (``first_response_at``). On time: by
  ``first_response_due_at``. A breach: later, or none by a deadline that has passed
  while the conversation was still open. A conversation closed before its deadline
  without an answer (nothing was asked) is not counted.
- **Resolution**: its first closing (a conversation answered again after it was closed
  is open again; its first closing ends the resolution time). On time: by
  ``resolve_due_at``; a breach: later, or not closed and the deadline passed.
- **By staff member**: the conversation's assignee, or when nobody took it, the staff
  member who answered it first; ``staff_answers`` counts the answers each one gave in
  the period (to any conversation).

Counts are aggregated in the database (one grouped query over a per-conversation
derived table); the spreads take the moments of the answered or closed conversations
only (the percentiles need the values).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.conversation_models import (
    Conversation,
    ConversationEvent,
    ConversationEventType,
    ConversationStatus,
)
from care.reports.complaints import FRT_BANDS, _aware, _band, _count, _seconds
from care.reports.period import Period
from care.reports.sql import Spread, bucket, ratio

__all__ = ["ConversationFigures", "ConversationReport", "conversation_figures", "opened_per_day"]

E = ConversationEventType


@dataclass
class ConversationFigures:
    """The figures of one staff member's conversations (or of all: ``key`` None)."""

    key: Any = None
    conversations: int = 0
    first_response_deadlines: int = 0
    first_responses_on_time: int = 0
    first_response_breaches: int = 0
    resolve_deadlines: int = 0
    resolved_on_time: int = 0
    resolve_breaches: int = 0
    closed: int = 0  # closed at least once
    staff_answers: int = 0  # answers given in the period
    first_response: Spread = field(default_factory=lambda: Spread(()))
    resolution: Spread = field(default_factory=lambda: Spread(()))
    frt_distribution: dict[str, int] = field(
        default_factory=lambda: {label: 0 for label, _ in FRT_BANDS}
    )

    @property
    def first_response_on_time_rate(self) -> float | None:
        return ratio(self.first_responses_on_time, self.first_response_deadlines)

    @property
    def resolve_on_time_rate(self) -> float | None:
        return ratio(self.resolved_on_time, self.resolve_deadlines)

    def set_durations(self, responses: list[float], resolutions: list[float]) -> None:
        self.first_response = Spread(responses)
        self.resolution = Spread(resolutions)
        bands = {label: 0 for label, _ in FRT_BANDS}
        for value in responses:
            bands[_band(value)] += 1
        self.frt_distribution = bands

    def as_dict(self) -> dict[str, Any]:
        """The figures under the complaint figures' names where they mean the same (the
        first response deadline is the conversation's acknowledge deadline), so that the
        "by channel" view lines them up."""
        return {
            "conversations": self.conversations,
            "ack_deadlines": self.first_response_deadlines,
            "acknowledged_on_time": self.first_responses_on_time,
            "ack_breaches": self.first_response_breaches,
            "ack_on_time_rate": self.first_response_on_time_rate,
            "resolve_deadlines": self.resolve_deadlines,
            "resolved_on_time": self.resolved_on_time,
            "resolve_breaches": self.resolve_breaches,
            "resolve_on_time_rate": self.resolve_on_time_rate,
            "first_responses": self.first_response.count,
            **self.first_response.as_dict("first_response"),
            "resolutions": self.resolution.count,
            **self.resolution.as_dict("resolution"),
            "first_response_distribution": dict(self.frt_distribution),
            "closed": self.closed,
            "staff_answers": self.staff_answers,
        }


@dataclass
class ConversationReport:
    """The period's conversation figures: overall, and by staff member (their ids)."""

    overall: ConversationFigures
    by_staff: dict[int | None, ConversationFigures]


def _first_event(condition: Any, column: Any = None) -> Any:
    """The first event of the conversation that meets ``condition`` (its ``column``;
    its time when not given), as a correlated scalar subquery."""
    if column is None:
        return (
            select(func.min(ConversationEvent.at))
            .where(ConversationEvent.conversation_id == Conversation.id, condition)
            .scalar_subquery()
        )
    return (
        select(column)
        .where(ConversationEvent.conversation_id == Conversation.id, condition)
        .order_by(ConversationEvent.id)
        .limit(1)
        .scalar_subquery()
    )


CLOSED = and_(
    ConversationEvent.type == E.STATUS.value,
    ConversationEvent.to_status == ConversationStatus.CLOSED.value,
)


async def conversation_figures(
    session: AsyncSession, period: Period, now: datetime
) -> ConversationReport:
    """The conversation figures of ``period`` as known at ``now``."""
    first_answerer = _first_event(ConversationEvent.type == E.STAFF_ANSWER.value,
                                  ConversationEvent.staff_id)  # fmt: skip
    one = (
        select(
            func.coalesce(Conversation.assignee_id, first_answerer).label("staff"),
            Conversation.opened_at.label("opened"),
            Conversation.first_response_due_at.label("fr_due"),
            Conversation.first_response_at.label("fr_at"),
            Conversation.resolve_due_at.label("res_due"),
            _first_event(CLOSED).label("closed_at"),
        )
        .where(Conversation.opened_at >= period.start, Conversation.opened_at < period.end)
        .subquery()
    )
    fr_on_time = and_(one.c.fr_at.is_not(None), one.c.fr_at <= one.c.fr_due)
    fr_late = or_(
        one.c.fr_at > one.c.fr_due,
        and_(
            one.c.fr_at.is_(None),
            one.c.fr_due < now,
            or_(one.c.closed_at.is_(None), one.c.closed_at > one.c.fr_due),
        ),
    )
    res_on_time = and_(one.c.closed_at.is_not(None), one.c.closed_at <= one.c.res_due)
    res_late = or_(
        one.c.closed_at > one.c.res_due,
        and_(one.c.closed_at.is_(None), one.c.res_due < now),
    )
    by_staff: dict[int | None, ConversationFigures] = defaultdict(ConversationFigures)
    for staff, total, fr_ok, fr_bad, res_ok, res_bad, closed in await session.execute(
        select(
            one.c.staff,
            func.count(),
            _count(fr_on_time),
            _count(fr_late),
            _count(res_on_time),
            _count(res_late),
            _count(one.c.closed_at.is_not(None)),
        ).group_by(one.c.staff)
    ):
        figures = by_staff[staff]
        figures.conversations, figures.closed = total, closed
        figures.first_responses_on_time, figures.first_response_breaches = fr_ok, fr_bad
        figures.first_response_deadlines = fr_ok + fr_bad
        figures.resolved_on_time, figures.resolve_breaches = res_ok, res_bad
        figures.resolve_deadlines = res_ok + res_bad

    for staff, answers in await session.execute(
        select(ConversationEvent.staff_id, func.count())
        .where(
            ConversationEvent.type == E.STAFF_ANSWER.value,
            ConversationEvent.at >= period.start,
            ConversationEvent.at < period.end,
        )
        .group_by(ConversationEvent.staff_id)
    ):
        by_staff[staff].staff_answers = answers

    # The durations: only the conversations answered or closed, three columns each.
    responses: dict[int | None, list[float]] = defaultdict(list)
    resolutions: dict[int | None, list[float]] = defaultdict(list)
    timed = select(one.c.staff, one.c.opened, one.c.fr_at, one.c.closed_at).where(
        or_(one.c.fr_at.is_not(None), one.c.closed_at.is_not(None))
    )
    for staff, opened, answered, closed_at in await session.execute(timed):
        opened = _aware(opened)
        if (seconds := _seconds(opened, answered)) is not None:
            responses[staff].append(seconds)
        if (seconds := _seconds(opened, closed_at)) is not None:
            resolutions[staff].append(seconds)

    overall = ConversationFigures()
    for staff, figures in by_staff.items():
        figures.key = staff
        figures.set_durations(responses[staff], resolutions[staff])
        for name in ADDITIVE:
            setattr(overall, name, getattr(overall, name) + getattr(figures, name))
    overall.set_durations(
        [v for values in responses.values() for v in values],
        [v for values in resolutions.values() for v in values],
    )
    return ConversationReport(overall, dict(by_staff))


ADDITIVE = (
    "conversations", "first_response_deadlines", "first_responses_on_time",
    "first_response_breaches", "resolve_deadlines", "resolved_on_time", "resolve_breaches",
    "closed", "staff_answers",
)  # fmt: skip


async def opened_per_day(session: AsyncSession, period: Period) -> list[int]:
    """How many conversations were opened on each local day of ``period``."""
    counts = [0] * len(period.days)
    day_of = bucket(Conversation.opened_at, period.day_bounds())
    for index, opened in await session.execute(
        select(day_of, func.count())
        .where(Conversation.opened_at >= period.start, Conversation.opened_at < period.end)
        .group_by(day_of)
    ):
        counts[index] = opened
    return counts
