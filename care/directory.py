"""Staff find a customer and see their card; staff tag customers.

A customer is named as staff know them (:func:`find_customers`): a complaint number
(``C-2026-000123``: its customer), our id (``17``), a Telegram user id (``tg:123456``),
``@username``, a phone number (any way it is written), or part of a name. Forgotten
customers are never found. The card (:func:`customer_card`) is the unified record at a
glance: profile, segments, tags, open complaints, last contacts, ratings, purchases.

Tags (``customer_tag``) are short labels (``vip``, ``wholesale``): letters, digits,
``.``, ``-`` and ``_``, up to 32 characters, kept in lower case. Campaign audiences
select by them (``tag:vip``) and some make a customer key (``care.segments``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.complaints import OPEN_STATUSES
from care.contacts import contact_history
from care.customers import DEFAULT_PHONE_REGION, normalize_phone
from care.models import (
    Complaint,
    ComplaintRating,
    Contact,
    Customer,
    CustomerTag,
    Purchase,
)
from care.segment_history import SegmentChangeLine, last_changes

__all__ = [
    "Card",
    "DirectoryError",
    "DirectoryProblem",
    "Match",
    "add_tag",
    "customer_card",
    "find_customers",
    "normalize_tag",
    "remove_tag",
    "set_tag",
    "tags_of",
]

TAG = re.compile(r"^[\w.-]{1,32}$")
_NUMBER = re.compile(r"^C-(\d{4})-(\d{1,12})$", re.IGNORECASE)
_TELEGRAM = re.compile(r"^tg:(\d{1,18})$", re.IGNORECASE)
MAX_MATCHES = 10
MIN_NAME = 2  # a name search needs at least this many characters
CONTACTS_SHOWN = 5
RATINGS_SHOWN = 5


class DirectoryProblem(enum.StrEnum):
    BAD_TAG = "bad_tag"
    NO_SUCH_CUSTOMER = "no_such_customer"
    TOO_SHORT = "too_short"  # a name search of fewer than MIN_NAME characters


class DirectoryError(ValueError):
    def __init__(self, problem: DirectoryProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def normalize_tag(text: str) -> str:
    """A tag as kept: trimmed, lower case, without a leading ``#``.

    Raises:
        DirectoryError: BAD_TAG (empty, too long, or with other characters).
    """
    tag = text.strip().removeprefix("#").lower()
    if not TAG.match(tag):
        raise DirectoryError(DirectoryProblem.BAD_TAG)
    return tag


async def _live_customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None or customer.erased_at is not None:
        raise DirectoryError(DirectoryProblem.NO_SUCH_CUSTOMER)
    return customer


async def add_tag(session: AsyncSession, customer_id: int, tag: str) -> bool:
    """Tag a customer. Returns whether the tag is new (False: they had it already).

    Raises:
        DirectoryError: BAD_TAG, or NO_SUCH_CUSTOMER (also a forgotten one).
    """
    tag = normalize_tag(tag)
    await _live_customer(session, customer_id)
    if await session.get(CustomerTag, (customer_id, tag)) is not None:
        return False
    session.add(CustomerTag(customer_id=customer_id, tag=tag))
    await session.flush()
    return True


async def remove_tag(session: AsyncSession, customer_id: int, tag: str) -> bool:
    """Take a tag off a customer. Returns whether they had it.

    Raises:
        DirectoryError: BAD_TAG, or NO_SUCH_CUSTOMER.
    """
    tag = normalize_tag(tag)
    await _live_customer(session, customer_id)
    result = await session.execute(
        delete(CustomerTag).where(CustomerTag.customer_id == customer_id, CustomerTag.tag == tag)
    )
    return bool(getattr(result, "rowcount", 0))


async def set_tag(session: AsyncSession, customer_id: int, tag: str, *, on: bool) -> bool:
    """Put a tag on a customer (``on``) or take it off: the one call every way of tagging
    makes (``/tag`` with a customer named, and in a conversation's topic once those
    exist). Returns whether anything changed.

    Raises:
        DirectoryError: BAD_TAG, or NO_SUCH_CUSTOMER (also a forgotten one).
    """
    if on:
        return await add_tag(session, customer_id, tag)
    return await remove_tag(session, customer_id, tag)


async def end_relationship(
    session: AsyncSession, customer_id: int, now: datetime, reason: str | None
) -> bool:
    """Record that the company ended the relationship with the customer (passive churn,
    被动流失, as the seeds define it: e.g. a service contract ended for unpaid debts).
    Returns whether anything changed (False: it was ended already).

    Raises:
        DirectoryError: NO_SUCH_CUSTOMER (also a forgotten one).
    """
    customer = await _live_customer(session, customer_id)
    if customer.ended_at is not None:
        return False
    customer.ended_at = now
    customer.ended_reason = reason.strip()[:200] if reason and reason.strip() else None
    await session.flush()
    return True


async def resume_relationship(session: AsyncSession, customer_id: int) -> bool:
    """Undo :func:`end_relationship` (a mistake, or the company took them back).
    Returns whether it had been ended.

    Raises:
        DirectoryError: NO_SUCH_CUSTOMER (also a forgotten one).
    """
    customer = await _live_customer(session, customer_id)
    if customer.ended_at is None:
        return False
    customer.ended_at = customer.ended_reason = None
    await session.flush()
    return True


async def tags_of(session: AsyncSession, customer_id: int) -> list[str]:
    """The customer's tags, in alphabetical order."""
    found = await session.scalars(
        select(CustomerTag.tag)
        .where(CustomerTag.customer_id == customer_id)
        .order_by(CustomerTag.tag)
    )
    return list(found)


