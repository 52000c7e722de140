"""Segment history: when a customer's computed type, lifecycle stage, value × relationship
quadrant or churn risk changed, from what to what (docs/segments.md).

``care.segments`` writes a :class:`SegmentChange` for each of those columns a
classification changes, in the same transaction as the change (a first classification,
from nothing, is not a change). Staff see the last few on the customer's card
(``/customer``, ``carebot customer show``). Erasing the customer (``care.privacy``)
keeps them: they are codes, not words, and the row is anonymous then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from care.models import Base

__all__ = ["TRACKED", "SegmentChange", "SegmentChangeLine", "last_changes", "record_changes"]

# The computed columns whose changes are kept (the churn reasons go with the risk).
TRACKED = ("customer_type", "lifecycle_stage", "value_segment", "churn_risk")
# How many changes a card shows.
CARD_CHANGES = 5


class SegmentChange(Base):
    """One change of one computed segment of a customer."""

    __tablename__ = "segment_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    field: Mapped[str] = mapped_column(String(16))  # one of TRACKED
    old_value: Mapped[str | None] = mapped_column(String(16))
    new_value: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_segment_change_customer", "customer_id", "id"),)


@dataclass(frozen=True)
class SegmentChangeLine:
    at: datetime
    field: str
    old_value: str | None
    new_value: str | None


async def record_changes(
    session: AsyncSession,
    changes: Sequence[tuple[int, dict[str, Any], dict[str, Any]]],
    now: datetime,
) -> int:
    """Record the tracked columns that differ between ``before`` and ``after`` for each
    ``(customer id, before, after)``, in one statement. Returns how many rows."""
    rows = [
        {"customer_id": customer_id, "at": now, "field": name,
         "old_value": before.get(name), "new_value": after.get(name)}
        for customer_id, before, after in changes
        for name in TRACKED
        if before.get(name) is not None and before.get(name) != after.get(name)
    ]  # fmt: skip
    if rows:
        await session.execute(insert(SegmentChange), rows)
    return len(rows)


async def last_changes(
    session: AsyncSession, customer_id: int, limit: int = CARD_CHANGES
) -> list[SegmentChangeLine]:
    """The customer's last ``limit`` segment changes, newest first."""
    found = await session.execute(
        select(SegmentChange.at, SegmentChange.field, SegmentChange.old_value,
               SegmentChange.new_value)
        .where(SegmentChange.customer_id == customer_id)
        .order_by(SegmentChange.id.desc())
        .limit(limit)
    )  # fmt: skip
    return [SegmentChangeLine(*row) for row in found]
