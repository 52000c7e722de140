"""/forget takes the customer's words out of the staff chat (issues 8 and 11), as owed
work that survives Telegram's faults and a crash: in a forum their topic is deleted with
everything in it (and the new-conversation notice in General); in a plain group the
conversation's card and every relayed copy are deleted; what Telegram no longer lets the
bot delete says "(erased at the customer's request)" instead."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.owed_jobs import owed_sender
from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care import owed
from care import staff as staff_members
from care.clock import ManualClock
from care.conversation_models import ConversationMessage, StaffTopic
from care.models import OwedMessage, OwedState, StaffRole
from tests.conftest import CareTeam
from tests.e2e.processes import sandbox_process, start_carebot, stop, wait_for
from tests.e2e.test_owed_messages import keep_retrying
from tests.helpers import Customer, RunningBot, text_of, wait_until, zh

# Words only this customer wrote, and their name.
NAME = "Quillon Brightwater"
WORDS = ("zanzibar kettle hums", "marmoset under the lid", "periwinkle handle")
SECRETS = (*WORDS, "Quillon", "Brightwater")
RIGHTS = {"can_manage_topics": True, "can_delete_messages": True}


def leaks(messages: list[dict[str, Any]]) -> list[str]:
    """What the chat still shows of the customer (texts, captions, topic names)."""
    return [
        f"message {m['message_id']}: {secret}"
        for m in messages
        for secret in SECRETS
        if secret in json.dumps(m, ensure_ascii=False)
    ]


async def staff_chat_leaks(client: SandboxClient, group: int, forum: bool = False) -> list[str]:
    """What the staff chat (every topic) still shows of the customer."""
    topics = [t["name"] for t in await client.topics(group)] if forum else []
    return leaks(await client.transcript(group)) + [
        f"topic {name}" for name in topics if any(s in name for s in SECRETS)
    ]


async def owed_to(sessionmaker: async_sessionmaker[AsyncSession], group: int) -> bool:
    async with sessionmaker() as session:
        return bool(await owed.unsettled(session, chat_id=group))


async def erase_rows(sessionmaker: async_sessionmaker[AsyncSession]) -> list[OwedMessage]:
    async with sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(OwedMessage).where(OwedMessage.kind == owed.Kind.ERASE.value)
                )
            ).all()
        )


async def talk(client: SandboxClient, customer: Customer, group: int) -> None:
    """The customer writes a text, a photo and another text; all reach the staff chat."""
    await customer.say(f"Hello, my {WORDS[0]}")
    photo = await client.send_photo(customer.id, customer.id, caption=WORDS[1])
    await customer.client.wait_for_bot_message(
        group, lambda m: m.get("caption") == WORDS[1], timeout=20
    )
    assert photo
    await client.send_text(customer.id, customer.id, f"and the {WORDS[2]} wobbles")
    await client.wait_for_bot_message(group, lambda m: WORDS[2] in text_of(m), timeout=20)


async def forget(customer: Customer) -> None:
    question = await customer.say("/forget")
    _, goodbye = await customer.press("Yes, erase", message=question)
    assert goodbye is not None and "erased" in text_of(goodbye)


@pytest.fixture
async def forum(
    client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> dict[str, Any]:
    """A forum staff chat where the bot may manage topics and delete messages."""
    agent = await client.create_user("王丽", language_code="zh-hans")
    group = await client.create_group("Care staff", [agent["id"]], is_forum=True, bot_rights=RIGHTS)
    async with sessionmaker.begin() as session:
        await staff_members.add_staff(
            session, agent["id"], StaffRole.AGENT, clock.now(), name="王丽"
        )
    return {"group": group["id"], "agent": agent}


@pytest.fixture
async def forum_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, forum: dict[str, Any]
) -> AsyncIterator[RunningBot]:
    running = RunningBot(sandbox, database_url, clock, staff_chat_id=forum["group"])
    await running.start()
    yield running
    await running.stop()


async def test_forum_the_topic_goes_with_everything_in_it_through_500_429_and_a_late_answer(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group, agent = forum["group"], forum["agent"]
    quillon = Customer(client, await client.create_user(NAME, language_code="en"), timeout=20)
    await talk(client, quillon, group)
    async with sessionmaker() as session:
        topic = await session.scalar(select(StaffTopic))
    assert topic is not None and topic.thread_id is not None
    thread = topic.thread_id
    # Staff answer in the topic (the bot cannot tell whose words they quote): gone too.
    await client.send_text(group, agent["id"], "Sorry about the kettle!", message_thread_id=thread)
    await quillon.wait_reply(0, lambda m: "Sorry" in text_of(m))
    await wait_until(lambda: _not(owed_to(sessionmaker, group)), 20)
    assert await staff_chat_leaks(client, group, True), "the staff chat shows the customer"

    assert forum_bot.built is not None
    owed_sender(forum_bot.built.application).read_timeout = 0.5
    await client.fault(kind="error", method="deleteForumTopic", status=500, count=1)
    # Then Telegram deletes the topic but its answer comes after the read timeout.
    await client.fault(kind="late_answer", method="deleteForumTopic", seconds=1.5, count=1)
    await client.fault(kind="retry_after", method="deleteMessages", seconds=1, count=1)
    await client.clear_requests()
    await forget(quillon)

    async def clean() -> bool:
        return not await staff_chat_leaks(client, group, True) and not await owed_to(
            sessionmaker, group
        )

    await keep_retrying(clock, clean)
    assert [t["name"] for t in await client.topics(group)] == ["General"]
    assert not [m for m in await client.transcript(group) if "Sorry" in text_of(m)]
    # The sandbox logs a call once it answers: the late one is not (its client left).
    calls = [r for r in await client.requests() if r["method"] == "deleteForumTopic"]
    assert [r["error_code"] for r in calls] == [500, 400], "500, then gone already"
    [erase] = await erase_rows(sessionmaker)
    assert erase.state == OwedState.SENT.value and erase.text is None
    async with sessionmaker() as session:
        assert (await session.scalars(select(StaffTopic))).all() == []


async def test_forum_without_the_right_to_delete_the_topic_its_copies_go_one_by_one(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = forum["group"]
    await client.update_chat(group, bot_rights={"can_manage_topics": True})
    quillon = Customer(client, await client.create_user(NAME, language_code="en"), timeout=20)
    await talk(client, quillon, group)
    await wait_until(lambda: _not(owed_to(sessionmaker, group)), 20)

    await forget(quillon)

    async def settled() -> bool:
        rows = await erase_rows(sessionmaker)
        return bool(rows) and all(r.state == OwedState.SENT.value for r in rows)

    await wait_until(settled, 20)
    [topic] = [t for t in await client.topics(group) if t["name"] != "General"]
    assert topic["name"].startswith("⛔ ") and topic["is_closed"], "renamed, closed"
    left = leaks(await client.bot_messages(group))
    # Only the topic's first message, which no bot may delete, still has the old name.
    created = [
        m for m in await client.transcript(group, topic["message_thread_id"])
        if "forum_topic_created" in m
    ]  # fmt: skip
    assert created and left == [f"message {created[0]['message_id']}: {s}" for s in
                                ("Quillon", "Brightwater")]  # fmt: skip


async def test_plain_group_cards_and_relays_go_through_a_500_and_a_late_answer(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group = care_team.group_id
    quillon = Customer(client, await client.create_user(NAME, language_code="en"), timeout=20)
    await talk(client, quillon, group)
    await wait_until(lambda: _not(owed_to(sessionmaker, group)), 20)
    shown = await client.bot_messages(group)
    assert any(m.get("reply_markup") and "Quillon" in text_of(m) for m in shown), "its card"

    assert complaint_bot.built is not None
    owed_sender(complaint_bot.built.application).read_timeout = 0.5
    await client.fault(kind="error", method="deleteMessages", status=500, count=1)
    await client.fault(kind="late_answer", method="deleteMessages", seconds=1.5, count=1)
    await forget(quillon)

    async def clean() -> bool:
        return not await staff_chat_leaks(client, group) and not await owed_to(sessionmaker, group)

    await keep_retrying(clock, clean)
    left = await client.bot_messages(group)
    assert not [m for m in left if "photo" in m], "the photo's copy is gone"
    assert not [m for m in left if m.get("reply_markup")], "the conversation's card is gone"
    [erase] = await erase_rows(sessionmaker)
    assert erase.state == OwedState.SENT.value


async def test_plain_group_messages_too_old_to_delete_say_they_were_erased(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group = care_team.group_id
    quillon = Customer(client, await client.create_user(NAME, language_code="en"), timeout=20)
    await talk(client, quillon, group)
    await wait_until(lambda: _not(owed_to(sessionmaker, group)), 20)
    before = {m["message_id"] for m in await client.bot_messages(group)}

    # Sent 48 hours ago or more: Telegram refuses to delete any of them (the sandbox
    # keeps real time, so it is told to), and carebot does not even try a batch, which
    # might skip them silently.
    async with sessionmaker.begin() as session:
        await session.execute(
            update(ConversationMessage).values(created_at=clock.now() - timedelta(hours=49))
        )
    await client.fault(
        kind="error", method="deleteMessage", status=400, count=50, chat_id=group,
        description="Bad Request: message can't be deleted",
    )  # fmt: skip
    await client.clear_requests()
    await forget(quillon)

    async def settled() -> bool:
        rows = await erase_rows(sessionmaker)
        return bool(rows) and all(r.state == OwedState.SENT.value for r in rows)

    await wait_until(settled, 20)
    assert not await staff_chat_leaks(client, group)
    erased = zh("(erased at the customer's request)")
    kept = {m["message_id"]: m for m in await client.bot_messages(group)}
    assert before <= kept.keys(), "nothing could be deleted"
    blanked = [m for m in kept.values() if erased in (m.get("text"), m.get("caption"))]
    assert len(blanked) >= 5, "card, header, photo (its caption), two texts"
    assert [m for m in blanked if "photo" in m], "the photo says so in its caption"
    methods = {r["method"] for r in await client.requests()}
    assert "deleteMessage" in methods and "deleteMessages" not in methods


async def test_a_crash_between_the_erasure_and_the_deletion_loses_nothing(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    log = tmp_path / "carebot.log"
    async with sandbox_process() as url, SandboxClient(url) as client:
        agent = await client.create_user("王丽", language_code="zh-hans")
        group = (
            await client.create_group("Care staff", [agent["id"]], is_forum=True, bot_rights=RIGHTS)
        )["id"]
        quillon = Customer(client, await client.create_user(NAME, language_code="en"), timeout=30)
        settings = {"STAFF_CHAT_ID": str(group)}
        first = await start_carebot(url, database_url, log, **settings)
        try:
            await quillon.say(f"Hello, my {WORDS[0]}")
            await client.wait_for_bot_message(group, lambda m: WORDS[0] in text_of(m), timeout=30)
            await wait_for(lambda: _not(owed_to(sessionmaker, group)), 30, "the copies", log)
            # The staff chat fails from now on: the erasure is committed, its deletion
            # owed and not done when the process dies.
            await client.fault({"kind": "error", "status": 500, "count": 1000, "chat_id": group})
            await forget(quillon)

            async def erasure_owed() -> bool:
                rows = await erase_rows(sessionmaker)
                return bool(rows) and rows[0].state != OwedState.SENT.value

            await wait_for(erasure_owed, 30, "the erase to be owed", log)
        finally:
            await stop(first, signal.SIGKILL)
        assert await staff_chat_leaks(client, group, True), "killed before the deletion"
        await client.clear_faults()
        second = await start_carebot(url, database_url, log, **settings)
        try:

            async def clean() -> bool:
                return not await staff_chat_leaks(client, group, True) and not await owed_to(
                    sessionmaker, group
                )

            await wait_for(clean, 90, "the staff chat to be cleared", log)
        finally:
            await stop(second, signal.SIGTERM)
        assert [t["name"] for t in await client.topics(group)] == ["General"]


async def _not(value: Any) -> bool:
    return not await value
