"""Service-level targets: when a complaint must be acknowledged and resolved.

Targets are per priority. They count wall-clock time, or only business hours when the
policy has them (e.g. Monday to Friday 09:00-18:00 in the company's time zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from care.models import Priority

_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SPEC = re.compile(
    r"^\s*(mon|tue|wed|thu|fri|sat|sun)(?:\s*-\s*(mon|tue|wed|thu|fri|sat|sun))?\s+"
    r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class BusinessHours:
    """Opening hours: the same window on each of ``weekdays`` (0 = Monday)."""

    weekdays: frozenset[int]
    start: time
    end: time
    timezone: str

    @classmethod
    def parse(cls, spec: str, timezone: str) -> BusinessHours:
        """Read ``"mon-fri 09:00-18:00"``.

        Raises:
            ValueError: if the text is not of that form or the window is empty.
        """
        match = _SPEC.match(spec)
        if not match:
            raise ValueError("business hours must look like 'mon-fri 09:00-18:00'")
        first = _DAYS.index(match.group(1).lower())
        last = _DAYS.index((match.group(2) or match.group(1)).lower())
        days = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        start = time(int(match.group(3)), int(match.group(4)))
        end = time(int(match.group(5)), int(match.group(6)))
        if end <= start:
            raise ValueError("business hours must end after they start")
        return cls(frozenset(days), start, end, timezone)

    def add(self, moment: datetime, duration: timedelta) -> datetime:
        """The moment when ``duration`` of business time has passed after ``moment``."""
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        remaining = duration
        # One window a day: a year of days is far more than any SLA needs.
        for _ in range(366 * 5):
            day = local.date()
            opens = datetime.combine(day, self.start, zone)
            closes = datetime.combine(day, self.end, zone)
            if day.weekday() in self.weekdays and local < closes:
                current = max(local, opens)
                available = closes - current
                if remaining <= available:
                    return (current + remaining).astimezone(UTC)
                remaining -= available
            local = datetime.combine(day + timedelta(days=1), time(0), zone)
        raise ValueError("business hours never open")

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself when open then, else when the hours next open (UTC)."""
        return self.add(moment, timedelta(0))

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside the opening hours."""
        return self.next_opening(moment) == moment.astimezone(UTC)


def _minutes(values: dict[Priority, int]) -> dict[Priority, timedelta]:
    return {priority: timedelta(minutes=minutes) for priority, minutes in values.items()}


@dataclass(frozen=True)
class SlaPolicy:
    """Targets per priority, and when to warn before a deadline."""

    acknowledge: dict[Priority, timedelta] = field(
        default_factory=lambda: _minutes(
            {Priority.NORMAL: 120, Priority.HIGH: 30, Priority.URGENT: 10}
        )
    )
    resolve: dict[Priority, timedelta] = field(
        default_factory=lambda: _minutes(
            {Priority.NORMAL: 48 * 60, Priority.HIGH: 24 * 60, Priority.URGENT: 4 * 60}
        )
    )
    business_hours: BusinessHours | None = None
    # Warn the assignee when this share of the target time is left.
    warn_when_left: float = 0.25

    def _after(self, start: datetime, duration: timedelta) -> datetime:
        if self.business_hours is None:
            return start + duration
        return self.business_hours.add(start, duration)

    def acknowledge_due(self, start: datetime, priority: Priority) -> datetime:
        return self._after(start, self.acknowledge[priority])

    def resolve_due(self, start: datetime, priority: Priority) -> datetime:
        return self._after(start, self.resolve[priority])

    def warn_at(self, due: datetime, target: timedelta) -> datetime:
        """When to warn before ``due`` (in wall-clock time, a share of the target)."""
        return due - target * self.warn_when_left


def business_time_between(hours: BusinessHours, start: datetime, end: datetime) -> timedelta:
    """How much of the span from ``start`` to ``end`` falls within business hours."""
    if end <= start:
        return timedelta(0)
    zone = ZoneInfo(hours.timezone)
    total = timedelta(0)
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        if day.weekday() in hours.weekdays:
            opens = datetime.combine(day, hours.start, zone)
            closes = datetime.combine(day, hours.end, zone)
            overlap = min(closes, end) - max(opens, start)
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total
