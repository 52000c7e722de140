"""Voice and video messages, videos and stickers between staff and customers, both ways,
in the customer's chat with the bot and in their chat with the company's Business account.

copyMessage knows no Business connection, so what goes to (or comes from) a Business
chat goes by its file id; a sticker or a round video message takes no caption, so the
staff member's signature (or the header naming the account, for staff) comes as a short
line just before it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.conversation_models import ConversationEvent
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

Message = dict[str, Any]
BLOCKED = "⚠ Not delivered: the customer blocked the bot, so no answer can reach them."


async def _waiting(
    clock: ManualClock, read: Callable[[], Any], predicate: Callable[[Message], bool]
) -> Message:
    """The first message of ``read()`` that satisfies ``predicate``, the test clock moved
    on meanwhile (the owed messages' retries wait on it)."""
    found: list[Message] = []

    async def seen() -> bool:
        clock.advance(timedelta(seconds=1))
        found[:] = [m for m in await read() if predicate(m)]
        return bool(found)

    await wait_until(seen, 30, interval=0.2)
    return found[0]


def _file(message: Message, kind: str) -> str:
    return str(message[kind]["file_unique_id"])


async def _staff_answer_kinds(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> list[str | None]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(ConversationEvent.message_kind)
            .where(ConversationEvent.type == "staff_answer")
            .order_by(ConversationEvent.id)
        )
        return list(rows.all())


async def test_voice_sticker_and_video_from_staff_reach_a_business_customer_signed(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group, agent = care_team.group_id, care_team.agent["id"]
    _shop, connection = await connect_business_account(client, group)
    user = await client.create_user("Lena", language_code="en")
    in_bot, lena = Customer(client, user), BusinessCustomer(client, user, connection["id"])
    await lena.say("Is this the right tin?")
    relayed = await client.wait_for_bot_message(group, lambda m: "right tin" in text_of(m))
    await all_owed_delivered(complaint_bot)  # carebot has noted where the relay went
    before = await lena._last_id()

    # Her voice message: Telegram fails once, the answer is sent again, and arrives once.
    await client.fault({"kind": "error", "method": "sendVoice", "status": 500, "count": 1})
    voice = await client.send_message(
        group, agent, voice={"duration": 2}, caption="Listen to this",
        reply_to_message_id=relayed["message_id"],
    )  # fmt: skip
    got = await _waiting(clock, lena.transcript, lambda m: "voice" in m)
    assert got["sender_business_bot"] is True
    assert text_of(got) == en("{name} (customer care): {text}").format(
        name="王丽", text="Listen to this"
    )
    assert _file(got, "voice") == _file(voice, "voice")
    calls = [r for r in await client.requests() if r["method"] == "sendVoice"]
    assert [r["ok"] for r in calls] == [False, True], "failed once, then delivered"

    # A sticker has no caption: a signed line comes just before it.
    sticker = await client.send_message(
        group, agent, sticker={"emoji": "🐼"}, reply_to_message_id=relayed["message_id"]
    )
    got_sticker = await _waiting(clock, lena.transcript, lambda m: "sticker" in m)
    assert _file(got_sticker, "sticker") == _file(sticker, "sticker")
    chat = await lena.transcript()
    line = next(m for m in chat if m["message_id"] == got_sticker["message_id"] - 1)
    assert text_of(line) == en("{name} (customer care)").format(name="王丽")

    # A video, signed in its caption.
    video = await client.send_message(
        group, agent, video={"duration": 3}, caption="Unboxing",
        reply_to_message_id=relayed["message_id"],
    )  # fmt: skip
    got_video = await _waiting(clock, lena.transcript, lambda m: "video" in m)
    assert text_of(got_video) == en("{name} (customer care): {text}").format(
        name="王丽", text="Unboxing"
    )
    assert _file(got_video, "video") == _file(video, "video")

    await all_owed_delivered(complaint_bot)
    mine = [m for m in await lena.transcript() if m["message_id"] > before]
    assert len(mine) == 4, "voice, the signed line, the sticker, the video: each once"
    assert await in_bot.transcript() == [], "nothing in her chat with the bot"
    nothing_refused = [m for m in await client.transcript(group) if "⚠" in text_of(m)]
    assert nothing_refused == []
    # Each answer is on the conversation's record once the customer has it (the line
    # before the sticker is not an answer of its own).
    assert await _staff_answer_kinds(sessionmaker) == ["voice", "sticker", "video"]


async def test_a_sticker_reaches_a_bot_chat_customer_and_a_blocked_one_is_told_once(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    clock: ManualClock,
) -> None:
    group, agent = care_team.group_id, care_team.agent["id"]
    room = StaffRoom(client, care_team.group_id)
    emma = Customer(client, await client.create_user("Emma", language_code="en"), timeout=20)
    await emma.say("Can I swap the colour?")
    relayed = await client.wait_for_bot_message(group, lambda m: "swap the colour" in text_of(m))
    await all_owed_delivered(complaint_bot)

    sticker = await client.send_message(
        group, agent, sticker={"emoji": "👍"}, reply_to_message_id=relayed["message_id"]
    )
    got = await _waiting(clock, emma.transcript, lambda m: "sticker" in m)
    assert _file(got, "sticker") == _file(sticker, "sticker")
    line = next(m for m in await emma.transcript() if m["message_id"] == got["message_id"] - 1)
    assert text_of(line) == en("{name} (customer care)").format(name="王丽")

    # A round video message goes the same way.
    await client.send_message(
        group, agent, video_note={"duration": 2}, reply_to_message_id=relayed["message_id"]
    )
    round_video = await _waiting(clock, emma.transcript, lambda m: "video_note" in m)
    line = next(
        m for m in await emma.transcript() if m["message_id"] == round_video["message_id"] - 1
    )
    assert text_of(line) == en("{name} (customer care)").format(name="王丽")

    # She blocks the bot: the staff member hears it once, under their sticker.
    await client.block(emma.id)
    refused_sticker = await client.send_message(
        group, agent, sticker={"emoji": "🙏"}, reply_to_message_id=relayed["message_id"]
    )
    told = await room.answer_to(refused_sticker)
    assert text_of(told) == zh(BLOCKED)
    await all_owed_delivered(complaint_bot)
    notices = [
        m
        for m in await client.transcript(group)
        if m.get("reply_to_message_id") == refused_sticker["message_id"]
    ]
    assert len(notices) == 1, "one notice, not one for the line and one for the sticker"


async def test_a_business_customer_s_voice_video_and_sticker_reach_staff(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
) -> None:
    """What a customer sends the Business account is shown to staff by its file, under
    a header naming the account and the conversation (plain group)."""
    group = care_team.group_id
    _shop, connection = await connect_business_account(client, group)
    lena = BusinessCustomer(client, await client.create_user("Lena", language_code="en"),
                            connection["id"])  # fmt: skip
    await lena.say("Hello")
    await client.wait_for_bot_message(group, lambda m: "Hello" in text_of(m))
    await all_owed_delivered(complaint_bot)

    def header(text: Message) -> bool:
        return "💼 Tea Shop" in text_of(text)

    voice = await client.business_send(connection["id"], lena.id, voice={"duration": 2})
    shown = await client.wait_for_bot_message(group, lambda m: "voice" in m)
    assert header(shown) and _file(shown, "voice") == _file(voice, "voice")

    video = await client.business_send(connection["id"], lena.id, video={}, caption="the dent")
    shown = await client.wait_for_bot_message(group, lambda m: "video" in m)
    assert header(shown) and text_of(shown).endswith("\nthe dent")
    assert _file(shown, "video") == _file(video, "video")

    sticker = await client.business_send(connection["id"], lena.id, sticker={"emoji": "😢"})
    shown = await client.wait_for_bot_message(group, lambda m: "sticker" in m)
    assert _file(shown, "sticker") == _file(sticker, "sticker")
    line = next(
        m for m in await client.transcript(group) if m["message_id"] == shown["message_id"] - 1
    )
    assert header(line)
    unsent = zh("(a message Telegram does not let the bot pass on from a Business chat)")
    assert not [m for m in await client.transcript(group) if unsent in text_of(m)]
