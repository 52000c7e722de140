"""Everything we hold on one customer, as plain data.

This is the customer's right of access and portability (PIPL art. 45, GDPR art. 15 and
20) and the operator's view of the unified record (客户信息). The export is a dict of
JSON-serialisable values: strings, numbers, booleans, None, lists and dicts; times are
ISO 8601 strings in UTC.

Shape of ``carebot.customer.v1``::

    {
      "schema": "carebot.customer.v1",
      "customer": {"id": 17, "telegram_user_id": 123456, ..., "birthday": {...} | null},
      "consents": {"care_messages": {"given": true, "changed_at": "2026-09-24T10:00:00+00:00"}},
      "contacts": [{"direction": "in", "kind": "text", "text": "...",
                    "telegram_message_id": 42, "created_at": "2026-09-24T10:00:00+00:00"}],
      "complaints": [{"id": 5, "number": "C-2026-000005", "description": "...", ...,
                      "rating": 4, "rating_comment": "...",
                      "events": [{"id": 9, "at": "...", "type": "filed", "note": "...", ...}],
                      "ratings": [{"resolution": 1, "score": 4, "comment": "...", ...}],
                      "attachments": [{"kind": "photo", "file_id": "...", ...}],
                      "messages": [{"chat_id": -100, "message_id": 7, "purpose": "alert"}]}],
      "purchases": [{"id": 3, "purchased_at": "...", "product": "...", "reference": "...", ...}],
      "tags": ["vip"],
      "segment_changes": [{"id": 6, "at": "...", "field": "churn_risk",
                           "old_value": "low", "new_value": "high"}],
      "care_messages": [{"id": 8, "campaign_id": 2, "dedupe_key": "campaign:2",
                         "state": "sent", "sent_at": "...", "last_error": null, ...}],
      "owed_messages": [{"id": 4, "kind": "text", "purpose": "relay", "chat_id": -100,
                         "text": "...", "state": "sent", "complaint_id": 5, ...}],
      "conversations": [{"kind": "conversation", "key": "[\"complaint\",[123456,123456]]",
                         "data": "description", "updated_at": "..."}]
    }

Rows are exported with every column of their table (a column added to a model is
exported without a change here) except the key that ties them to the customer or the
complaint they are listed under; times are ISO 8601 strings. ``owed_messages`` are the
messages carebot owed because of the customer or their complaints (``care.owed``: cards,
relays, notices, staff replies, alerts), with what became of each. A complaint's events,
ratings, attachments and Telegram messages are listed under it. ``conversations`` are the dialogue
states python-telegram-bot keeps for the person (``ptb_persistence`` rows whose key
names their Telegram id). ``customer_conversations`` are their exchanges with staff
(``care.conversations``: every message either way, events, the staff chat's messages,
and their forum topics, listed last as ``{"topic": {...}}``).

Each kind of thing hung on a customer is one top-level key, produced by one entry of
``SECTIONS``, which also names the tables it covers: ``tests/care/test_records.py`` finds
every table that references the customer (directly or through another such table) in the
models' metadata and fails until a section covers it. New keys keep the schema name
(readers of v1 ignore keys they do not know); a change to an existing key's shape needs
``carebot.customer.v2``.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.contacts import contact_history
from care.conversation_models import (
    Conversation,
    ConversationEvent,
    ConversationMessage,
    StaffTopic,
)
from care.customers import birthday_of
from care.faq_models import FaqEvent
from care.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintRating,
    Customer,
    CustomerMention,
    CustomerTag,
    Outbox,
    OwedMessage,
    PersistenceEntry,
    Purchase,
)
from care.segment_history import SegmentChange

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


Produce = Callable[[AsyncSession, Customer], Awaitable[Any]]
"""Produces one top-level key of the export from the customer's row."""


@dataclass(frozen=True)
class Section:
    """One top-level key of the export, and the tables whose rows it carries."""

    key: str
    produce: Produce
    tables: frozenset[str] = frozenset()


