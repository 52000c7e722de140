"""Telegram Business: customers who write to the company's Business account.

A business account (the company's Telegram account with Telegram Business) connects the
bot and gives it rights; customers write to that account, and the bot serves them as it
serves those who write to it directly, answering through the connection. Telegram's
rules shape what carebot may do there:

- the bot may answer only while the connection is enabled and has ``can_reply``;
- it may answer only within 24 hours of the customer's last message (the *reply
  window*): a staff reply after that cannot be delivered, and staff are told instead;
- it may never start a conversation there, so care campaigns and follow-ups never go
  through a Business account (``care.planning`` keeps customers whose channel is the
  Business account out).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from care.models import BusinessConnection, Channel, Customer

REPLY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class ConnectionFacts:
    """A ``business_connection`` update, as plain values."""

    id: str
    owner_user_id: int
    owner_chat_id: int
    owner_name: str | None
    rights: dict[str, Any]
    enabled: bool


class ConnectionChange(enum.StrEnum):
    """What a ``business_connection`` update did."""

    CONNECTED = "connected"
    RIGHTS_CHANGED = "rights_changed"
    DISCONNECTED = "disconnected"
    UNCHANGED = "unchanged"


class Refusal(enum.StrEnum):
    """Why a message cannot reach a Business customer now."""

    WINDOW_CLOSED = "window_closed"  # more than 24 h since their last message
    NOT_ALLOWED = "not_allowed"  # the account disconnected the bot or took can_reply away


async def record_connection(
    session: AsyncSession, facts: ConnectionFacts, now: datetime
) -> ConnectionChange:
    """Record a business account's connection, its rights, or its disconnection.

    Returns:
        What changed (a repeated update changes nothing).
    """
    row = await session.get(BusinessConnection, facts.id)
    can_reply = bool(facts.rights.get("can_reply"))
    if row is None:
        row = BusinessConnection(id=facts.id, connected_at=now)
        session.add(row)
        change = ConnectionChange.CONNECTED if facts.enabled else ConnectionChange.DISCONNECTED
    elif row.enabled and not facts.enabled:
        change = ConnectionChange.DISCONNECTED
    elif not row.enabled and facts.enabled:
        change = ConnectionChange.CONNECTED
    elif row.rights != facts.rights:
        change = ConnectionChange.RIGHTS_CHANGED
    else:
        return ConnectionChange.UNCHANGED
    row.owner_user_id = facts.owner_user_id
    row.owner_chat_id = facts.owner_chat_id
    row.owner_name = facts.owner_name
    row.rights = dict(facts.rights)
    row.can_reply = can_reply
    row.enabled = facts.enabled
    row.changed_at = now
    await session.flush()
    return change


async def find_connection(session: AsyncSession, connection_id: str) -> BusinessConnection | None:
    """The recorded connection with this id, if any."""
    return await session.get(BusinessConnection, connection_id)


def route_of(customer: Customer) -> str | None:
    """The business connection a message to ``customer`` goes through (None: the bot's
    own chat)."""
    if customer.channel == Channel.BUSINESS.value:
        return customer.business_connection_id
    return None


def window_closes_at(customer: Customer) -> datetime | None:
    """When Telegram stops letting the bot answer a Business customer (None: not one,
    or they never wrote)."""
    # Telegram counts the customer's messages, not their button presses; a customer
    # recorded before last_message_at existed counts from when they were last seen.
    wrote = customer.last_message_at or customer.last_seen_at
    if customer.channel != Channel.BUSINESS.value or wrote is None:
        return None
    return wrote + REPLY_WINDOW


async def refusal(session: AsyncSession, customer: Customer, now: datetime) -> Refusal | None:
    """Why a message to ``customer`` through their Business chat cannot go now (None: it
    can, or they talk to the bot directly)."""
    connection_id = route_of(customer)
    if connection_id is None:
        return None
    connection = await find_connection(session, connection_id)
    if connection is not None and (not connection.enabled or not connection.can_reply):
        return Refusal.NOT_ALLOWED
    closes = window_closes_at(customer)
    if closes is None or now > closes:
        return Refusal.WINDOW_CLOSED
    return None


def refusal_of_error(error: str) -> Refusal | None:
    """The refusal a Bot API error stands for, if it is one of Telegram Business's
    (python-telegram-bot rewrites "Bad Request: BUSINESS_PEER_USAGE_MISSING" as
    "Business_peer_usage_missing": the case does not matter)."""
    error = error.upper()
    if "BUSINESS_PEER_USAGE_MISSING" in error:
        return Refusal.WINDOW_CLOSED
    if "BUSINESS_CONNECTION_NOT_ALLOWED" in error or "BUSINESS_CONNECTION_INVALID" in error:
        return Refusal.NOT_ALLOWED
    return None
