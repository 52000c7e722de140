"""A restart in the middle of a conversation loses nothing and makes no second topic
(issue 11): carebot is killed while Telegram refuses to create the customer's topic,
and the customer's question arrives in one topic after the restart."""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.conversation_models import ConversationEvent, StaffTopic
from care.models import OwedMessage, OwedState
from tests.e2e.processes import sandbox_process, start_carebot, stop, wait_for
from tests.e2e.test_owed_crash import unsettled
from tests.helpers import Person, text_of


async def test_a_kill_while_the_topic_is_owed_loses_nothing_and_makes_one_topic(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    log = tmp_path / "carebot.log"
    async with sandbox_process() as url, SandboxClient(url) as client:
        agent = await client.create_user("王丽", language_code="zh-hans")
        group = await client.create_group(
            "Care staff", [agent["id"]], is_forum=True, bot_rights={"can_manage_topics": True}
        )
        ming = Person(client, await client.create_user("王小明", language_code="zh-hans"), 30)
        settings = {"STAFF_CHAT_ID": str(group["id"])}
        await client.fault(
            {"kind": "error", "method": "createForumTopic", "status": 500, "count": 1000}
        )
        first = await start_carebot(url, database_url, log, **settings)
        try:
            await ming.say("请问可以退货吗？")

            async def topic_failed() -> bool:
                async with sessionmaker() as session:
                    rows = (
                        await session.scalars(
                            select(OwedMessage).where(OwedMessage.kind == "topic")
                        )
                    ).all()
                    return any(
                        r.state == OwedState.PENDING.value and r.last_error is not None
                        for r in rows
                    )

            await wait_for(topic_failed, 30, "the topic to fail once", log)
        finally:
            await stop(first, signal.SIGKILL)
        await client.clear_faults()
        second = await start_carebot(url, database_url, log, **settings)
        try:

            async def delivered() -> bool:
                return await unsettled(sessionmaker) == 0

            await wait_for(delivered, 90, "every owed message", log)
            await client.send_text(ming.id, ming.id, "订单号是 12345")

            async def second_copied() -> bool:
                return any("12345" in text_of(m) for m in await client.bot_messages(group["id"]))

            await wait_for(second_copied, 30, "the second message in the topic", log)
        finally:
            await stop(second, signal.SIGTERM)
        topics = [t for t in await client.topics(group["id"]) if not t["is_general"]]
        assert len(topics) == 1, "one topic, after the restart"
        thread = topics[0]["message_thread_id"]
        texts = [text_of(m) for m in await client.transcript(group["id"], thread)]
        assert any("退货" in t for t in texts) and any("12345" in t for t in texts)
        async with sessionmaker() as session:
            [topic] = (await session.scalars(select(StaffTopic))).all()
            notes = (
                await session.scalars(
                    select(ConversationEvent.note).where(
                        ConversationEvent.type == "customer_message"
                    )
                )
            ).all()
        assert topic.thread_id == thread
        assert notes == ["请问可以退货吗？", "订单号是 12345"], "stored once each"
