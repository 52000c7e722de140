"""A SIGKILL after an update's work is committed and before the update is marked
handled: the restarted carebot handles the update again (issue 14's inbox), and what
the customer sent counts once, not twice: a photo or a text added to a complaint being
filed, a question that opens a conversation (shown to staff once, and the customer
still told when we will answer)."""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.conversation_models import ConversationEvent, ConversationEventType
from care.models import Complaint, ComplaintAttachment, OwedMessage, OwedState
from tests.e2e.processes import sandbox_process, start_carebot, stop, wait_for
from tests.helpers import Person, text_of, zh


async def attachments(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(ComplaintAttachment)) or 0)


async def description(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    async with sessionmaker() as session:
        return str(await session.scalar(select(Complaint.description)) or "")


async def all_sent(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Every owed message sent and known to be: one on the wire at a kill may come twice
    (the accepted exception of issue 14), which is not what these tests are about."""
    async with sessionmaker() as session:
        unsent = await session.scalar(
            select(func.count())
            .select_from(OwedMessage)
            .where(OwedMessage.state != OwedState.SENT.value)
        )
    return unsent == 0


async def test_a_step_handled_again_after_a_kill_attaches_and_adds_once(
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    log = tmp_path / "carebot.log"
    async with sandbox_process(limits="off") as url, SandboxClient(url) as client:
        agent = await client.create_user("王丽", language_code="zh-hans")
        group = await client.create_group("Care staff", [agent["id"]])
        settings = {"STAFF_CHAT_ID": str(group["id"])}
        lin = Person(client, await client.create_user("林", language_code="zh-hans"), timeout=30)
        running = await start_carebot(url, database_url, log, **settings)
        try:
            await lin.say("/complain")
            await lin.press(zh("Delivery"))
            await lin.say("箱子压坏了")

            # The photo is attached (committed); its answer hangs; the process dies.
            await client.fault(kind="delay", method="sendMessage", seconds=60, chat_id=lin.id)
            await client.send_photo(lin.id, lin.id, caption="箱子")

            async def attached() -> bool:
                return await attachments(sessionmaker) == 1

            await wait_for(attached, 20, "the photo on the draft", log)
        finally:
            await stop(running, signal.SIGKILL)
        await client.clear_faults()
        running = await start_carebot(url, database_url, log, **settings)
        try:
            got = await lin.wait_reply(0, lambda m: "1/10" in text_of(m) or "2/10" in text_of(m))
            assert "(1/10)" in text_of(got) or "（1/10）" in text_of(got)

            # The same for a text added at the attachment step.
            await client.fault(kind="delay", method="sendMessage", seconds=60, chat_id=lin.id)
            await client.send_text(lin.id, lin.id, "盒子也湿了")

            async def added() -> bool:
                return (await description(sessionmaker)).endswith("盒子也湿了")

            await wait_for(added, 20, "the text added to the description", log)
        finally:
            await stop(running, signal.SIGKILL)
        await client.clear_faults()
        running = await start_carebot(url, database_url, log, **settings)
        try:
            before = max(m["message_id"] for m in await lin.transcript())
            await lin.wait_reply(before - 1, lambda m: "继续" in str(m.get("reply_markup")))
            await lin.press("继续")
            await lin.say("A-1")
            _, filed = await lin.press("提交")
            assert filed is not None and "C-" in text_of(filed)
        finally:
            await stop(running, signal.SIGTERM)
    assert await attachments(sessionmaker) == 1, "one photo sent, one attached"
    assert await description(sessionmaker) == "箱子压坏了\n盒子也湿了", "the text added once"


async def test_a_question_handled_again_after_a_kill_reaches_staff_once(
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    log = tmp_path / "carebot.log"
    async with sandbox_process(limits="off") as url, SandboxClient(url) as client:
        agent = await client.create_user("王丽", language_code="zh-hans")
        group = await client.create_group("Care staff", [agent["id"]])
        settings = {"STAFF_CHAT_ID": str(group["id"])}
        lin = Person(client, await client.create_user("林", language_code="zh-hans"), timeout=30)
        running = await start_carebot(url, database_url, log, **settings)
        try:
            # The question is in the conversation and owed to staff (committed); the
            # answer "we got your message" hangs; the process dies.
            await client.fault(kind="delay", method="sendMessage", seconds=60, chat_id=lin.id)
            await client.send_text(lin.id, lin.id, "你们几点开门？")

            async def relayed() -> bool:
                shown = any(
                    "几点开门" in text_of(m) for m in await client.bot_messages(group["id"])
                )
                return shown and await all_sent(sessionmaker)

            await wait_for(relayed, 20, "the question in the staff group", log)
        finally:
            await stop(running, signal.SIGKILL)
        await client.clear_faults()
        running = await start_carebot(url, database_url, log, **settings)
        try:
            told = await lin.wait_reply(0)
            assert text_of(told).startswith("谢谢，我们已收到您的消息。"), (
                "the customer is told when we will answer"
            )
            # The next message shows that the restarted carebot is done with the first.
            await client.send_text(lin.id, lin.id, "还有，能开发票吗？")

            async def second_relayed() -> bool:
                return any("发票" in text_of(m) for m in await client.bot_messages(group["id"]))

            await wait_for(second_relayed, 20, "the second question in the staff group", log)
        finally:
            await stop(running, signal.SIGTERM)
        shown = [m for m in await client.bot_messages(group["id"]) if "几点开门" in text_of(m)]
        assert len(shown) == 1, "staff see the question once"
        async with sessionmaker() as session:
            asked = await session.scalar(
                select(func.count())
                .select_from(ConversationEvent)
                .where(ConversationEvent.type == ConversationEventType.CUSTOMER_MESSAGE.value)
            )
        assert asked == 2, "two messages, two on the record"


async def test_a_rating_comment_handled_again_after_a_kill_reaches_staff_once(
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    log = tmp_path / "carebot.log"
    async with sandbox_process(limits="off") as url, SandboxClient(url) as client:
        agent = await client.create_user("王丽", language_code="zh-hans")
        group = await client.create_group("Care staff", [agent["id"]])
        settings = {"STAFF_CHAT_ID": str(group["id"]), "ADMINS": str(agent["id"])}
        lin = Person(client, await client.create_user("林", language_code="zh-hans"), timeout=30)
        running = await start_carebot(url, database_url, log, **settings)
        try:
            await lin.say("/complain")
            await lin.press(zh("Delivery"))
            await lin.say("箱子压坏了")
            await lin.press("继续")
            await lin.say("A-1")
            await lin.press("提交")
            sent = await client.send_text(group["id"], agent["id"], "/resolve C-2026-000001 已补发")
            resolved = await lin.wait_reply(0, lambda m: "⭐" in str(m.get("reply_markup")))
            assert sent["message_id"]
            await lin.press("⭐", message=resolved)

            # The comment is kept and its alert owed (committed); the thanks hang.
            await client.fault(kind="delay", method="sendMessage", seconds=60, chat_id=lin.id)
            await client.send_text(lin.id, lin.id, "送得太慢了")

            async def alerted() -> bool:
                shown = any(
                    "送得太慢了" in text_of(m) for m in await client.bot_messages(group["id"])
                )
                return shown and await all_sent(sessionmaker)

            await wait_for(alerted, 20, "the comment in the staff group", log)
        finally:
            await stop(running, signal.SIGKILL)
        await client.clear_faults()
        running = await start_carebot(url, database_url, log, **settings)
        try:
            await lin.wait_reply(0, lambda m: "意见已转达" in text_of(m))
            await client.send_text(group["id"], agent["id"], "/queue")

            async def queue_answered() -> bool:
                return any(
                    "/queue" in text_of(m) or "队列" in text_of(m) or "C-2026" in text_of(m)
                    for m in (await client.bot_messages(group["id"]))[-1:]
                )

            await wait_for(queue_answered, 20, "the queue", log)
        finally:
            await stop(running, signal.SIGTERM)
        shown = [m for m in await client.bot_messages(group["id"]) if "送得太慢了" in text_of(m)]
        assert len(shown) == 1, "staff see the comment once"
