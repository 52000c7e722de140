"""The whole story of one complaint, in Chinese and in English, with a restart inside.

A customer files through the real dialogue with a photo; staff acknowledge, take, reply
and resolve from the group; the customer sees each step in their language, answers,
rates 2 and reopens. Halfway through carebot is stopped and a new one takes over.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.models import Complaint, ComplaintEvent
from tests.conftest import CareTeam
from tests.helpers import (
    Person,
    RunningBot,
    StaffMember,
    StaffRoom,
    all_owed_delivered,
    text_of,
    wait_until,
    zh,
)

LABELS = {
    "en": {"delivery": "Delivery", "continue": "Continue", "submit": "Submit", "reopen": "Reopen",
           "acknowledged": "We have received your complaint"},
    "zh_CN": {"delivery": "配送", "continue": "继续", "submit": "提交", "reopen": "重新打开",
              "acknowledged": "我们已受理您的投诉"},
}  # fmt: skip


async def complaint_in_db(sessionmaker: async_sessionmaker[AsyncSession]) -> Complaint:
    async with sessionmaker() as session:
        [complaint] = (await session.scalars(select(Complaint))).all()
        return complaint


@pytest.mark.parametrize(("language_code", "locale"), [("zh-hans", "zh_CN"), ("en", "en")])
async def test_one_complaint_from_filing_to_reopening(
    sandbox: Sandbox, client: SandboxClient, database_url: str, clock: ManualClock,
    engine: AsyncEngine, care_team: CareTeam, sessionmaker: async_sessionmaker[AsyncSession],
    room: StaffRoom, agent: StaffMember, language_code: str, locale: str,
) -> None:  # fmt: skip
    labels = LABELS[locale]
    group = care_team.group_id  # agent (王丽) works in it
    running = RunningBot(sandbox, database_url, clock, staff_chat_id=group)
    await running.start()
    try:
        user = await client.create_user("Lin", language_code=language_code)
        lin = Person(client, user)

        # Filing, with a photo.
        await lin.say("/complain")
        await lin.press(labels["delivery"])
        await lin.say("The box came crushed / 箱子压坏了")
        await lin.send_photo(caption="box")
        await lin.press(labels["continue"])
        await lin.say("A-77")
        _, filed = await lin.press(labels["submit"])
        assert filed is not None
        complaint = await complaint_in_db(sessionmaker)
        assert complaint.number in text_of(filed)

        async def card_posted() -> bool:
            return (await complaint_in_db(sessionmaker)).alert_message_id is not None

        await wait_until(card_posted)
        card_id = (await complaint_in_db(sessionmaker)).alert_message_id
        assert card_id is not None

        # Acknowledge and take: the customer hears about each, in their language.
        before = max(m["message_id"] for m in await lin.transcript())
        await agent.press(zh("Acknowledge"), card_id)
        told = await lin.wait_reply(before)
        assert complaint.number in text_of(told)
        assert text_of(told).startswith(labels["acknowledged"])
        before = max(m["message_id"] for m in await lin.transcript())
        await agent.press(zh("Take"), card_id)
        told = await lin.wait_reply(before)
        assert "王丽" in text_of(told)
    finally:
        await running.stop()

    # A restart in the middle: a new carebot on the same database.
    running = RunningBot(sandbox, database_url, clock, staff_chat_id=group)
    await running.start()
    try:
        # Staff reply by replying to the card; the customer gets it and answers.
        before = max(m["message_id"] for m in await lin.transcript())
        await agent.reply_to(card_id, "Could you send the order date?")
        reply = await lin.wait_reply(before)
        assert "Could you send the order date?" in text_of(reply) and "王丽" in text_of(reply)

        async def status_is(status: str) -> bool:
            return (await complaint_in_db(sessionmaker)).status == status

        # The reply is recorded once Telegram has delivered it.
        await wait_until(lambda: status_is("waiting_customer"))
        answer = await lin.say("2026-09-20")
        assert complaint.number in text_of(answer)
        await wait_until(lambda: status_is("in_progress"))

        # Resolve through the prompt; the customer gets the note and the stars. (Her
        # answer's relay into the group first: the prompt is the bot's next message.)
        await all_owed_delivered(running)
        group_before = await room.last_id()
        await agent.press(zh("Resolve"), card_id)
        prompt = await room.bot_message_after(group_before)
        before = max(m["message_id"] for m in await lin.transcript())
        await agent.reply_to(prompt, "Sent a new vase today")
        resolved = await lin.wait_reply(before)
        assert "Sent a new vase today" in text_of(resolved)
        stars = [b["text"] for row in resolved["reply_markup"]["inline_keyboard"] for b in row]
        assert stars == ["⭐" * n for n in range(1, 6)]

        # A rating of 2: staff are alerted, the customer may reopen.
        _, offer = await lin.press("⭐⭐", message=resolved)
        assert offer is not None
        _, reopened = await lin.press(labels["reopen"])
        assert reopened is not None and complaint.number in text_of(reopened)
    finally:
        await running.stop()

    final = await complaint_in_db(sessionmaker)
    assert final.status == "reopened"
    async with sessionmaker() as session:
        steps = (
            await session.execute(
                select(ComplaintEvent.type, ComplaintEvent.to_status).order_by(ComplaintEvent.id)
            )
        ).all()
    statuses = [to for kind, to in steps if kind in ("filed", "status")]
    assert statuses == [
        "new", "acknowledged", "in_progress", "waiting_customer", "in_progress", "resolved",
        "reopened",
    ]  # fmt: skip
    assert ("rating", None) in [(k, to) for k, to in steps]
    group_texts = [text_of(m) for m in await client.transcript(group)]
    assert any("2/5" in text and complaint.number in text for text in group_texts)
