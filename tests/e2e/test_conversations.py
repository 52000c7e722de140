"""Conversations in a forum staff chat, end to end (issue 11): a customer's question
becomes their topic, staff answer by just typing in it, the customer's answer lands in
the same topic, the conversation closes and reopens with its topic."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care import conversations as conversation_records
from care import staff as staff_members
from care.clock import ManualClock
from care.conversation_models import (
    Conversation,
    ConversationEvent,
    ConversationStatus,
    StaffTopic,
)
from care.models import Contact, Priority, StaffRole
from care.sla import SlaPolicy
from care.triage import Triage
from tests.helpers import Customer, RunningBot, en, text_of, wait_until, zh

# The rights the staff guide asks for: manage topics, delete messages (for /forget).
TOPICS = {"can_manage_topics": True, "can_delete_messages": True}


@pytest.fixture
async def forum_team(
    client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> dict[str, Any]:
    """A forum staff chat (the bot may manage topics) with 王丽, an agent, and Bo, who is
    in the group but not care staff."""
    agent = await client.create_user("王丽", language_code="zh-hans")
    outsider = await client.create_user("Bo", language_code="en")
    group = await client.create_group(
        "Care staff", [agent["id"], outsider["id"]], is_forum=True, bot_rights=TOPICS
    )
    async with sessionmaker.begin() as session:
        await staff_members.add_staff(
            session, agent["id"], StaffRole.AGENT, clock.now(), name="王丽"
        )
    return {"group": group["id"], "agent": agent, "outsider": outsider}


@pytest.fixture
async def forum_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, forum_team: dict[str, Any]
) -> AsyncIterator[RunningBot]:
    running = RunningBot(
        sandbox, database_url, clock, staff_chat_id=forum_team["group"], sla_check_seconds=0.2
    )
    await running.start()
    yield running
    await running.stop()


async def topic_of(
    sessionmaker: async_sessionmaker[AsyncSession], customer_user_id: int
) -> StaffTopic | None:
    from care.models import Customer as CustomerRecord

    async with sessionmaker() as session:
        return await session.scalar(
            select(StaffTopic)
            .join(CustomerRecord, CustomerRecord.id == StaffTopic.customer_id)
            .where(CustomerRecord.telegram_user_id == customer_user_id)
        )


async def conversations_of(
    sessionmaker: async_sessionmaker[AsyncSession], customer_user_id: int
) -> list[Conversation]:
    from care.models import Customer as CustomerRecord

    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Conversation)
            .join(CustomerRecord, CustomerRecord.id == Conversation.customer_id)
            .where(CustomerRecord.telegram_user_id == customer_user_id)
            .order_by(Conversation.id)
        )
        return list(rows.all())


async def wait_topic(
    client: SandboxClient, group: int, predicate: Any, what: str
) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def seen() -> bool:
        found[:] = [t for t in await client.topics(group) if predicate(t)]
        return bool(found)

    await wait_until(seen, 20)
    return found[0]


async def wait_in_topic(
    client: SandboxClient, group: int, thread: int, predicate: Any
) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def seen() -> bool:
        found[:] = [m for m in await client.transcript(group, thread) if predicate(m)]
        return bool(found)

    await wait_until(seen, 20)
    return found[-1]


async def test_a_question_becomes_a_topic_staff_answer_by_typing_it_closes_and_reopens(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group, agent = forum_team["group"], forum_team["agent"]
    ming = Customer(client, await client.create_user("王小明", language_code="zh-hans"))

    got = await ming.say("你们营业时间是几点？有没有退货政策？")
    assert zh("Thank you, we got your message. A colleague will answer by {due}.").split("{")[
        0
    ] in text_of(got)
    [conversation] = await conversations_of(sessionmaker, ming.id)
    number = conversation.id
    topic = await wait_topic(
        client, group, lambda t: t["name"] == f"🟢 王小明 · #{number}", "the topic"
    )
    thread = topic["message_thread_id"]
    copied = await wait_in_topic(client, group, thread, lambda m: "退货政策" in text_of(m))
    assert copied["from"]["is_bot"]
    general = await client.transcript(group, "general")
    assert any(f"#{number}" in text_of(m) and "王小明" in text_of(m) for m in general)

    # A second message: no second "we got your message", same topic.
    await client.send_text(ming.id, ming.id, "还有，能开发票吗？")
    await wait_in_topic(client, group, thread, lambda m: "发票" in text_of(m))
    assert len(await ming.bot_messages()) == 1

    # 王丽 just types in the topic: the customer gets it, signed with her name.
    await client.send_text(
        group, agent["id"], "您好，我们每天九点到二十一点营业。", message_thread_id=thread
    )
    answer = await client.wait_for_bot_message(
        ming.id, lambda m: "九点到二十一点" in text_of(m), timeout=20
    )
    assert text_of(answer) == zh("{name} (customer care): {text}").format(
        name="王丽", text="您好，我们每天九点到二十一点营业。"
    )
    await wait_topic(client, group, lambda t: t["name"] == f"💬 王小明 · #{number}", "renamed")
    # An internal note never reaches the customer.
    note = await client.send_text(
        group, agent["id"], "#note 他上周也问过", message_thread_id=thread
    )
    await client.wait_for_bot_message(
        group, lambda m: m.get("reply_to_message_id") == note["message_id"], timeout=20
    )
    assert not any("上周" in text_of(m) for m in await ming.bot_messages())

    # The customer's answer lands in the same topic.
    await client.send_text(ming.id, ming.id, "好的，谢谢！")
    await wait_in_topic(client, group, thread, lambda m: "谢谢" in text_of(m))
    await wait_topic(client, group, lambda t: t["name"] == f"🟠 王小明 · #{number}", "back to us")

    # Close from the card's button (the card is the topic's first message from the bot).
    [card] = [
        m
        for m in await client.transcript(group, thread)
        if m["from"]["is_bot"] and m.get("reply_markup")
    ]
    query = await client.press(group, agent["id"], card["message_id"], f"cv:close:{number}")
    answer_text = (await client.wait_for_callback_answer(query, timeout=20)).get("text")
    assert answer_text == zh("Conversation closed.")
    closed = await wait_topic(client, group, lambda t: t["is_closed"], "closed")
    assert closed["message_thread_id"] == thread
    again = await client.press(group, agent["id"], card["message_id"], f"cv:close:{number}")
    assert (await client.wait_for_callback_answer(again, timeout=20)).get("text") == zh(
        "Already done."
    )

    # The customer writes again: a new conversation, in the same topic, reopened.
    got = await ming.say("我又有一个问题")
    assert zh("Thank you, we got your message. A colleague will answer by {due}.").split("{")[
        0
    ] in text_of(got), "a new conversation is acknowledged again"
    [first, second] = await conversations_of(sessionmaker, ming.id)
    assert first.status == ConversationStatus.CLOSED.value
    reopened = await wait_topic(
        client,
        group,
        lambda t: t["name"] == f"🟢 王小明 · #{second.id}" and not t["is_closed"],
        "reopened",
    )
    assert reopened["message_thread_id"] == thread and not reopened["is_closed"]
    assert len([t for t in await client.topics(group) if not t["is_general"]]) == 1
    async with sessionmaker() as session:
        kinds = [
            e.type
            for e in await session.scalars(
                select(ConversationEvent)
                .where(ConversationEvent.conversation_id == number)
                .order_by(ConversationEvent.id)
            )
        ]
        logged = (await session.scalars(select(Contact.text))).all()
    assert kinds == [
        "opened", "customer_message", "customer_message", "staff_answer", "note",
        "customer_message", "status",
    ]  # fmt: skip
    assert "您好，我们每天九点到二十一点营业。" in " ".join(t or "" for t in logged)


async def test_someone_in_the_staff_chat_who_is_not_staff_is_refused(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group, outsider = forum_team["group"], forum_team["outsider"]
    anna = Customer(client, await client.create_user("Anna", language_code="en"))
    got = await anna.say("Do you ship to Canada?")
    assert en("Thank you, we got your message. A colleague will answer by {due}.").split("{")[
        0
    ] in text_of(got)
    [conversation] = await conversations_of(sessionmaker, anna.id)
    topic = await wait_topic(
        client, group, lambda t: t["name"] == f"🟢 Anna · #{conversation.id}", "topic"
    )
    thread = topic["message_thread_id"]
    # The question copied into the topic: the topic's thread is on record by then.
    await wait_in_topic(client, group, thread, lambda m: "Canada" in text_of(m))
    sent = await client.send_text(group, outsider["id"], "Sure we do", message_thread_id=thread)
    refusal = await client.wait_for_bot_message(
        group, lambda m: m.get("reply_to_message_id") == sent["message_id"], timeout=20
    )
    assert text_of(refusal) == zh("Only care staff can do this.")
    [card] = [
        m
        for m in await client.transcript(group, thread)
        if m["from"]["is_bot"] and m.get("reply_markup")
    ]
    query = await client.press(
        group, outsider["id"], card["message_id"], f"cv:take:{conversation.id}"
    )
    assert (await client.wait_for_callback_answer(query, timeout=20)).get("text") == zh(
        "Only care staff can do this."
    )
    assert not any("Sure" in text_of(m) for m in await anna.bot_messages())


async def test_two_customers_writing_at_once_never_cross_topics(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = forum_team["group"]
    people = [
        await client.create_user(name, language_code="en") for name in ("Anna", "Bert", "Cleo")
    ]

    async def write(user: dict[str, Any]) -> None:
        for n in range(4):
            await client.send_text(user["id"], user["id"], f"{user['first_name']} message {n}")

    await asyncio.gather(*(write(user) for user in people))
    for user in people:
        name = user["first_name"]
        topic = await wait_topic(client, group, lambda t, n=name: f" {n} · #" in t["name"], name)
        thread = topic["message_thread_id"]

        async def all_copied(thread: int = thread, name: str = name) -> bool:
            texts = [text_of(m) for m in await client.transcript(group, thread)]
            return sum(f"{name} message" in t for t in texts) == 4

        await wait_until(all_copied, 30)
        texts = [text_of(m) for m in await client.transcript(group, thread)]
        others = [t for t in texts if " message " in t and not t.startswith(name)]
        assert others == [], f"{name}'s topic holds only {name}'s messages"
    assert len([t for t in await client.topics(group) if not t["is_general"]]) == 3


async def test_telegram_failing_to_create_the_topic_or_copy_is_retried(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    clock: ManualClock,
) -> None:
    group = forum_team["group"]
    await client.fault({"kind": "error", "method": "createForumTopic", "status": 500, "count": 1})
    await client.fault({"kind": "error", "method": "copyMessage", "status": 502, "count": 1})
    dora = Customer(client, await client.create_user("Dora", language_code="en"), timeout=20)
    await dora.say("Is the shop open on Sunday?")

    async def copied() -> bool:
        clock.advance(timedelta(seconds=1))  # the retries' backoff runs on the test clock
        topics = [t for t in await client.topics(group) if " Dora · #" in t["name"]]
        if not topics:
            return False
        thread = topics[0]["message_thread_id"]
        return any("Sunday" in text_of(m) for m in await client.transcript(group, thread))

    await wait_until(copied, 30, interval=0.2)
    assert len([t for t in await client.topics(group) if not t["is_general"]]) == 1
    failed = [
        r
        for r in await client.requests()
        if r["method"] in ("createForumTopic", "copyMessage") and not r["ok"]
    ]
    assert len(failed) == 2, "each failed once and was tried again"


async def test_media_both_ways_edits_and_a_blocked_customer_in_the_topic(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group, agent = forum_team["group"], forum_team["agent"]
    emma = Customer(client, await client.create_user("Emma", language_code="en"), timeout=20)
    first = await client.send_text(emma.id, emma.id, "My order number is 1234")
    await emma.wait_reply(first["message_id"])
    [conversation] = await conversations_of(sessionmaker, emma.id)
    topic = await wait_topic(client, group, lambda t: " Emma · #" in t["name"], "the topic")
    thread = topic["message_thread_id"]
    await wait_in_topic(client, group, thread, lambda m: "1234" in text_of(m))

    # Her photo and voice message are copied into the topic, media included.
    await client.send_photo(emma.id, emma.id, caption="the box")
    await client.send_voice(emma.id, emma.id)
    await wait_in_topic(client, group, thread, lambda m: m.get("photo") and "box" in text_of(m))
    await wait_in_topic(client, group, thread, lambda m: m.get("voice") and m["from"]["is_bot"])

    # An edit of her message is shown under its copy.
    await client.edit_message(emma.id, first["message_id"], text="My order number is 4321")
    edit = await wait_in_topic(client, group, thread, lambda m: "4321" in text_of(m))
    assert text_of(edit) == zh("✏ The customer edited this message: {text}").format(
        text="My order number is 4321"
    )
    copy = await wait_in_topic(client, group, thread, lambda m: "1234" in text_of(m))
    assert edit.get("reply_to_message_id") == copy["message_id"]

    # 王丽's photo reaches Emma, signed; her voice message too.
    await client.send_photo(group, agent["id"], caption="Like this one?", message_thread_id=thread)
    photo = await client.wait_for_bot_message(emma.id, lambda m: bool(m.get("photo")), timeout=20)
    assert text_of(photo) == en("{name} (customer care): {text}").format(
        name="王丽", text="Like this one?"
    )
    await client.send_message(group, agent["id"], voice={"duration": 2}, message_thread_id=thread)
    await client.wait_for_bot_message(emma.id, lambda m: bool(m.get("voice")), timeout=20)

    # Emma blocks the bot: the answer is refused with that reason, the topic says so.
    await client.block(emma.id)
    sent = await client.send_text(group, agent["id"], "Are you there?", message_thread_id=thread)
    refused = await client.wait_for_bot_message(
        group, lambda m: m.get("reply_to_message_id") == sent["message_id"], timeout=20
    )
    assert text_of(refused) == zh(
        "⚠ Not delivered: the customer blocked the bot, so no answer can reach them."
    )
    await wait_topic(client, group, lambda t: t["name"] == f"⛔ Emma · #{conversation.id}", "⛔")


async def test_a_late_first_answer_is_flagged_in_general_and_a_quiet_one_closes(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group, agent = forum_team["group"], forum_team["agent"]
    fay = Customer(client, await client.create_user("Fay", language_code="en"), timeout=20)
    await fay.say("Can I change my delivery address?")
    [conversation] = await conversations_of(sessionmaker, fay.id)
    topic = await wait_topic(client, group, lambda t: " Fay · #" in t["name"], "the topic")
    thread = topic["message_thread_id"]
    await wait_in_topic(client, group, thread, lambda m: "delivery address" in text_of(m))

    clock.advance(timedelta(hours=2, minutes=1))  # the first answer was due in 2 hours
    alert = zh("⏰ Conversation #{id} with {name}: nobody has answered, it was due {due}.")
    late = await client.wait_for_bot_message(
        group, lambda m: text_of(m).startswith(alert.split("{")[0]) and "Fay" in text_of(m),
        timeout=20,
    )  # fmt: skip
    assert late.get("message_thread_id") is None, "in General"

    await client.send_text(
        group, agent["id"], "Yes, tell me the new one.", message_thread_id=thread
    )
    await client.wait_for_bot_message(fay.id, lambda m: "new one" in text_of(m), timeout=20)
    await wait_topic(client, group, lambda t: t["name"].startswith("💬 Fay"), "answered")
    clock.advance(timedelta(hours=24, minutes=1))  # CAREBOT_CONVERSATION_CLOSE_HOURS
    closed = await wait_topic(
        client, group, lambda t: t["name"].startswith("✅ Fay") and t["is_closed"], "closed"
    )
    assert closed["message_thread_id"] == thread
    [after] = await conversations_of(sessionmaker, fay.id)
    assert after.status == ConversationStatus.CLOSED.value and after.closed_by is None
    assert conversation.id == after.id


def said_as(text: str, msgid: str, conversation_id: int) -> bool:
    """Whether ``text`` is the staff group's (zh_CN) ``msgid`` about the conversation,
    whatever its times."""
    parts = [part for part in re.split(r"\{\w+\}", zh(msgid)) if part]
    return f"#{conversation_id}" in text and all(part in text for part in parts)


FIRST_WARNING = (
    "⏳ Conversation #{id} with {name}: nobody has answered yet; "
    "the first answer is due {due} ({left} left)."
)
FIRST_BREACH = "⏰ Conversation #{id} with {name}: nobody has answered, it was due {due}."
RESOLVE_WARNING = (
    "⏳ Conversation #{id} with {name} is still open; it should be settled by {due} ({left} left)."
)
RESOLVE_BREACH = (
    "⏰ Conversation #{id} with {name} is still open; it was due to be settled by {due}."
)


async def test_a_conversation_s_deadlines_are_warned_of_and_breached_once_by_the_alert_policy(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group, agent = forum_team["group"], forum_team["agent"]
    boss = await client.create_user("Sam", language_code="en")
    async with sessionmaker.begin() as session:
        await staff_members.add_staff(
            session, boss["id"], StaffRole.SUPERVISOR, clock.now(), name="Sam"
        )
    gus = Customer(client, await client.create_user("Gus", language_code="en"), timeout=20)
    await gus.say("Where is my parcel?")
    [conversation] = await conversations_of(sessionmaker, gus.id)
    topic = await wait_topic(client, group, lambda t: " Gus · #" in t["name"], "the topic")
    thread = topic["message_thread_id"]
    await wait_in_topic(client, group, thread, lambda m: "parcel" in text_of(m))

    async def alerts_in(chat: int, msgid: str) -> list[dict[str, Any]]:
        return [
            m for m in await client.bot_messages(chat)
            if said_as(text_of(m), msgid, conversation.id)
        ]  # fmt: skip

    async def wait_alert(chat: int, msgid: str) -> dict[str, Any]:
        return await client.wait_for_bot_message(
            chat, lambda m: said_as(text_of(m), msgid, conversation.id), timeout=20
        )

    # A quarter of the 2 h left and nobody has it: the group hears, in General.
    clock.advance(timedelta(minutes=91))
    warning = await wait_alert(group, FIRST_WARNING)
    assert warning.get("message_thread_id") is None, "in General"

    # 王丽 takes it; the first answer is late: the group and the supervisor hear.
    async with sessionmaker.begin() as session:
        member = await staff_members.find_staff(session, agent["id"])
        taken = await session.get_one(Conversation, conversation.id)
        assert member is not None
        await conversation_records.take(session, taken, member, clock.now())
    clock.advance(timedelta(minutes=30))
    breach = await wait_alert(group, FIRST_BREACH)
    assert breach.get("message_thread_id") is None, "in General"
    await wait_alert(boss["id"], FIRST_BREACH)
    assert len(await alerts_in(group, FIRST_WARNING)) == 1, "the warning was given once"

    # She answers; Gus writes back, so the conversation waits for us and stays open.
    await client.send_text(group, agent["id"], "It left today.", message_thread_id=thread)
    await client.wait_for_bot_message(gus.id, lambda m: "left today" in text_of(m), timeout=20)
    await wait_topic(client, group, lambda t: t["name"].startswith("💬 Gus"), "answered")
    await client.send_text(gus.id, gus.id, "It has not arrived")
    await wait_topic(client, group, lambda t: t["name"].startswith("🟠 Gus"), "waiting for us")

    # 36 h in, a quarter of the 48 h left: the warning goes to 王丽, who has it.
    clock.advance(timedelta(hours=34))
    await wait_alert(agent["id"], RESOLVE_WARNING)
    clock.advance(timedelta(hours=12))
    await wait_alert(group, RESOLVE_BREACH)
    await wait_alert(boss["id"], RESOLVE_BREACH)

    assert await alerts_in(group, RESOLVE_WARNING) == [], "the assignee's, not the group's"
    assert len(await alerts_in(agent["id"], RESOLVE_WARNING)) == 1
    assert len(await alerts_in(group, FIRST_BREACH)) == 1
    assert len(await alerts_in(boss["id"], FIRST_BREACH)) == 1
    assert await alerts_in(agent["id"], FIRST_BREACH) == [], "breaches: group and supervisors"
    assert not [
        m
        for m in await client.transcript(group, thread)
        if said_as(text_of(m), FIRST_BREACH, conversation.id)
    ], "no alert in the customer's topic"


async def test_queue_lists_open_conversations_beside_complaints_nearest_deadline_first(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group, agent = forum_team["group"], forum_team["agent"]
    hal = Customer(client, await client.create_user("Hal", language_code="en"), timeout=20)
    ivy = Customer(client, await client.create_user("Ivy", language_code="en"), timeout=20)
    await hal.say("Are you open on Sunday?")
    clock.advance(timedelta(minutes=5))
    await ivy.say("My kettle leaks")
    [hal_talk], [ivy_talk] = (
        await conversations_of(sessionmaker, hal.id),
        await conversations_of(sessionmaker, ivy.id),
    )
    hal_topic = await wait_topic(client, group, lambda t: " Hal · #" in t["name"], "Hal's topic")
    await wait_topic(client, group, lambda t: " Ivy · #" in t["name"], "Ivy's topic")

    # Hal is answered: his next deadline is the resolution, two days away. 王丽 takes Ivy's
    # and files a complaint from it.
    await client.send_text(
        group, agent["id"], "Yes, 10:00 to 16:00.", message_thread_id=hal_topic["message_thread_id"]
    )
    await client.wait_for_bot_message(hal.id, lambda m: "16:00" in text_of(m), timeout=20)
    await wait_topic(client, group, lambda t: t["name"].startswith("💬 Hal"), "answered")
    async with sessionmaker.begin() as session:
        member = await staff_members.find_staff(session, agent["id"])
        talk = await session.get_one(Conversation, ivy_talk.id)
        assert member is not None
        await conversation_records.take(session, talk, member, clock.now())
        complaint = await conversation_records.to_complaint(
            session, talk, member, "product", Priority.HIGH, SlaPolicy(), Triage(), clock.now(),
            "Asia/Shanghai",
        )  # fmt: skip
        number = complaint.number
    assert number is not None

    sent = await client.send_text(group, agent["id"], "/queue")
    reply = await client.wait_for_bot_message(
        group, lambda m: number in text_of(m) and f"#{hal_talk.id} Hal" in text_of(m), timeout=20
    )
    assert reply["message_id"] > sent["message_id"]
    lines = text_of(reply).splitlines()
    [complaint_at] = [i for i, line in enumerate(lines) if number in line]
    [ivy_at] = [i for i, line in enumerate(lines) if f"#{ivy_talk.id} Ivy" in line]
    [hal_at] = [i for i, line in enumerate(lines) if f"#{hal_talk.id} Hal" in line]
    assert complaint_at < ivy_at < hal_at, "complaints, then conversations by next deadline"
    assert lines[ivy_at].startswith("🟠") and zh("waiting for us") in lines[ivy_at]
    assert "王丽" in lines[ivy_at], "the assignee by name"
    assert lines[hal_at].startswith("💬") and zh("waiting for the customer") in lines[hal_at]
    assert zh("nobody yet") in lines[hal_at]
    assert str(agent["id"]) not in text_of(reply), "never a raw id"


async def test_forget_deletes_the_customer_s_topic_and_leaves_no_name_in_the_chat(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = forum_team["group"]
    jo = Customer(client, await client.create_user("Jo Quokka", language_code="en"), timeout=20)
    await jo.say("Please call me back")
    topic = await wait_topic(client, group, lambda t: " Jo Quokka · #" in t["name"], "the topic")
    await wait_in_topic(
        client, group, topic["message_thread_id"], lambda m: "call me" in text_of(m)
    )
    assert [m for m in await client.transcript(group, "general") if "Quokka" in text_of(m)]

    question = await jo.say("/forget")
    _, goodbye = await jo.press("Yes, erase", message=question)
    assert goodbye is not None and "erased" in text_of(goodbye)

    # The topic goes with everything in it (its first message too, which carries the
    # name it was made with); the new-conversation notice in General goes as well.
    async def gone() -> bool:
        topics = await client.topics(group)
        return [t["name"] for t in topics] == ["General"] and not [
            m
            for m in await client.transcript(group)
            if "Quokka" in str(m) or "call me" in text_of(m)
        ]

    await wait_until(gone, 20)
    async with sessionmaker() as session:
        assert (await session.scalars(select(StaffTopic))).all() == []


async def test_a_complaint_s_changes_get_a_line_in_its_customer_s_topic(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group, agent = forum_team["group"], forum_team["agent"]
    kim = Customer(client, await client.create_user("Kim", language_code="en"), timeout=20)
    await kim.say("The blender is broken")
    [conversation] = await conversations_of(sessionmaker, kim.id)
    topic = await wait_topic(client, group, lambda t: " Kim · #" in t["name"], "the topic")
    thread = topic["message_thread_id"]
    await wait_in_topic(client, group, thread, lambda m: "blender" in text_of(m))
    async with sessionmaker.begin() as session:
        member = await staff_members.find_staff(session, agent["id"])
        talk = await session.get_one(Conversation, conversation.id)
        assert member is not None
        complaint = await conversation_records.to_complaint(
            session, talk, member, "product", Priority.NORMAL, SlaPolicy(), Triage(), clock.now(),
            "Asia/Shanghai",
        )  # fmt: skip
        number = complaint.number
    assert number is not None

    await client.send_text(group, agent["id"], f"/assign {number} {agent['id']}")
    shape = zh("📋 {number}: {status} · {assignee} (its card in General is up to date)")
    line = await wait_in_topic(
        client,
        group,
        thread,
        lambda m: text_of(m).startswith(shape.split("{status}")[0].format(number=number)),
    )
    assert "王丽" in text_of(line), "who has it now, by name"
    assert text_of(line).endswith(shape.split("{assignee}")[1])


async def test_a_canned_answer_sent_with_c_in_the_topic_reaches_the_customer(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    from care import canned

    group, agent = forum_team["group"], forum_team["agent"]
    async with sessionmaker.begin() as session:
        await canned.save(
            session, "hours", "zh_CN", "{name}您好，我们每天九点到二十一点营业。", None, clock.now()
        )
    ming = Customer(client, await client.create_user("王小明", language_code="zh-hans"))
    await ming.say("你们几点开门？")
    [conversation] = await conversations_of(sessionmaker, ming.id)
    topic = await wait_topic(
        client, group, lambda t: t["name"].endswith(f"#{conversation.id}"), "the topic"
    )

    sent = await client.send_text(
        group, agent["id"], "/c hours", message_thread_id=topic["message_thread_id"]
    )

    answer = await client.wait_for_bot_message(
        ming.id, lambda m: "九点到二十一点" in text_of(m), timeout=20
    )
    assert text_of(answer) == zh("💬 {name} (customer care): {text}").format(
        name="王丽", text="王小明您好，我们每天九点到二十一点营业。"
    )
    told = await client.wait_for_bot_message(
        group, lambda m: m.get("reply_to_message_id") == sent["message_id"], timeout=20
    )
    assert "hours" in text_of(told)


async def test_tag_in_the_topic_tags_its_customer(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    from care import directory
    from care.models import Customer as CustomerRecord

    group, agent = forum_team["group"], forum_team["agent"]
    ming = Customer(client, await client.create_user("王小明", language_code="zh-hans"))
    await ming.say("我想问一下会员积分。")
    [conversation] = await conversations_of(sessionmaker, ming.id)
    topic = await wait_topic(
        client, group, lambda t: t["name"].endswith(f"#{conversation.id}"), "the topic"
    )
    thread = topic["message_thread_id"]

    sent = await client.send_text(group, agent["id"], "/tag vip", message_thread_id=thread)
    await client.wait_for_bot_message(
        group, lambda m: m.get("reply_to_message_id") == sent["message_id"], timeout=20
    )
    sent = await client.send_text(group, agent["id"], "/tag add key", message_thread_id=thread)
    await client.wait_for_bot_message(
        group, lambda m: m.get("reply_to_message_id") == sent["message_id"], timeout=20
    )

    async with sessionmaker() as session:
        customer_id = await session.scalar(
            select(CustomerRecord.id).where(CustomerRecord.telegram_user_id == ming.id)
        )
        assert customer_id is not None
        assert await directory.tags_of(session, customer_id) == ["key", "vip"]
    assert not any("vip" in text_of(m) for m in await ming.bot_messages()), "staff only"
