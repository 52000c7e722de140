"""Conversations in a plain staff group (no topics), end to end (issue 11): a card per
conversation with its buttons, answers by replying to the card or to any relayed
message, /reply from anywhere, "to complaint", out of hours, a customer who blocked
the bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.conversation_models import Conversation, ConversationStatus
from care.models import Complaint
from care.models import Customer as CustomerRecord
from tests.conftest import CareTeam
from tests.helpers import (
    Customer,
    RunningBot,
    StaffRoom,
    all_owed_delivered,
    en,
    text_of,
    wait_until,
    zh,
)


async def conversation_of(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: int
) -> Conversation:
    async with sessionmaker() as session:
        found = await session.scalar(
            select(Conversation)
            .join(CustomerRecord, CustomerRecord.id == Conversation.customer_id)
            .where(CustomerRecord.telegram_user_id == user_id)
            .order_by(Conversation.id.desc())
        )
    assert found is not None
    return found


async def bot_message_in(
    client: SandboxClient, chat: int, predicate: Any, after: int = 0
) -> dict[str, Any]:
    return await client.wait_for_bot_message(
        chat, predicate=predicate, after_message_id=after, timeout=20
    )


async def press(client: SandboxClient, chat: int, user: int, message_id: int, data: str) -> str:
    query = await client.press(chat, user, message_id, data)
    return str((await client.wait_for_callback_answer(query, timeout=20)).get("text") or "")


async def test_cards_replies_and_reply_command_reach_the_customer(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    room: StaffRoom,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = care_team.group_id
    agent, supervisor = care_team.agent, care_team.supervisor
    anna = Customer(client, await client.create_user("Anna", language_code="en"), timeout=20)

    got = await anna.say("Do you have the kettle in blue?")
    assert text_of(got).startswith(
        en("Thank you, we got your message. A colleague will answer by {due}.").split("{")[0]
    )
    conversation = await conversation_of(sessionmaker, anna.id)
    number = conversation.id
    card = await bot_message_in(
        client, group, lambda m: f"#{number}" in text_of(m) and m.get("reply_markup")
    )
    assert "Anna" in text_of(card)
    assert zh("Acknowledge") in str(card["reply_markup"])
    relayed = await bot_message_in(client, group, lambda m: "kettle in blue" in text_of(m))

    # She corrects her question: staff see the edit under the message as relayed.
    [asked] = [
        m
        for m in await client.transcript(anna.id)
        if m["text"] == "Do you have the kettle in blue?"
    ]
    await client.edit_message(anna.id, asked["message_id"], text="Or in green?")
    edited = await bot_message_in(
        client, group, lambda m: m.get("reply_to_message_id") == relayed["message_id"]
    )
    assert text_of(edited) == zh("✏ The customer edited this message: {text}").format(
        text="Or in green?"
    )

    # A reply to the card reaches the customer, signed, in her language.
    await room.member(agent).reply_to(card, "Yes, in blue and in red.")
    answer = await bot_message_in(client, anna.id, lambda m: "blue and in red" in text_of(m))
    assert text_of(answer) == en("{name} (customer care): {text}").format(
        name="王丽", text="Yes, in blue and in red."
    )

    # Answered: the card says when, and what is due next (no "answer by" any more).
    async def card_shows_the_answer() -> bool:
        [shown] = [
            m for m in await client.transcript(group) if m["message_id"] == card["message_id"]
        ]
        words = text_of(shown)
        return (
            zh("First answered: {when}").split("{")[0] in words
            and zh("Resolve by: {due}").split("{")[0] in words
            and zh("Answer by: {due}").split("{")[0] not in words
        )

    await wait_until(card_shows_the_answer, 20)

    # A reply to any relayed message too.
    await room.member(agent).reply_to(relayed, "Shall I reserve one?")
    await bot_message_in(client, anna.id, lambda m: "reserve one" in text_of(m))

    # /reply from anywhere in the group, by conversation or by customer id.
    reply = await room.member(supervisor).say(f"/reply #{number} Anything else?")
    await bot_message_in(client, anna.id, lambda m: "Anything else?" in text_of(m))
    async with sessionmaker() as session:
        record = await session.scalar(
            select(CustomerRecord).where(CustomerRecord.telegram_user_id == anna.id)
        )
        assert record is not None
    await room.member(supervisor).say(f"/reply {record.id} We open at nine.")
    await bot_message_in(client, anna.id, lambda m: "open at nine" in text_of(m))
    usage = await room.member(supervisor).command("/reply")
    assert usage == zh("Usage: /reply <customer id, #conversation or C-2026-000123> your answer")
    assert reply["message_id"]

    async def answered() -> bool:
        return (await conversation_of(sessionmaker, anna.id)).status == (
            ConversationStatus.WAITING_CUSTOMER.value
        )

    await wait_until(answered, 20)

    # Buttons: take (idempotent), to complaint with category and priority.
    assert await press(client, group, agent["id"], card["message_id"], f"cv:take:{number}") == zh(
        "It is yours now."
    )
    assert await press(client, group, agent["id"], card["message_id"], f"cv:take:{number}") == zh(
        "Already done."
    )
    # The card shows who has it and where it stands, by name.
    await room.wait_card(
        card["message_id"],
        lambda m: (
            zh("Assignee: {name}").format(name="王丽") in text_of(m)
            and zh("waiting for the customer") in text_of(m)
        ),
    )
    before = await room.last_id()
    await press(client, group, agent["id"], card["message_id"], f"cv:cmp:{number}")
    categories = await bot_message_in(client, group, lambda m: m.get("reply_markup"), before)
    assert f"cv:cat:{number}:product" in str(categories["reply_markup"])
    before = await room.last_id()
    await press(client, group, agent["id"], categories["message_id"], f"cv:cat:{number}:product")
    priorities = await bot_message_in(client, group, lambda m: m.get("reply_markup"), before)
    filed = await press(
        client, group, agent["id"], priorities["message_id"], f"cv:pri:{number}:product:high"
    )
    async with sessionmaker() as session:
        complaint = await session.scalar(
            select(Complaint).where(Complaint.conversation_id == number)
        )
    assert complaint is not None and complaint.priority == "high" and complaint.number
    assert filed == zh("Filed as complaint {number}; the customer was told its number.").format(
        number=complaint.number
    )
    told = await bot_message_in(client, anna.id, lambda m: str(complaint.number) in text_of(m))
    assert "kettle" not in text_of(told)
    again = await press(
        client, group, agent["id"], priorities["message_id"], f"cv:pri:{number}:product:high"
    )
    assert again == zh("Already complaint {number}.").format(number=complaint.number)

    # A plain message in the group reaches nobody, and says how to reach a customer.
    stray = await room.member(agent).say("Lunch at twelve?")
    hint = await room.answer_to(stray)
    assert "/reply" in text_of(hint)

    # Close.
    assert await press(client, group, agent["id"], card["message_id"], f"cv:close:{number}") == zh(
        "Conversation closed."
    )
    assert (await conversation_of(sessionmaker, anna.id)).status == ConversationStatus.CLOSED.value


async def test_a_customer_who_blocked_the_bot_is_shown_and_answers_are_refused(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    room: StaffRoom,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = care_team.group_id
    ming = Customer(client, await client.create_user("王小明", language_code="zh-hans"), timeout=20)
    await ming.say("请问有优惠吗？")
    number = (await conversation_of(sessionmaker, ming.id)).id
    card = await bot_message_in(
        client, group, lambda m: f"#{number}" in text_of(m) and m.get("reply_markup")
    )
    # Relayed after the card: the card is on record by then.
    await bot_message_in(
        client, group, lambda m: "优惠" in text_of(m) and not m.get("reply_markup")
    )
    await client.block(ming.id)
    sent = await room.member(care_team.agent).reply_to(card, "有的，九折。")
    refused = await bot_message_in(
        client, group, lambda m: m.get("reply_to_message_id") == sent["message_id"]
    )
    assert text_of(refused) == zh(
        "⚠ Not delivered: the customer blocked the bot, so no answer can reach them."
    )
    # Known now: the next answer is refused at once, with the same reason.
    second = await room.member(care_team.agent).reply_to(card, "还在吗？")
    refused = await bot_message_in(
        client, group, lambda m: m.get("reply_to_message_id") == second["message_id"]
    )
    assert text_of(refused) == zh(
        "⚠ Not delivered: the customer blocked the bot, so no answer can reach them."
    )


@pytest.fixture
async def after_hours_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, care_team: CareTeam
) -> AsyncIterator[RunningBot]:
    # The test clock is Thursday 18:00 in Shanghai: just closed.
    running = RunningBot(
        sandbox, database_url, clock, staff_chat_id=care_team.group_id,
        business_hours="mon-fri 09:00-18:00",
    )  # fmt: skip
    await running.start()
    yield running
    await running.stop()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
async def test_out_of_hours_the_customer_is_told_once_when_we_open(
    after_hours_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    language: str,
) -> None:
    words = en if language == "en" else zh
    customer = Customer(client, await client.create_user("Lea", language_code=language), timeout=20)
    got = await customer.say("Are you open tomorrow?")
    assert text_of(got) == words(
        "Thank you for your message. We are closed now; a colleague will answer by {due}."
    ).format(due="2026-09-25 09:00") + "\n\n" + words(
        "Welcome! When you have a moment, send /start to register."
    )
    await client.send_text(customer.id, customer.id, "And on Saturday?")
    await bot_message_in(client, care_team.group_id, lambda m: "Saturday" in text_of(m))
    assert len(await customer.bot_messages()) == 1, "told once per conversation"


async def test_a_reply_to_a_relay_whose_answer_is_on_its_way_reaches_the_customer(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    room: StaffRoom,
) -> None:
    """Telegram shows the relay before its answer reaches carebot: a staff member quick
    enough to reply in that moment is not taken for someone talking to colleagues."""
    group = care_team.group_id
    anna = Customer(client, await client.create_user("Anna", language_code="en"), timeout=20)
    await anna.say("Do you have the kettle in blue?")
    await bot_message_in(client, group, lambda m: "kettle in blue" in text_of(m))
    await all_owed_delivered(complaint_bot)

    await client.fault(kind="late_answer", method="sendMessage", chat_id=group, seconds=2,
                       count=1)  # fmt: skip
    await client.send_text(anna.id, anna.id, "And in green?")
    relayed = await bot_message_in(client, group, lambda m: "in green" in text_of(m))
    await room.member(care_team.agent).reply_to(relayed, "Green is sold out.")
    answer = await bot_message_in(client, anna.id, lambda m: "sold out" in text_of(m))
    assert text_of(answer) == en("{name} (customer care): {text}").format(
        name="王丽", text="Green is sold out."
    )
