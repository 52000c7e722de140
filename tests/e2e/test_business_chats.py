"""One person, two chats: their chat with the bot and their chat with the company's
Business account share the chat id (the person's user id), yet they are two chats.

A step of a dialogue in one (filing a complaint, registering) is not answered from the
other, each chat keeps its own complaint draft, replies land in the chat the customer
wrote in, through the connection or not, and all of it holds across a restart (the
dialogue state in the database). Message ids are numbered per chat: an edit or deletion
in one chat is never taken for one of the same number in the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.models import Complaint, ComplaintMessage, PersistenceEntry
from care.models import Customer as CustomerRecord
from tests.conftest import CareTeam
from tests.helpers import (
    BusinessCustomer,
    Customer,
    RunningBot,
    StaffRoom,
    all_owed_delivered,
    connect_business_account,
    en,
    text_of,
    wait_until,
    zh,
)

# How long a relay or a line about an edit may take to show under load (the whole suite
# runs beside other work): a condition waited on, not a sleep.
WAIT = 20.0
ASKS_DESCRIPTION = "Please describe what happened"
ASKS_ATTACHMENTS = "Thank you. You can add photos or documents now (up to 10), or tap Continue."
ASKS_REFERENCE = "Do you have an order number or another reference? Write it, or tap No reference."


async def _both_chats(
    client: SandboxClient, care_team: CareTeam
) -> tuple[Customer, BusinessCustomer, dict[str, Any]]:
    """Lena, in her chat with the bot and in her chat with the shop's Business account."""
    _shop, connection = await connect_business_account(client, care_team.group_id)
    user = await client.create_user("Lena", language_code="en")
    return Customer(client, user), BusinessCustomer(client, user, connection["id"]), connection


async def _complaints(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Complaint]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(Complaint).order_by(Complaint.id))).all())