def _row(item: Any, *, leave_out: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every column of a model instance as JSON can carry it, but the ones left out."""
    return {
        attribute.key: _plain(getattr(item, attribute.key))
        for attribute in inspect(type(item)).column_attrs
        if attribute.key not in leave_out
    }


async def _consents(session: AsyncSession, customer: Customer) -> dict[str, Any]:
    return {
        "care_messages": {
            "given": customer.consent_care,
            "changed_at": _plain(customer.consent_changed_at),
        }
    }


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


# The keys that tie a row to what it is listed under.
_OF_CUSTOMER = frozenset({"customer_id"})
_OF_COMPLAINT = frozenset({"complaint_id"})
# What is listed under each complaint, and the table it comes from.
_UNDER_A_COMPLAINT: dict[str, type[Any]] = {
    "events": ComplaintEvent,
    "ratings": ComplaintRating,
    "attachments": ComplaintAttachment,
    "messages": ComplaintMessage,
}


async def _complaints(session: AsyncSession, customer: Customer) -> list[dict[str, Any]]:
    """Every complaint, drafts too, with its history, ratings (one per resolution),
    attachments and Telegram messages."""
    complaints = (
        await session.scalars(
            select(Complaint).where(Complaint.customer_id == customer.id).order_by(Complaint.id)
        )
    ).all()
    ids = [complaint.id for complaint in complaints]
    listed: dict[int, dict[str, list[dict[str, Any]]]] = {
        complaint_id: {key: [] for key in _UNDER_A_COMPLAINT} for complaint_id in ids
    }
    for key, model in _UNDER_A_COMPLAINT.items():
        table: Any = model
        rows = await session.scalars(
            select(table).where(table.complaint_id.in_(ids)).order_by(table.id)
        )
        for row in rows:
            listed[row.complaint_id][key].append(_row(row, leave_out=_OF_COMPLAINT))
    return [
        {**_row(complaint, leave_out=_OF_CUSTOMER), **listed[complaint.id]}
        for complaint in complaints
    ]


async def _purchases(session: AsyncSession, customer: Customer) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Purchase).where(Purchase.customer_id == customer.id).order_by(Purchase.id)
    )
    return [_row(purchase, leave_out=_OF_CUSTOMER) for purchase in rows]


async def _tags(session: AsyncSession, customer: Customer) -> list[str]:
    rows = await session.scalars(
        select(CustomerTag.tag)
        .where(CustomerTag.customer_id == customer.id)
        .order_by(CustomerTag.tag)
    )
    return list(rows)


async def _care_messages(session: AsyncSession, customer: Customer) -> list[dict[str, Any]]:
    """Greetings, follow-ups and campaign messages: planned, sent or not, and why."""
    rows = await session.scalars(
        select(Outbox).where(Outbox.customer_id == customer.id).order_by(Outbox.id)
    )
    return [_row(row, leave_out=_OF_CUSTOMER) for row in rows]


async def _owed_messages(session: AsyncSession, customer: Customer) -> list[dict[str, Any]]:
    """Messages carebot owed because of them or their complaints (``care.owed``): cards,
    relays, notices, staff replies, alerts, with what became of each."""
    complaint_ids = select(Complaint.id).where(Complaint.customer_id == customer.id)
    rows = await session.scalars(
        select(OwedMessage)
        .where(
            or_(
                OwedMessage.customer_id == customer.id,
                OwedMessage.complaint_id.in_(complaint_ids),
            )
        )
        .order_by(OwedMessage.id)
    )
    # ``data``: an image's bytes (only the weekly report's charts, never a customer's).
    return [_row(row, leave_out=frozenset({"data"})) for row in rows]


async def _segment_changes(session: AsyncSession, customer: Customer) -> list[dict[str, Any]]:
    """When their computed segments changed (``care.segment_history``)."""
    rows = await session.scalars(
        select(SegmentChange)
        .where(SegmentChange.customer_id == customer.id)
        .order_by(SegmentChange.id)
    )
    return [_row(row, leave_out=_OF_CUSTOMER) for row in rows]


async def _staff_messages(session: AsyncSession, customer: Customer) -> list[dict[str, Any]]:
    """Which messages in staff chats are about them (``care.mentions``): where they are,
    who wrote them, when; what they say is in Telegram, and /forget deletes them."""
    rows = await session.scalars(
        select(CustomerMention)
        .where(CustomerMention.customer_id == customer.id)
        .order_by(CustomerMention.id)
    )
    return [_row(row, leave_out=_OF_CUSTOMER) for row in rows]


async def _customer_conversations(
    session: AsyncSession, customer: Customer
) -> list[dict[str, Any]]:
    """Their conversations with the company (``care.conversations``), each with its
    events and the staff chat's messages that belong to it, and their forum topics."""
    conversations = (
        await session.scalars(
            select(Conversation)
            .where(Conversation.customer_id == customer.id)
            .order_by(Conversation.id)
        )
    ).all()
    ids = [conversation.id for conversation in conversations]
    listed: dict[int, dict[str, list[dict[str, Any]]]] = {
        i: {"events": [], "messages": []} for i in ids
    }
    leave_out = frozenset({"conversation_id"})
    for event in await session.scalars(
        select(ConversationEvent)
        .where(ConversationEvent.conversation_id.in_(ids))
        .order_by(ConversationEvent.id)
    ):
        listed[event.conversation_id]["events"].append(_row(event, leave_out=leave_out))
    for message in await session.scalars(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id.in_(ids))
        .order_by(ConversationMessage.id)
    ):
        listed[message.conversation_id]["messages"].append(_row(message, leave_out=leave_out))
    topics = await session.scalars(
        select(StaffTopic).where(StaffTopic.customer_id == customer.id).order_by(StaffTopic.id)
    )
    return [
        {**_row(conversation, leave_out=_OF_CUSTOMER), **listed[conversation.id]}
        for conversation in conversations
    ] + [{"topic": _row(topic, leave_out=_OF_CUSTOMER)} for topic in topics]