@dataclass(frozen=True)
class Match:
    """A customer found, as a short list shows them."""

    id: int
    name: str
    username: str | None
    phone: str | None


async def find_customers(
    session: AsyncSession, query: str, *, phone_region: str = DEFAULT_PHONE_REGION
) -> list[Match]:
    """The customers ``query`` names (at most ``MAX_MATCHES``, by id), forgotten ones never.

    Exact forms first (a complaint number, ``tg:`` id, ``@username``, our id, a phone
    number); anything else is part of a first or last name (case-insensitive).

    Raises:
        DirectoryError: TOO_SHORT, a name search shorter than ``MIN_NAME`` characters
            (one Chinese character is enough).
    """
    text = query.strip()
    condition: ColumnElement[bool]
    if match := _NUMBER.match(text):
        number = f"C-{match.group(1)}-{int(match.group(2)):06d}"
        condition = Customer.id.in_(select(Complaint.customer_id).where(Complaint.number == number))
    elif match := _TELEGRAM.match(text):
        condition = Customer.telegram_user_id == int(match.group(1))
    elif text.startswith("@") and len(text) > 1:
        condition = func.lower(Customer.username) == text[1:].lower()
    elif text.isascii() and text.isdigit() and len(text) <= 9:
        condition = Customer.id == int(text)
    else:
        try:
            condition = Customer.phone == normalize_phone(text, phone_region)
        except ValueError:
            # One Chinese character (a surname) is a name; one Latin letter is not.
            if len(text) < MIN_NAME and text.isascii():
                raise DirectoryError(DirectoryProblem.TOO_SHORT) from None
            pattern = f"%{_escape_like(text.lower())}%"
            condition = or_(
                func.lower(Customer.first_name).like(pattern, escape="\\"),
                func.lower(Customer.last_name).like(pattern, escape="\\"),
                func.lower(Customer.first_name + " " + Customer.last_name).like(
                    pattern, escape="\\"
                ),
            )
    rows = await session.scalars(
        select(Customer)
        .where(condition, Customer.erased_at.is_(None))
        .order_by(Customer.id)
        .limit(MAX_MATCHES)
    )
    return [Match(id=c.id, name=c.display_name, username=c.username, phone=c.phone) for c in rows]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class ComplaintLine:
    number: str
    status: str
    filed_at: datetime | None


@dataclass(frozen=True)
class RatingLine:
    number: str | None
    score: int
    at: datetime


@dataclass(frozen=True)
class Card:
    """One customer at a glance (plain values; ``handlers`` put them in words)."""

    id: int
    name: str
    username: str | None
    phone: str | None
    language: str | None
    telegram_user_id: int | None
    created_at: datetime
    last_seen_at: datetime | None
    reachable: bool
    ended_at: datetime | None  # the company ended the relationship
    ended_reason: str | None
    consent_care: bool
    customer_type: str
    value_segment: str | None
    lifecycle_stage: str | None
    churn_risk: str | None
    churn_reasons: tuple[str, ...]
    tags: list[str] = field(default_factory=list)
    open_complaints: list[ComplaintLine] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)  # the last few, oldest first
    ratings: list[RatingLine] = field(default_factory=list)
    purchases: int = 0
    purchase_value: Decimal | None = None
    # The last changes of the computed segments, newest first (care.segment_history).
    segment_changes: list[SegmentChangeLine] = field(default_factory=list)


async def customer_card(session: AsyncSession, customer_id: int) -> Card:
    """The customer's card.

    Raises:
        DirectoryError: NO_SUCH_CUSTOMER (also a forgotten one).
    """
    customer = await _live_customer(session, customer_id)
    open_values = [status.value for status in OPEN_STATUSES]
    complaints = await session.execute(
        select(Complaint.number, Complaint.status, Complaint.filed_at)
        .where(Complaint.customer_id == customer_id, Complaint.status.in_(open_values))
        .order_by(Complaint.id)
    )
    ratings = await session.execute(
        select(Complaint.number, ComplaintRating.score, ComplaintRating.rated_at)
        .join(Complaint, Complaint.id == ComplaintRating.complaint_id)
        .where(Complaint.customer_id == customer_id)
        .order_by(ComplaintRating.rated_at.desc())
        .limit(RATINGS_SHOWN)
    )
    bought = (
        await session.execute(
            select(func.count(), func.sum(Purchase.amount)).where(
                Purchase.customer_id == customer_id
            )
        )
    ).one()
    return Card(
        id=customer.id,
        name=customer.display_name,
        username=customer.username,
        phone=customer.phone,
        language=customer.language,
        telegram_user_id=customer.telegram_user_id,
        created_at=customer.created_at,
        last_seen_at=customer.last_seen_at,
        reachable=customer.reachable,
        ended_at=customer.ended_at,
        ended_reason=customer.ended_reason,
        consent_care=customer.consent_care,
        customer_type=customer.customer_type,
        value_segment=customer.value_segment,
        lifecycle_stage=customer.lifecycle_stage,
        churn_risk=customer.churn_risk,
        churn_reasons=tuple(part for part in (customer.churn_reasons or "").split(",") if part),
        tags=await tags_of(session, customer_id),
        open_complaints=[ComplaintLine(n or "", s, f) for n, s, f in complaints],
        contacts=await contact_history(session, customer_id, limit=CONTACTS_SHOWN),
        ratings=[RatingLine(n, score, at) for n, score, at in ratings],
        purchases=int(bought[0] or 0),
        purchase_value=Decimal(str(bought[1])) if bought[1] is not None else None,
        segment_changes=await last_changes(session, customer_id),
    )
