"""Churn handling by importance (the seeds: 关键客户 / 普通客户 / 小客户): which customers
whose churn risk turned high still wait to be handled, how much each matters, and the
record that they were handled (``handlers.segments`` alerts supervisors of key ones and
gives normal ones the win-back follow-up). The risk itself is computed in
``care.segments``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care import segments
from care.models import Customer, CustomerTag
from care.segments import BATCH_SIZE, ChurnReason, ChurnRisk, SegmentRules, ValueSegment

_CUSTOMER = cast(Table, Customer.__table__)


class Importance(enum.StrEnum):
    """How hard we try to keep a customer (the seeds: 关键客户 / 普通客户 / 小客户)."""

    KEY = "key"  # do everything to win them back: supervisors are alerted
    NORMAL = "normal"  # try: the win-back follow-up
    SMALL = "small"  # opportunistic: nothing extra


@dataclass(frozen=True)
class RiskCase:
    """A customer whose churn risk is high and was not handled yet."""

    customer_id: int
    importance: Importance
    value_segment: str | None
    reasons: tuple[ChurnReason, ...]
    tags: tuple[str, ...]


def _reasons(text: str | None) -> tuple[ChurnReason, ...]:
    known = {reason.value for reason in ChurnReason}
    return tuple(ChurnReason(part) for part in (text or "").split(",") if part in known)


def importance(value: str | None, tags: Iterable[str], rules: SegmentRules) -> Importance:
    """Key: a star, or tagged with one of ``rules.key_tags``; small: a dog; else normal."""
    if value == ValueSegment.STAR.value or set(tags) & set(rules.key_tags):
        return Importance.KEY
    if value == ValueSegment.DOG.value:
        return Importance.SMALL
    return Importance.NORMAL


async def unhandled_risks(
    session: AsyncSession, rules: SegmentRules, limit: int = BATCH_SIZE
) -> list[RiskCase]:
    """Customers whose churn risk is high and not yet handled, with their importance.

    Args:
        session: The caller's transaction.
        rules: Which tags make a customer key.
        limit: At most this many (the oldest ids first); the rest wait for the next run.
    """
    rows = (
        await session.execute(
            select(Customer.id, Customer.value_segment, Customer.churn_reasons)
            .where(
                Customer.churn_risk == ChurnRisk.HIGH.value,
                Customer.churn_handled_at.is_(None),
                Customer.erased_at.is_(None),
                Customer.ended_at.is_(None),  # let go by the company: no win-back
            )
            .order_by(Customer.id)
            .limit(limit)
        )
    ).all()
    tags: dict[int, list[str]] = {row[0]: [] for row in rows}
    if rows:
        for customer_id, tag in await session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag)
            .where(CustomerTag.customer_id.in_(list(tags)))
            .order_by(CustomerTag.tag)
        ):
            tags[customer_id].append(tag)
    return [
        RiskCase(
            customer_id=customer_id,
            importance=importance(value, tags[customer_id], rules),
            value_segment=value,
            reasons=_reasons(reasons),
            tags=tuple(tags[customer_id]),
        )
        for customer_id, value, reasons in rows
    ]


async def mark_handled(session: AsyncSession, customer_ids: Sequence[int], now: datetime) -> None:
    """Record that these customers' high churn risk was handled (alerted, won back or
    deliberately left), so that it is not handled again until it falls and rises."""
    if customer_ids:
        await session.execute(
            update(_CUSTOMER)
            .where(_CUSTOMER.c.id.in_(list(customer_ids)))
            .values(churn_handled_at=now)
        )
        for customer_id in customer_ids:
            segments.keep_loaded_current(session, customer_id, {"churn_handled_at": now})


def reasons_of(text: str | None) -> tuple[ChurnReason, ...]:
    """The churn reasons as stored on the customer (``churn_reasons``)."""
    return _reasons(text)
