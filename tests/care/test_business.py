"""Telegram Business without Telegram: connections, the channel, the 24-hour window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from care import business, complaints, contacts, customers
from care.business import ConnectionChange, ConnectionFacts, Refusal
from care.clock import ManualClock
from care.contacts import ContactEntry
from care.models import Channel, ContactKind, Direction

SHOP = ConnectionFacts(
    id="conn-1",
    owner_user_id=42,
    owner_chat_id=42,
    owner_name="Tea Shop",
    rights={"can_reply": True},
    enabled=True,
)
LENA = customers.TelegramIdentity(
    user_id=1001,
    chat_id=1001,
    first_name="Lena",
    channel=Channel.BUSINESS,
    business_connection_id="conn-1",
)


async def test_connection_changes_are_told_once_each(
    session: AsyncSession, clock: ManualClock
) -> None:
    now = clock.now()
    assert await business.record_connection(session, SHOP, now) is ConnectionChange.CONNECTED
    assert await business.record_connection(session, SHOP, now) is ConnectionChange.UNCHANGED
    read_too = ConnectionFacts(**{**SHOP.__dict__, "rights": {"can_reply": True, "x": True}})
    assert (
        await business.record_connection(session, read_too, now) is ConnectionChange.RIGHTS_CHANGED
    )
    gone = ConnectionFacts(**{**SHOP.__dict__, "enabled": False})
    assert await business.record_connection(session, gone, now) is ConnectionChange.DISCONNECTED
    assert await business.record_connection(session, SHOP, now) is ConnectionChange.CONNECTED
    row = await business.find_connection(session, "conn-1")
    assert row is not None and row.can_reply and row.enabled


async def test_the_channel_follows_where_the_customer_last_wrote(
    session: AsyncSession, clock: ManualClock
) -> None:
    lena, _ = await customers.get_or_create_customer(session, LENA, clock.now())
    assert business.route_of(lena) == "conn-1"
    direct = customers.TelegramIdentity(user_id=1001, chat_id=1001, first_name="Lena")
    lena, _ = await customers.get_or_create_customer(session, direct, clock.now())
    assert lena.channel == "bot" and business.route_of(lena) is None
    assert lena.business_connection_id == "conn-1", "kept for when she writes there again"


@pytest.mark.parametrize(
    ("hours", "rights", "enabled", "refused"),
    [
        (23.9, {"can_reply": True}, True, None),
        (24.1, {"can_reply": True}, True, Refusal.WINDOW_CLOSED),
        (1, {"can_read_messages": True}, True, Refusal.NOT_ALLOWED),
        (1, {"can_reply": True}, False, Refusal.NOT_ALLOWED),
    ],
)
async def test_answers_only_within_24_hours_and_with_the_right(
    session: AsyncSession,
    clock: ManualClock,
    hours: float,
    rights: dict[str, bool],
    enabled: bool,
    refused: Refusal | None,
) -> None:
    facts = ConnectionFacts(**{**SHOP.__dict__, "rights": rights, "enabled": enabled})
    await business.record_connection(session, facts, clock.now())
    lena, _ = await customers.get_or_create_customer(session, LENA, clock.now())
    lena.last_seen_at = lena.last_message_at = clock.now()
    assert await business.refusal(session, lena, clock.now() + timedelta(hours=hours)) is refused


async def test_a_button_press_does_not_reopen_the_window(
    session: AsyncSession, clock: ManualClock
) -> None:
    """Telegram counts the customer's messages: a press 23 hours after her last message
    moves her last-seen time, not the 24-hour window."""
    await business.record_connection(session, SHOP, clock.now())
    lena, _ = await customers.get_or_create_customer(session, LENA, clock.now())
    await session.flush()
    wrote = clock.now()
    pressed = wrote + timedelta(hours=23)
    await contacts.record_contacts(session, [
        ContactEntry(Direction.INBOUND, ContactKind.TEXT, wrote, customer_id=lena.id),
        ContactEntry(Direction.INBOUND, ContactKind.BUTTON, pressed, customer_id=lena.id),
    ])  # fmt: skip
    await session.refresh(lena)
    assert (lena.last_seen_at, lena.last_message_at) == (pressed, wrote)
    assert business.window_closes_at(lena) == wrote + timedelta(hours=24)
    later = wrote + timedelta(hours=25)
    assert await business.refusal(session, lena, later) is Refusal.WINDOW_CLOSED
    # A message of hers opens it again.
    await contacts.record_contacts(
        session, [ContactEntry(Direction.INBOUND, ContactKind.TEXT, later, customer_id=lena.id)]
    )
    await session.refresh(lena)
    assert await business.refusal(session, lena, later + timedelta(hours=1)) is None


def test_telegram_errors_name_the_refusal() -> None:
    assert business.refusal_of_error("Business_peer_usage_missing") is Refusal.WINDOW_CLOSED
    assert (
        business.refusal_of_error("Bad Request: BUSINESS_CONNECTION_INVALID") is Refusal.NOT_ALLOWED
    )
    assert business.refusal_of_error("Forbidden: bot was blocked by the user") is None


async def test_a_message_id_in_the_business_chat_is_not_the_bot_chats(
    session: AsyncSession, clock: ManualClock
) -> None:
    """Both of a customer's chats have their id as chat id and number messages from 1:
    message 7 in each belongs to its own complaint, and a reply to one finds its own."""
    now = clock.now()
    lena, _ = await customers.get_or_create_customer(session, LENA, now)
    in_bot = await complaints.start_draft(session, lena, now)
    in_business = await complaints.start_draft(session, lena, now, "conn-1")
    await complaints.remember_message(session, in_bot.id, 1001, 7, "customer", now)
    await complaints.remember_message(
        session, in_business.id, 1001, 7, "customer", now, business_connection_id="conn-1"
    )
    found = await complaints.message_owner(session, 1001, 7)
    assert found is not None and found[0].id == in_bot.id
    found = await complaints.message_owner(session, 1001, 7, business_connection_id="conn-1")
    assert found is not None and found[0].id == in_business.id
    assert await complaints.message_owner(session, 1001, 7, business_connection_id="other") is None
    # Each chat's message is still unique.
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await complaints.remember_message(
                session, in_business.id, 1001, 7, "customer", now, business_connection_id="conn-1"
            )
