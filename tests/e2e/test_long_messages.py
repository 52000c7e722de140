"""Texts as long as Telegram takes (4,096 characters, a caption 1,024) arrive whole
when carebot adds its own words to them: a staff answer signed with the staff member's
name, a customer's message under its header in the staff group. What does not fit in
one message follows in more, marked "…(1/2)", never cut off."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.models import Complaint
from tests.conftest import CareTeam
from tests.helpers import (
    Customer,
    Message,
    RunningBot,
    StaffRoom,
    all_owed_delivered,
    en,
    filed_complaint,
    text_of,
)

WORD = re.compile(r"w\d{4}")


def numbered_words(length: int, start: int = 0) -> str:
    """``length`` characters of numbered words: a word lost or cut shows as a gap."""
    words = " ".join(f"w{n:04d}" for n in range(start, start + length // 5 + 1))
    return words[:length].rsplit(" ", 1)[0]


def words_in(messages: list[Message]) -> list[str]:
    return WORD.findall("\n".join(text_of(m) for m in messages))


def new_bot_messages(transcript: list[Message], after: int) -> list[Message]:
    return [m for m in transcript if m["from"]["is_bot"] and m["message_id"] > after]


async def test_long_messages_both_ways_in_a_conversation_arrive_whole(
    complaint_bot: RunningBot, client: SandboxClient, care_team: CareTeam, room: StaffRoom
) -> None:
    anna = Customer(client, await client.create_user("Anna", language_code="en"), timeout=20)
    group = care_team.group_id
    question = numbered_words(4096)
    await anna.say(question)
    await all_owed_delivered(complaint_bot, 20)
    relayed = [m for m in await client.bot_messages(group) if "w0000" in text_of(m)]
    assert relayed, "the question reached the staff group"
    staff_side = new_bot_messages(await client.transcript(group), relayed[0]["message_id"] - 1)
    assert all(len(text_of(m)) <= 4096 for m in staff_side)
    assert words_in(staff_side) == WORD.findall(question), "staff read every word of it"

    # A staff answer as long as Telegram lets staff write, signed: every word arrives.
    before = max(m["message_id"] for m in await anna.transcript())
    answer = numbered_words(4096, start=5000)
    await room.member(care_team.agent).reply_to(relayed[0], answer)
    await anna.wait_reply(before, lambda m: "(2/2)" in text_of(m))
    await all_owed_delivered(complaint_bot, 20)
    got = new_bot_messages(await anna.transcript(), before)
    assert words_in(got) == WORD.findall(answer), "the customer reads every word of it"
    assert text_of(got[0]).startswith("王丽 (customer care): ")
    assert len(got) == 2 and text_of(got[0]).endswith("…(1/2)")

    # A photo with a caption as long as Telegram takes: the words go on below it.
    before = max(m["message_id"] for m in await anna.transcript())
    caption = numbered_words(1024, start=8000)
    await client.send_photo(
        group, care_team.agent["id"], caption=caption, reply_to_message_id=relayed[0]["message_id"]
    )
    await anna.wait_reply(before, lambda m: "(2/2)" in text_of(m))
    await all_owed_delivered(complaint_bot, 20)
    got = new_bot_messages(await anna.transcript(), before)
    assert got[0].get("photo"), "the photo first, with as much of the caption as fits"
    assert words_in(got) == WORD.findall(caption)


async def test_long_messages_both_ways_about_a_complaint_arrive_whole(
    complaint_bot: RunningBot, client: SandboxClient, care_team: CareTeam, room: StaffRoom
) -> None:
    complaint_id, user = await filed_complaint(complaint_bot, client, language="zh_CN")
    customer = Customer(client, user, timeout=20)
    group = care_team.group_id
    before_group = max(m["message_id"] for m in await client.transcript(group))
    more = numbered_words(4096)
    sent = await client.send_text(customer.id, customer.id, more)
    await customer.wait_reply(sent["message_id"])
    await all_owed_delivered(complaint_bot, 20)
    staff_side = new_bot_messages(await client.transcript(group), before_group)
    assert all(len(text_of(m)) <= 4096 for m in staff_side)
    assert words_in(staff_side) == WORD.findall(more), "staff read every word of it"

    relay = next(m for m in staff_side if "w0000" in text_of(m))
    before = max(m["message_id"] for m in await customer.transcript())
    answer = numbered_words(4096, start=5000)
    await room.member(care_team.agent).reply_to(relay, answer)
    await customer.wait_reply(before, lambda m: "(2/2)" in text_of(m))
    await all_owed_delivered(complaint_bot, 20)
    got = [
        m for m in new_bot_messages(await customer.transcript(), before) if WORD.search(text_of(m))
    ]
    assert words_in(got) == WORD.findall(answer), "the customer reads every word of it"
    assert len(got) == 2 and text_of(got[0]).endswith("…(1/2)")
    assert complaint_id


async def test_a_long_comment_on_a_low_rating_reaches_staff_and_the_record_whole(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    room: StaffRoom,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, user = await filed_complaint(complaint_bot, client, language="en")
    customer = Customer(client, user, timeout=20)
    await room.member(care_team.agent).command("/resolve C-2026-000001 A new kettle was sent.")
    resolved = await customer.wait_reply(0, lambda m: "⭐" in str(m.get("reply_markup")))
    await customer.press("⭐", message=resolved)

    group = care_team.group_id
    before_group = max(m["message_id"] for m in await client.transcript(group))
    comment = numbered_words(4096)
    thanks = await customer.say(comment)
    assert text_of(thanks) == en("Thank you, your comment has been passed on to our team.")
    await all_owed_delivered(complaint_bot, 20)
    staff_side = new_bot_messages(await client.transcript(group), before_group)
    assert words_in(staff_side) == WORD.findall(comment), "staff read every word of it"
    async with sessionmaker() as session:
        kept = await session.scalar(
            select(Complaint.rating_comment).where(Complaint.id == complaint_id)
        )
    assert kept == comment, "the record keeps all of it"


async def test_a_long_resolution_note_and_its_history_reach_the_customer_whole(
    complaint_bot: RunningBot, client: SandboxClient, care_team: CareTeam, room: StaffRoom
) -> None:
    _complaint_id, user = await filed_complaint(complaint_bot, client, language="en")
    customer = Customer(client, user, timeout=20)
    note = numbered_words(4000)
    await room.member(care_team.agent).say(f"/resolve C-2026-000001 {note}")
    last = await customer.wait_reply(0, lambda m: "⭐" in str(m.get("reply_markup")))
    told = new_bot_messages(await customer.transcript(), 0)
    assert words_in(told) == WORD.findall(note), "the customer reads all we did"
    assert told[-1] == last and text_of(last).endswith(
        en("How satisfied are you with how we handled it?") + "\n(2/2)"
    ), "the rating buttons under the question, at the end"

    # "Where is my complaint?": all we did, and the history up to now.
    before = max(m["message_id"] for m in await customer.transcript())
    sent = await client.send_text(customer.id, customer.id, "/status C-2026-000001")
    await customer.wait_reply(sent["message_id"], lambda m: "(2/2)" in text_of(m))
    status = new_bot_messages(await customer.transcript(), before)
    assert words_in(status) == WORD.findall(note)
    assert text_of(status[-1]).splitlines()[-2].endswith(en("resolved"))
