"""A customer who writes to the company's Telegram Business account, end to end: served
like one who writes to the bot, answered through the connection, staff told when
Telegram's 24-hour window has closed, and never sent care campaigns there."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.conversation_models import ConversationEvent
from care.models import BusinessConnection, Complaint, Customer, OwedMessage
from care.planning import may_receive_care
from tests.conftest import CareTeam
from tests.helpers import (
    BusinessCustomer,
    RunningBot,
    StaffRoom,
    connect_business_account,
    en,
    text_of,
    wait_until,
    zh,
)


async def _connect(
    client: SandboxClient, care_team: CareTeam, rights: dict[str, bool] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shop's Business account connects the bot; staff hear of it."""
    return await connect_business_account(client, care_team.group_id, rights)


WINDOW_CLOSED = (
    "⚠ Not delivered to the customer of {number}: they wrote through the company's "
    "Business account more than 24 hours ago, and Telegram lets us answer there only "
    "within 24 hours of their last message. It goes through once they write again."
)


async def test_a_business_customer_files_a_complaint_and_gets_staff_replies_through_it(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    shop, connection = await _connect(client, care_team)
    user = await client.create_user("Lena", language_code="en")
    lena = BusinessCustomer(client, user, connection["id"])

    # Served like a customer of the bot: the answer comes from the shop's account.
    hello = await lena.say("Hello, is anyone there?")
    assert "Welcome!" in text_of(hello)
    assert hello["sender_business_bot"] is True
    assert await client.transcript(lena.id) == [], "nothing in the bot's own chat"
    async with sessionmaker() as session:
        customer = (
            await session.scalars(select(Customer).where(Customer.telegram_user_id == lena.id))
        ).one()
        assert (customer.channel, customer.business_connection_id) == ("business", connection["id"])
        stored = await session.get_one(BusinessConnection, connection["id"])
        assert (stored.owner_user_id, stored.can_reply, stored.enabled) == (shop["id"], True, True)

    # The shop's owner answering by hand is the company speaking: nobody answers it.
    await client.business_write(connection["id"], shop["id"], "We are here!", chat_id=lena.id)

    # /complain works there, buttons included.
    question = await lena.say("/complain")
    assert en("What is the complaint about?") in text_of(question)
    await lena.press("Delivery")
    await lena.say("The tea tin arrived dented.")
    await lena.press("Continue")
    await lena.say("T-42")
    await lena.press("Submit")
    async with sessionmaker() as session:
        complaint = (await session.scalars(select(Complaint))).one()
    number = complaint.number
    assert number is not None
    await lena.wait_reply(0, lambda m: number in text_of(m))
    transcript = await lena.transcript()
    assert not any(m["text"] == "We are here!" and m["from"]["is_bot"] for m in transcript)
    assert [m["text"] for m in transcript].count("We are here!") == 1, "no answer to the owner"

    # A staff reply goes to her through the connection.
    room = StaffRoom(client, care_team.group_id)
    agent = room.member(care_team.agent)

    async def card_posted() -> bool:
        async with sessionmaker() as session:
            return (await session.get_one(Complaint, complaint.id)).alert_message_id is not None

    await wait_until(card_posted)
    card_id = await room.card(sessionmaker, complaint.id)
    card = await room.message(card_id)
    assert zh("💼 Writes to the company's Business account: replies possible until {time}.").split(
        "{time}"
    )[0] in text_of(card), "staff see the channel on the card"
    await agent.reply_to(card_id, "Sorry! A new tin is on its way.")
    reply = await lena.wait_reply(0, lambda m: "A new tin is on its way." in text_of(m))
    assert reply["sender_business_bot"] is True

    async def owed_to_lena() -> list[OwedMessage]:
        async with sessionmaker() as session:
            query = select(OwedMessage).where(OwedMessage.chat_id == lena.id)
            return list((await session.scalars(query.order_by(OwedMessage.id))).all())

    async def all_sent() -> bool:
        return {row.state for row in await owed_to_lena()} == {"sent"}

    await wait_until(all_sent)
    rows = await owed_to_lena()
    assert {row.business_connection_id for row in rows} == {connection["id"]}
    assert {row.purpose for row in rows} >= {"confirmation", "staff_reply"}

    # Telegram refuses a reply carebot thought it could send (its clock and Telegram's
    # disagree, say): staff are told why, under their reply.
    await client.fault(
        kind="error", method="sendMessage", chat_id=lena.id, status=400,
        description="Bad Request: BUSINESS_PEER_USAGE_MISSING",
    )  # fmt: skip
    refused = await agent.reply_to(card_id, "Are you still there?")
    told = await room.answer_to(refused)
    assert text_of(told) == zh(WINDOW_CLOSED).format(number=number)
    rows = await owed_to_lena()

    # A day and more later, Telegram no longer lets the bot answer there: staff are told
    # at once, and nothing is owed to her.
    clock.advance(timedelta(hours=24, minutes=1))
    before = len(await lena.transcript())
    late = await agent.reply_to(card_id, "Did the tin arrive?")
    told = await room.answer_to(late)
    assert text_of(told) == zh(WINDOW_CLOSED).format(number=number)
    assert len(await owed_to_lena()) == len(rows)
    assert len(await lena.transcript()) == before

    # She writes again: the window is open again, and staff can answer.
    await lena.say("Not yet…")
    await agent.reply_to(card_id, "It left the warehouse today.")
    await lena.wait_reply(0, lambda m: "left the warehouse" in text_of(m))


async def test_disconnecting_tells_staff_and_stops_replies(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    _, connection = await _connect(client, care_team, {"can_reply": True})
    before = max(m["message_id"] for m in await client.transcript(care_team.group_id))
    await client.disconnect_business(connection["id"])
    words = zh(
        "🔌 The Business account {name} disconnected the bot: its customers are no "
        "longer answered there."
    ).format(name="Tea Shop")
    await client.wait_for_bot_message(
        care_team.group_id, lambda m: text_of(m) == words, after_message_id=before
    )

    async def disabled() -> bool:
        async with sessionmaker() as session:
            row = await session.get(BusinessConnection, connection["id"])
            return row is not None and not row.enabled

    await wait_until(disabled)


async def test_connection_without_the_right_to_reply_warns_staff(
    complaint_bot: RunningBot, client: SandboxClient, care_team: CareTeam
) -> None:
    shop = await client.create_user("Tea Shop", language_code="en")
    await client.connect_business(shop["id"], {"can_read_messages": True})
    words = zh(
        "⚠ The Business account {name} connected the bot without the right to reply: "
        "give it that right in Telegram's Business settings, or customers there get no answer."
    ).format(name="Tea Shop")
    await client.wait_for_bot_message(care_team.group_id, lambda m: text_of(m) == words)


@pytest.mark.parametrize("channel", ["bot", "business"])
async def test_care_messages_go_only_to_customers_of_the_bot(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, channel: str
) -> None:
    async with sessionmaker.begin() as session:
        session.add(
            Customer(
                telegram_user_id=777,
                chat_id=777,
                created_at=clock.now(),
                consent_care=True,
                channel=channel,
            )
        )
    async with sessionmaker() as session:
        eligible = (await session.scalars(select(Customer.id).where(*may_receive_care()))).all()
    assert len(eligible) == (1 if channel == "bot" else 0)


async def test_a_message_the_customer_deletes_is_marked_so_for_staff(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Telegram tells a business bot when the customer deletes messages in the chat: staff
    see it under the message as they were shown it; the conversation's history notes it."""
    _shop, connection = await _connect(client, care_team)
    user = await client.create_user("Mira", language_code="en")
    mira = BusinessCustomer(client, user, connection["id"])
    await mira.say("Hello")  # registration's welcome: she is a customer now
    asked = await client.business_write(connection["id"], mira.id, "Where is order 77?")
    group = care_team.group_id
    relayed = await client.wait_for_bot_message(
        group, lambda m: "Where is order 77?" in text_of(m), timeout=20
    )
    ignored = await client.business_write(connection["id"], mira.id, "and one more thing")
    await client.wait_for_bot_message(group, lambda m: "one more thing" in text_of(m), timeout=20)

    await client.business_delete(connection["id"], mira.id, [asked["message_id"]])
    marked = await client.wait_for_bot_message(
        group, lambda m: m.get("reply_to_message_id") == relayed["message_id"], timeout=20
    )
    assert text_of(marked) == zh("🗑 The customer deleted this message.")
    async with sessionmaker() as session:
        kinds = list(
            await session.scalars(select(ConversationEvent.type).order_by(ConversationEvent.id))
        )
    assert kinds.count("customer_delete") == 1
    # Only the deleted one is marked.
    assert not [
        m
        for m in await client.transcript(group)
        if zh("🗑 The customer deleted this message.") in text_of(m)
        and m.get("reply_to_message_id") != relayed["message_id"]
    ]
    assert ignored["message_id"] != asked["message_id"]
