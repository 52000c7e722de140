"""The span a report covers: local calendar days in the company's time zone, as UTC bounds.

A report is asked for by local days ("September", "this week", "today" in
``CAREBOT_TIMEZONE``), but the database holds UTC. A :class:`Period` is the half-open
UTC span from the first day's local midnight to the midnight after the last day, so a
complaint filed at 23:59 local belongs to its local day, whatever the offset.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Period", "PeriodKind", "month_starts"]


class PeriodKind(enum.StrEnum):
    DAY = "day"
    WEEK = "week"  # Monday to Sunday
    MONTH = "month"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    """Local days ``first`` to ``last`` (both included) in ``timezone``."""

    kind: PeriodKind
    first: date
    last: date
    timezone: str

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("a period must end on or after its first day")

    @classmethod
    def of(cls, kind: PeriodKind, day: date, timezone: str) -> Period:
        """The day, week (Monday to Sunday) or calendar month that holds ``day``."""
        if kind is PeriodKind.DAY:
            return cls(kind, day, day, timezone)
        if kind is PeriodKind.WEEK:
            monday = day - timedelta(days=day.weekday())
            return cls(kind, monday, monday + timedelta(days=6), timezone)
        if kind is PeriodKind.MONTH:
            first = day.replace(day=1)
            return cls(kind, first, _next_month(first) - timedelta(days=1), timezone)
        raise ValueError("a custom period is made with Period.custom")

    @classmethod
    def custom(cls, first: date, last: date, timezone: str) -> Period:
        return cls(PeriodKind.CUSTOM, first, last, timezone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def midnight(self, day: date) -> datetime:
        """The UTC moment a local day begins."""
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self.midnight(self.first)

    @property
    def end(self) -> datetime:
        """The UTC moment after the last day (excluded)."""
        return self.midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def day_bounds(self) -> list[datetime]:
        """Each day's start, and the end: ``len(days) + 1`` UTC moments."""
        return [self.midnight(day) for day in self.days] + [self.end]

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind.value,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "timezone": self.timezone,
        }


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_starts(last_month: date, months: int) -> list[date]:
    """The first days of ``months`` calendar months ending with ``last_month``'s, and of
    the month after them (``months + 1`` dates, oldest first)."""
    first = last_month.replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    starts = [first]
    for _ in range(months):
        starts.append(_next_month(starts[-1]))
    return starts
