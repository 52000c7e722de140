"""Everything we hold on one customer, as plain data.

This is the customer's right of access and portability (PIPL art. 45, GDPR art. 15 and
20) and the operator's view of the unified record (客户信息). The export is a dict of
JSON-serialisable values: strings, numbers, booleans, None, lists and dicts; times are
ISO 8601 strings in UTC.

Shape of ``carebot.customer.v1``::

    {
      "schema": "carebot.customer.v1",
      "customer": {"id": 17, "telegram_user_id": 123456, ..., "birthday": {...} | null},
      "contacts": [{"direction": "in", "kind": "text", "text": "...",
                    "telegram_message_id": 42, "created_at": "2026-09-24T10:00:00+00:00"}]
    }

Each kind of thing hung on a customer is one top-level key, produced by one entry of
``SECTIONS``. Complaints, survey answers and care messages are added there as new keys
without changing the schema name: readers of v1 ignore keys they do not know. A change
to an existing key's shape needs ``carebot.customer.v2``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.contacts import contact_history
from care.customers import birthday_of
from care.models import Customer

SCHEMA = "carebot.customer.v1"

# Stored as five columns, exported as one structured "birthday" value.
_BIRTHDAY_COLUMNS = frozenset(
    {
        "birthday_calendar",
        "birthday_year",
        "birthday_month",
        "birthday_day",
        "birthday_leap_month",
    }
)
_TELEGRAM_REF = re.compile(r"tg:\s*(\d+)", re.IGNORECASE)


class CustomerNotFound(LookupError):
    """No customer has the id asked for."""

    def __init__(self, customer_id: int) -> None:
        super().__init__(customer_id)
        self.customer_id = customer_id


Section = Callable[[AsyncSession, Customer], Awaitable[Any]]
"""Produces one top-level key of the export from the customer's row."""


async def _contacts(session: AsyncSession, customer: Customer) -> list[dict[str, Any]]:
    return [
        {
            "direction": contact.direction,
            "kind": contact.kind,
            "text": contact.text,
            "telegram_message_id": contact.telegram_message_id,
            "created_at": _plain(contact.created_at),
        }
        for contact in await contact_history(session, customer.id)
    ]


SECTIONS: tuple[tuple[str, Section], ...] = (
    ("contacts", _contacts),
    # ("complaints", _complaints), ("surveys", _surveys), ("care_messages", ...) go here.
)
"""The export's keys beside "schema" and "customer", in the order they are written."""


async def export_customer(session: AsyncSession, customer_id: int) -> dict[str, Any]:
    """Everything we hold on one customer, ready for ``json.dumps``.

    The profile carries every column of the customer's row, so a column added to the
    model is exported without a change here; the birthday columns are given as one
    ``birthday`` value (``{"calendar": "lunar", "year": null, "month": 8, "day": 15,
    "leap_month": false}``, or None).

    Args:
        session: the caller's session; only read.
        customer_id: our id of the customer (``Customer.id``).

    Returns:
        The record, as described in this module's docstring.

    Raises:
        CustomerNotFound: no customer has that id.
    """
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise CustomerNotFound(customer_id)
    record: dict[str, Any] = {"schema": SCHEMA, "customer": _profile(customer)}
    for key, section in SECTIONS:
        record[key] = await section(session, customer)
    return record


async def find_customer_id(session: AsyncSession, ref: str) -> int | None:
    """Resolve a reference to a customer, as an operator types it, to our id.

    Two forms are understood: our own id (``"17"``) and a Telegram user id with a
    ``tg:`` prefix (``"tg:123456"``); the prefix keeps the two number spaces apart.
    Surrounding spaces and the prefix's case do not matter. An erased customer has no
    Telegram user id any more and is found by our id only.

    Args:
        session: the caller's session; only read.
        ref: the reference.

    Returns:
        Our id of the customer, or None if nobody matches.

    Raises:
        ValueError: ``ref`` is in neither form.
    """
    text = ref.strip()
    telegram = _TELEGRAM_REF.fullmatch(text)
    if telegram:
        return await session.scalar(
            select(Customer.id).where(Customer.telegram_user_id == int(telegram.group(1)))
        )
    if text.isascii() and text.isdigit():
        return await session.scalar(select(Customer.id).where(Customer.id == int(text)))
    raise ValueError(f"not a customer reference: {ref!r} (expected 17 or tg:123456)")


def _profile(customer: Customer) -> dict[str, Any]:
    profile: dict[str, Any] = {}
    for attribute in inspect(Customer).column_attrs:
        if attribute.key in _BIRTHDAY_COLUMNS:
            if "birthday" not in profile:
                profile["birthday"] = _birthday(customer)
            continue
        profile[attribute.key] = _plain(getattr(customer, attribute.key))
    return profile


def _birthday(customer: Customer) -> dict[str, Any] | None:
    birthday = birthday_of(customer)
    if birthday is None:
        return None
    return {
        "calendar": birthday.calendar.value,
        "year": birthday.year,
        "month": birthday.month,
        "day": birthday.day,
        "leap_month": birthday.leap_month,
    }


def _plain(value: Any) -> Any:
    """A column value as JSON can carry it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value
