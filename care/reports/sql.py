"""SQL pieces the reports share, written once for SQLite and PostgreSQL.

Counting and bucketing are done in the database so that only aggregates (or the few
columns percentiles need) come back. Local days and months are bucketed by their
UTC bounds (a ``CASE`` over ranges), which is correct in any time zone on both
databases and needs no time-zone support in SQL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from statistics import fmean, median
from typing import Any

from sqlalchemy import case, func, literal, literal_column, null
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["Spread", "bucket", "dialect_of", "plus_days", "plus_seconds", "ratio"]


def dialect_of(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def plus_days(dialect: str, moment: Any, days: int) -> ColumnElement[Any]:
    """``moment`` and ``days`` days (in the column's own storage format)."""
    return plus_seconds(dialect, moment, int(days) * 86400)


def plus_seconds(dialect: str, moment: Any, seconds: int) -> ColumnElement[Any]:
    """``moment`` and ``seconds`` seconds (in the column's own storage format)."""
    if dialect == "sqlite":
        # The stored format (SQLAlchemy's): "YYYY-MM-DD HH:MM:SS.ffffff", UTC wall time.
        return func.strftime("%Y-%m-%d %H:%M:%f000", moment, f"+{int(seconds)} seconds")
    return moment + literal_column(f"interval '{int(seconds)} seconds'")


def bucket(column: Any, bounds: Sequence[datetime]) -> ColumnElement[Any]:
    """The index ``i`` of the span ``bounds[i] <= column < bounds[i + 1]`` (None outside).

    A balanced tree of ``CASE``s: a month's 31 days cost each row five comparisons, not
    up to 31.
    """

    def within(first: int, last: int) -> Any:
        # The value is known to be in spans first..last (its lower bound checked).
        if first == last:
            return literal(first)
        middle = (first + last + 1) // 2
        return case(
            (column < bounds[middle], within(first, middle - 1)), else_=within(middle, last)
        )

    return case(
        (column < bounds[0], null()),
        (column >= bounds[-1], null()),
        else_=within(0, len(bounds) - 2),
    )


def ratio(part: int | None, whole: int | None) -> float | None:
    """``part / whole``, or None when nothing was measured (``whole`` is 0)."""
    if not whole:
        return None
    return (part or 0) / whole


class Spread:
    """Median, 90th percentile and mean of durations in seconds (None when empty).

    The 90th percentile is the nearest-rank one: the smallest value that at least 90 %
    of the values do not exceed (``sorted[ceil(0.9 n) - 1]``).
    """

    __slots__ = ("count", "mean", "median", "p90")

    def __init__(self, values: Sequence[float]) -> None:
        ordered = sorted(values)
        self.count = len(ordered)
        self.median = float(median(ordered)) if ordered else None
        self.p90 = float(ordered[math.ceil(0.9 * len(ordered)) - 1]) if ordered else None
        self.mean = fmean(ordered) if ordered else None

    def as_dict(self, prefix: str) -> dict[str, float | int | None]:
        return {
            f"{prefix}_median_s": _round(self.median),
            f"{prefix}_p90_s": _round(self.p90),
            f"{prefix}_mean_s": _round(self.mean),
        }


def _round(value: float | None) -> float | None:
    # SQLite's julianday arithmetic is off by microseconds: whole milliseconds are plenty.
    return None if value is None else round(value, 3)