async def test_a_message_to_the_business_account_leaves_the_bot_chat_dialogue_alone(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    in_bot, in_business, _connection = await _both_chats(client, care_team)
    assert en("What is the complaint about?") in text_of(await in_bot.say("/complain"))
    _, asked = await in_bot.press("Delivery")
    assert asked is not None and en(ASKS_DESCRIPTION) in text_of(asked)
    bot_chat = await in_bot.transcript()

    # A question to the shop meanwhile is a question, not the complaint's description.
    answer = await in_business.say("Do you have green tea?")
    assert answer["sender_business_bot"] is True
    assert en(ASKS_DESCRIPTION) not in text_of(answer)
    assert en(ASKS_ATTACHMENTS) not in text_of(answer)
    assert await in_bot.transcript() == bot_chat, "nothing more in the chat with the bot"
    (draft,) = await _complaints(sessionmaker)
    assert (draft.status, draft.description, draft.business_connection_id) == ("draft", None, None)

    # The bot chat's step is still the description.
    attach = await in_bot.say("The tea tin arrived dented.")
    assert text_of(attach) == en(ASKS_ATTACHMENTS)
    assert "sender_business_bot" not in attach
    (draft,) = await _complaints(sessionmaker)
    assert draft.description == "The tea tin arrived dented."


async def test_a_message_to_the_bot_leaves_the_business_chat_dialogue_alone(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    in_bot, in_business, connection = await _both_chats(client, care_team)
    await in_business.say("/complain")
    _, asked = await in_business.press("Product")
    assert en(ASKS_DESCRIPTION) in text_of(asked)
    business_chat = await in_business.transcript()

    answer = await in_bot.say("Hello bot")
    assert "sender_business_bot" not in answer
    assert en(ASKS_DESCRIPTION) not in text_of(answer)
    assert await in_business.transcript() == business_chat, "nothing more in the Business chat"

    attach = await in_business.say("The leaves were wet.")
    assert text_of(attach) == en(ASKS_ATTACHMENTS)
    assert attach["sender_business_bot"] is True
    (draft,) = await _complaints(sessionmaker)
    assert (draft.description, draft.business_connection_id) == (
        "The leaves were wet.",
        connection["id"],
    )


async def test_two_complaints_filed_at_once_in_both_chats_across_a_restart(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    in_bot, in_business, connection = await _both_chats(client, care_team)
    await in_bot.say("/complain")
    await in_bot.press("Delivery")
    await in_business.say("/complain")
    await in_business.press("Product")
    assert text_of(await in_business.say("The leaves were wet.")) == en(ASKS_ATTACHMENTS)

    # Each chat's step is kept apart in the database, and read back after a restart.
    await complaint_bot.stop()
    async with sessionmaker() as session:
        keys = set(
            await session.scalars(
                select(PersistenceEntry.key).where(PersistenceEntry.kind == "conversation")
            )
        )
    lena = in_bot.id
    assert keys == {
        f'["complaint_filing",[{lena},{lena}]]',
        f'["complaint_filing",[{lena},{lena},"business:{connection["id"]}"]]',
    }
    await complaint_bot.start()

    assert text_of(await in_bot.say("The tin arrived dented.")) == en(ASKS_ATTACHMENTS)
    _, asked = await in_business.press("Continue")
    assert text_of(asked) == en(ASKS_REFERENCE)
    _, asked = await in_bot.press("Continue")
    assert asked is not None and text_of(asked) == en(ASKS_REFERENCE)
    await in_bot.say("T-1")
    await in_business.say("T-2")
    _, filed_in_bot = await in_bot.press(
        "Submit", lambda m: "complaint number" in text_of(m).lower()
    )
    _, filed_in_business = await in_business.press(
        "Submit", lambda m: "complaint number" in text_of(m).lower()
    )

    first, second = await _complaints(sessionmaker)
    assert (first.description, first.reference, first.business_connection_id) == (
        "The tin arrived dented.", "T-1", None,
    )  # fmt: skip
    assert (second.description, second.reference, second.business_connection_id) == (
        "The leaves were wet.", "T-2", connection["id"],
    )  # fmt: skip
    # Each confirmation in the chat the complaint was filed in.
    assert filed_in_bot is not None and first.number in text_of(filed_in_bot)
    assert "sender_business_bot" not in filed_in_bot
    assert second.number is not None and second.number in text_of(filed_in_business)
    assert filed_in_business["sender_business_bot"] is True
    assert not any(second.number in text_of(m) for m in await in_bot.transcript())
    assert not any(
        first.number is not None and first.number in text_of(m)
        for m in await in_business.transcript()
    )

    # A reply to a complaint's message finds it by the chat it is in: each complaint's
    # messages to her are noted with their chat.
    async def noted() -> list[tuple[int, str | None]]:
        async with sessionmaker() as session:
            rows = await session.execute(
                select(ComplaintMessage.complaint_id, ComplaintMessage.business_connection_id)
                .where(ComplaintMessage.purpose == "customer")
                .distinct()
            )
            return sorted((row[0], row[1]) for row in rows.all())

    async def both_noted() -> bool:
        return len(await noted()) == 2

    await wait_until(both_noted)
    assert await noted() == [(first.id, None), (second.id, connection["id"])]


async def test_an_edit_or_deletion_in_one_chat_is_not_taken_for_the_other_chats(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
) -> None:
    """Both chats number their messages from 1: the bot chat's message 2 and the Business
    chat's message 2 are two messages, each shown to staff."""
    in_bot, _in_business, connection = await _both_chats(client, care_team)
    group = care_team.group_id
    await in_bot.say("Hello")  # opens her conversation: later messages get no answer
    to_bot = await client.send_text(in_bot.id, in_bot.id, "Where is order 77?")
    for _ in range(to_bot["message_id"] - 1):
        await client.business_write(connection["id"], in_bot.id, "…")
    to_shop = await client.business_write(connection["id"], in_bot.id, "Where is order 88?")
    assert to_bot["message_id"] == to_shop["message_id"], "the same number in both chats"
    relayed_77 = await client.wait_for_bot_message(
        group, lambda m: "order 77" in text_of(m), timeout=WAIT
    )
    relayed_88 = await client.wait_for_bot_message(
        group, lambda m: "order 88" in text_of(m), timeout=WAIT
    )

    # An edit in the Business chat is shown under the Business chat's message.
    await client.business_edit(connection["id"], in_bot.id, to_shop["message_id"], "order 89!")
    edit = await client.wait_for_bot_message(
        group, lambda m: "order 89!" in text_of(m), timeout=WAIT
    )
    assert edit.get("reply_to_message_id") == relayed_88["message_id"]

    # A deletion there marks the Business chat's message only.
    await client.business_delete(connection["id"], in_bot.id, [to_shop["message_id"]])
    deleted = zh("🗑 The customer deleted this message.")
    marked = await client.wait_for_bot_message(group, lambda m: text_of(m) == deleted)
    assert marked.get("reply_to_message_id") == relayed_88["message_id"]
    assert not any(
        text_of(m) == deleted and m.get("reply_to_message_id") == relayed_77["message_id"]
        for m in await client.transcript(group)
    )


async def test_an_edit_or_deletion_while_the_relay_is_on_its_way_is_shown_under_it(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
) -> None:
    """Telegram shows the relay before its answer reaches carebot: an edit or a deletion
    the customer makes in that moment is still shown under the relay, not dropped."""
    in_bot, _in_business, connection = await _both_chats(client, care_team)
    group = care_team.group_id
    await in_bot.say("Hello")  # opens her conversation: later messages get no answer
    await client.wait_for_bot_message(group, lambda m: "Hello" in text_of(m), timeout=WAIT)
    await all_owed_delivered(complaint_bot)

    # The bot chat: the relay is shown, its answer is late; she edits meanwhile.
    await client.fault(kind="late_answer", method="sendMessage", chat_id=group, seconds=1.5,
                       count=1)  # fmt: skip
    asked = await client.send_text(in_bot.id, in_bot.id, "Where is order 77?")
    relayed = await client.wait_for_bot_message(
        group, lambda m: "order 77" in text_of(m), timeout=WAIT
    )
    await client.edit_message(in_bot.id, asked["message_id"], text="Where is order 78?")
    edit = await client.wait_for_bot_message(
        group, lambda m: "order 78" in text_of(m), timeout=WAIT
    )
    assert edit.get("reply_to_message_id") == relayed["message_id"]

    # The Business chat: she deletes hers while the relay's answer is late.
    await all_owed_delivered(complaint_bot)
    await client.fault(kind="late_answer", method="sendMessage", chat_id=group, seconds=1.5,
                       count=1)  # fmt: skip
    to_shop = await client.business_write(connection["id"], in_bot.id, "Where is order 88?")
    relayed_88 = await client.wait_for_bot_message(
        group, lambda m: "order 88" in text_of(m), timeout=WAIT
    )
    await client.business_delete(connection["id"], in_bot.id, [to_shop["message_id"]])
    deleted = zh("🗑 The customer deleted this message.")
    marked = await client.wait_for_bot_message(group, lambda m: text_of(m) == deleted)
    assert marked.get("reply_to_message_id") == relayed_88["message_id"]


@pytest.fixture
async def forum_bot(
    sandbox: Sandbox,
    database_url: str,
    clock: ManualClock,
    client: SandboxClient,
    engine: AsyncEngine,
) -> AsyncIterator[tuple[RunningBot, int]]:
    """carebot with a forum staff chat (a topic per customer), on the emptied database."""
    agent = await client.create_user("王丽", language_code="zh-hans")
    group = await client.create_group(
        "Care staff", [agent["id"]], is_forum=True, bot_rights={"can_manage_topics": True}
    )
    running = RunningBot(sandbox, database_url, clock, staff_chat_id=group["id"])
    await running.start()
    yield running, group["id"]
    await running.stop()


async def test_staff_see_what_was_written_to_the_business_account_not_the_bot_chats_message(
    forum_bot: tuple[RunningBot, int], client: SandboxClient
) -> None:
    """A message is copied to staff with copyMessage, which knows no Business chats: the
    Business chat's message 1 would come out as the bot chat's message 1."""
    _bot, group = forum_bot
    _shop, connection = await connect_business_account(client, group)
    user = await client.create_user("Lena", language_code="en")
    in_bot, in_business = Customer(client, user), BusinessCustomer(client, user, connection["id"])
    await in_bot.say("Order 5 is late")  # the bot chat's message 1
    await client.wait_for_bot_message(group, lambda m: "Order 5 is late" in text_of(m))

    asked = await client.business_write(connection["id"], in_bot.id, "Do you have green tea?")
    assert asked["message_id"] == 1
    # In her topic, under a header naming the account (staff answer where she last wrote).
    via = zh("via 💼 {account}:").format(account="Tea Shop")
    await client.wait_for_bot_message(
        group, lambda m: text_of(m) == f"{via}\nDo you have green tea?"
    )
    photo = await client.business_send(connection["id"], in_bot.id, photo={}, caption="The tin")
    shown = await client.wait_for_bot_message(group, lambda m: text_of(m) == f"{via}\nThe tin")
    assert shown["photo"][-1]["file_unique_id"] == photo["photo"][-1]["file_unique_id"]
    # A sticker (no caption) by its file, just after the header.
    sticker = await client.business_send(connection["id"], in_bot.id, sticker={"emoji": "🐼"})
    shown = await client.wait_for_bot_message(group, lambda m: "sticker" in m)
    assert shown["sticker"]["file_unique_id"] == sticker["sticker"]["file_unique_id"]
    transcript = await client.transcript(group)
    line = next(m for m in transcript if m["message_id"] == shown["message_id"] - 1)
    assert text_of(line) == via
    relays = [m for m in await client.transcript(group) if "Order 5 is late" in text_of(m)]
    assert len(relays) == 2, "the bot chat's message, and the new conversation's notice"
    assert await in_business.transcript()  # she got the conversation's first answer there


async def test_staff_photos_reach_a_business_customer_in_the_business_chat(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
) -> None:
    """copyMessage cannot go through a Business connection: a staff member's photo for a
    customer of the account goes by its file, into the Business chat, never the bot's."""
    in_bot, in_business, _connection = await _both_chats(client, care_team)
    room = StaffRoom(client, care_team.group_id)
    agent = room.member(care_team.agent)
    await in_business.say("Is this the right tin?")
    relayed = await client.wait_for_bot_message(
        care_team.group_id, lambda m: "Is this the right tin?" in text_of(m)
    )

    await all_owed_delivered(complaint_bot)  # carebot has noted where the relay went
    sent = await agent.send_photo("Yes, this one.", reply_to=relayed)
    got = await in_business.wait_reply(0, lambda m: "this one" in text_of(m))
    assert got["sender_business_bot"] is True and "photo" in got
    assert got["photo"][-1]["file_unique_id"] == sent["photo"][-1]["file_unique_id"]
    assert await in_bot.transcript() == [], "nothing in her chat with the bot"

    # A voice message goes by its file too (tests/e2e/test_conversation_media.py has
    # the other kinds).
    voice = await client.send_message(
        care_team.group_id, care_team.agent["id"], voice={"duration": 2},
        reply_to_message_id=relayed["message_id"],
    )  # fmt: skip
    got = await in_business.wait_reply(got["message_id"], lambda m: "voice" in m)
    assert got["voice"]["file_unique_id"] == voice["voice"]["file_unique_id"]
    assert await in_bot.transcript() == []


async def test_a_photo_for_an_open_complaint_from_the_business_chat_reaches_staff_as_sent(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    in_bot, in_business, connection = await _both_chats(client, care_team)
    await in_bot.say("Hello")  # her chat with the bot has a message 1 too
    await in_business.say("/complain")
    await in_business.press("Delivery")
    await in_business.say("The tin arrived dented.")
    await in_business.press("Continue")
    await in_business.say("T-42")
    await in_business.press("Submit", lambda m: "complaint number" in text_of(m).lower())
    (complaint,) = await _complaints(sessionmaker)

    photo = await client.business_send(connection["id"], in_bot.id, photo={}, caption="Look")
    relayed = await client.wait_for_bot_message(
        care_team.group_id, lambda m: "photo" in m and "Look" in text_of(m)
    )
    assert complaint.number is not None and complaint.number in text_of(relayed)
    assert relayed["photo"][-1]["file_unique_id"] == photo["photo"][-1]["file_unique_id"]


async def test_registration_in_the_bot_chat_is_not_answered_from_the_business_chat(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    in_bot, in_business, _connection = await _both_chats(client, care_team)
    await in_bot.say("/start")
    await in_bot.press("English", edited=lambda m: "care messages" in text_of(m))
    _, asks_phone = await in_bot.press("Yes, please")
    assert asks_phone is not None and "phone" in text_of(asks_phone).lower()

    # A number written to the shop is a message to the shop, not her registration's.
    answer = await in_business.say("+8613800138000")
    assert "birthday" not in text_of(answer).lower()
    async with sessionmaker() as session:
        customer = await session.scalar(
            select(CustomerRecord).where(CustomerRecord.telegram_user_id == in_bot.id)
        )
    assert customer is not None and customer.phone is None

    asks_birthday = await in_bot.say("Skip")
    assert "birthday" in text_of(asks_birthday).lower()