async def _faq_events(session: AsyncSession, customer: Customer) -> list[dict[str, Any]]:
    """The FAQ answers they got, the suggestions offered, and what they pressed."""
    rows = await session.scalars(
        select(FaqEvent).where(FaqEvent.customer_id == customer.id).order_by(FaqEvent.id)
    )
    return [_row(row, leave_out=_OF_CUSTOMER) for row in rows]


async def _conversations(session: AsyncSession, customer: Customer) -> list[dict[str, Any]]:
    """What python-telegram-bot keeps for the person: dialogue states, user and chat data."""
    ids = {i for i in (customer.telegram_user_id, customer.chat_id) if i is not None}
    if not ids:
        return []
    rows = await session.scalars(
        select(PersistenceEntry).order_by(PersistenceEntry.kind, PersistenceEntry.key)
    )
    return [_row(row) for row in rows if _names_one_of(row, ids)]


def _names_one_of(entry: PersistenceEntry, ids: set[int]) -> bool:
    if entry.kind == "conversation":
        # The key is JSON: ["<dialogue name>", [chat id, user id, ...]] (bot.persistence).
        try:
            _name, key = json.loads(entry.key)
        except (TypeError, ValueError):
            return False
        return isinstance(key, list) and any(part in ids for part in key)
    return entry.kind in ("user_data", "chat_data") and entry.key in {str(i) for i in ids}


SECTIONS: tuple[Section, ...] = (
    Section("consents", _consents),
    Section("contacts", _contacts, frozenset({"contact"})),
    Section(
        "complaints",
        _complaints,
        frozenset(
            {
                "complaint",
                "complaint_event",
                "complaint_rating",
                "complaint_attachment",
                "complaint_message",
            }
        ),
    ),
    Section("purchases", _purchases, frozenset({"purchase"})),
    Section("tags", _tags, frozenset({"customer_tag"})),
    Section("segment_changes", _segment_changes, frozenset({"segment_change"})),
    Section("staff_messages", _staff_messages, frozenset({"customer_mention"})),
    Section("care_messages", _care_messages, frozenset({"outbox"})),
    Section("owed_messages", _owed_messages, frozenset({"owed_message"})),
    Section("faq", _faq_events, frozenset({"faq_event"})),
    Section("conversations", _conversations, frozenset({"ptb_persistence"})),
    Section(
        "customer_conversations",
        _customer_conversations,
        frozenset({"conversation", "conversation_event", "conversation_message", "staff_topic"}),
    ),
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
    for section in SECTIONS:
        record[section.key] = await section.produce(session, customer)
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
    if isinstance(value, Decimal):
        return str(value)  # a purchase's amount, exactly as kept ("1299.50")
    return value
