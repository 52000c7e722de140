"""A SIGKILL after a filing step's work is committed and before the update is marked
handled: the restarted carebot handles the update again, and what the customer sent
is on the draft once, not twice (a photo, a text added at the attachment step)."""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.models import Complaint, ComplaintAttachment
from tests.e2e.processes import sandbox_process, start_carebot, stop, wait_for
from tests.helpers import Person, text_of, zh


async def attachments(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(ComplaintAttachment)) or 0)


async def description(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    async with sessionmaker() as session:
        return str(await session.scalar(select(Complaint.description)) or "")


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
