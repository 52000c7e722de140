"""Purchases, recorded for follow-up care ("is everything all right with it?")."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from care import segments
from care.models import Customer, Purchase
from care.segments import SegmentRules

MAX_PRODUCT = 128
MAX_REFERENCE = 64
MAX_AMOUNT = Decimal("1e12")  # Purchase.amount is NUMERIC(14, 2)


class PurchaseProblem(enum.StrEnum):
    """Why a purchase was not recorded; the CLI says it in words."""

    NO_SUCH_CUSTOMER = "no_such_customer"
    FORGOTTEN = "forgotten"  # the customer asked to be forgotten
    IN_THE_FUTURE = "in_the_future"
    TOO_LONG = "too_long"
    BAD_AMOUNT = "bad_amount"  # negative, or too large for the column


class PurchaseError(ValueError):
    def __init__(self, problem: PurchaseProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


async def record_purchase(
    session: AsyncSession,
    customer_id: int,
    purchased_at: datetime,
    product: str | None,
    reference: str | None,
    now: datetime,
    amount: Decimal | None = None,
    segment_rules: SegmentRules | None = None,
) -> Purchase:
    """Record a customer's purchase; the planner follows it up some days later.

    Args:
        customer_id: our customer id.
        purchased_at: when it was bought (timezone-aware).
        product: what was bought, if known.
        reference: an order number or similar, if any.
        now: when it is recorded.
        amount: what it was worth, if known (the value × relationship quadrant).
        segment_rules: the thresholds the customer is classified again by
            (``care.segments``); None: the defaults.

    Raises:
        PurchaseError: no such customer, a forgotten one, a purchase in the future, or
            a product or reference too long.
    """
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise PurchaseError(PurchaseProblem.NO_SUCH_CUSTOMER)
    if customer.erased_at is not None:
        raise PurchaseError(PurchaseProblem.FORGOTTEN)
    if purchased_at > now:
        raise PurchaseError(PurchaseProblem.IN_THE_FUTURE)
    product = (product or "").strip() or None
    reference = (reference or "").strip() or None
    if amount is not None and (amount < 0 or amount >= MAX_AMOUNT):
        raise PurchaseError(PurchaseProblem.BAD_AMOUNT)
    if (product and len(product) > MAX_PRODUCT) or (reference and len(reference) > MAX_REFERENCE):
        raise PurchaseError(PurchaseProblem.TOO_LONG)
    purchase = Purchase(
        customer_id=customer_id,
        purchased_at=purchased_at,
        product=product,
        reference=reference,
        amount=amount,
        created_at=now,
    )
    session.add(purchase)
    await session.flush()
    await segments.refresh(session, segment_rules or SegmentRules(), now, [customer_id])
    return purchase
