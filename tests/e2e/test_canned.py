"""Canned answers, end to end: admins keep them (/canned), staff send one with /c to the
customer of a complaint, in the customer's language and with their name filled in.

The staff group speaks the default locale (zh_CN in tests); Ada the admin speaks English
in her private chat. Expected words come from the catalogs (``zh``/``en``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care import canned
from care.canned import CannedProblem
from care.clock import ManualClock
from care.models import CannedAnswer, ComplaintEvent, ComplaintEventType
from handlers.buttons import CannedPick
from handlers.canned import PROBLEM_WORDS
from tests.conftest import CareTeam
from tests.helpers import (
    Customer,
    RunningBot,
    StaffMember,
    StaffRoom,
    all_owed_delivered,
    buttons,
    en,
    filed_complaint,
    text_of,
    wait_until,
    zh,
)

CANNED_USAGE = (
    "Usage: /canned list · /canned add <name> <zh_CN|en> <text> (the text may start on "
    "the next line; {name} becomes the customer's name) · /canned remove <name> [language]"
)
C_USAGE = (
    "Usage: /c <name> in a customer's topic, or as a reply to a card or to the "
    "customer's message, or /c <name> C-2026-000123. /canned list shows the names."
)
SIGNED = "💬 {name} (customer care): {text}"


async def keep(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, *texts: tuple[str, str, str]
) -> None:
    """Canned answers (name, language, text), saved as /canned add saves them."""
    async with sessionmaker.begin() as session:
        for name, language, text in texts:
            await canned.save(session, name, language, text, None, clock.now())


async def stored(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str]]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(CannedAnswer).order_by(CannedAnswer.name, CannedAnswer.language)
        )
        return [(row.name, row.language, row.text) for row in rows]


async def staff_replies(
    sessionmaker: async_sessionmaker[AsyncSession], complaint_id: int
) -> list[str | None]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(ComplaintEvent).where(
                ComplaintEvent.complaint_id == complaint_id,
                ComplaintEvent.type == ComplaintEventType.STAFF_REPLY.value,
            )
        )
        return [row.note for row in rows]


async def test_admins_keep_canned_answers_and_everyone_else_is_told_why_not(
    complaint_bot: RunningBot,
    client: SandboxClient,
    agent: StaffMember,
    admin: StaffMember,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert await agent.command("/canned add hours zh 您好") == zh(
        "Only admins can add or remove canned answers."
    )
    saved = await admin.command("/canned add Hours zh_CN {name}您好，我们每天9点到18点营业。")
    assert saved == zh("Canned answer {name} ({language}) saved.").format(
        name="hours", language="中文"
    )
    # In her private chat, Ada reads English; the text starts on the next line.
    saved = await admin.command_in_private(
        "/canned add hours en\nHello {name},\nwe open 9 to 6 every day."
    )
    assert saved == en("Canned answer {name} ({language}) saved.").format(
        name="hours", language="English"
    )
    replaced = await admin.command_in_private("/canned add hours en Hi {name}, 9 to 6 daily.")
    assert replaced == en("Canned answer {name} ({language}) replaced.").format(
        name="hours", language="English"
    )
    assert await stored(sessionmaker) == [
        ("hours", "en", "Hi {name}, 9 to 6 daily."),
        ("hours", "zh_CN", "{name}您好，我们每天9点到18点营业。"),
    ]

    # Bad input gets the reason, and nothing is saved.
    assert await admin.command("/canned add hours fr Bonjour") == zh(
        "{language} is not a language I speak: zh_CN or en."
    ).format(language="fr")
    assert await admin.command("/canned add bad!name en x") == zh(
        PROBLEM_WORDS[CannedProblem.BAD_NAME]
    )
    assert await admin.command("/canned add hours en Dear {customer}") == zh(
        PROBLEM_WORDS[CannedProblem.BAD_PLACEHOLDER]
    )
    assert await admin.command("/canned add hours en") == zh(CANNED_USAGE)
    assert await admin.command("/canned shout") == zh(CANNED_USAGE)
    assert len(await stored(sessionmaker)) == 2

    listing = await agent.command("/canned list")
    assert listing.splitlines() == [
        zh("Canned answers (send one with /c <name>):"),
        "hours · English: Hi {name}, 9 to 6 daily.",
        "hours · 中文: {name}您好，我们每天9点到18点营业。",
    ]

    # Someone who is not staff, in their private chat.
    outsider = Customer(client, await client.create_user("Mallory", language_code="en"))
    for command in ("/canned list", "/canned add x en y", "/c hours C-2026-000001"):
        assert await outsider.command(command) == en("Only care staff can do this."), command

    assert await agent.command("/canned remove hours") == zh(
        "Only admins can add or remove canned answers."
    )
    assert await admin.command("/canned remove hours en") == zh(
        "Canned answer {name} removed."
    ).format(name="hours")
    assert [row[1] for row in await stored(sessionmaker)] == ["zh_CN"]
    assert await admin.command("/canned remove nothing") == zh(
        "There is no canned answer {name}."
    ).format(name="nothing")


async def test_c_sends_the_answer_in_the_customers_language_with_their_name(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await keep(
        sessionmaker,
        clock,
        ("hours", "en", "Hello {name}, we open 9 to 6."),
        ("hours", "zh_CN", "{name}您好，我们9点到18点营业。"),
        ("refund", "zh_CN", "{name}您好，退款三天内到账。"),
    )
    emma_complaint, emma = await filed_complaint(complaint_bot, client, language="en")
    card = await room.card(sessionmaker, emma_complaint)

    answer = await agent.command("/c hours", reply_to=card)
    assert answer == zh("{name} goes to the customer ({language}).").format(
        name="hours", language="English"
    )
    told = await client.wait_for_bot_message(emma["id"], timeout=10.0)
    assert text_of(told) == en(SIGNED).format(name="王丽", text="Hello Emma, we open 9 to 6.")

    async def recorded() -> bool:
        return await staff_replies(sessionmaker, emma_complaint) == ["Hello Emma, we open 9 to 6."]

    await wait_until(recorded)  # on the complaint once Telegram has it

    # No English text: the company's default language (zh_CN), with her name.
    answer = await agent.command("/c REFUND", reply_to=card)
    assert answer == zh("{name} goes to the customer ({language}).").format(
        name="refund", language="中文"
    )
    told = await client.wait_for_bot_message(emma["id"], after_message_id=told["message_id"])
    assert text_of(told) == zh(SIGNED).format(name="王丽", text="Emma您好，退款三天内到账。")

    # A Chinese customer, the complaint named by its number, from the agent's private chat.
    xiao_complaint, xiaohong = await filed_complaint(complaint_bot, client, language="zh_CN")
    async with sessionmaker() as session:
        from care.models import Complaint

        number = (await session.get_one(Complaint, xiao_complaint)).number
    answer = await agent.command_in_private(f"/c hours {number}")
    assert answer == zh("{name} goes to the customer ({language}).").format(
        name="hours", language="中文"
    )
    told = await client.wait_for_bot_message(xiaohong["id"], timeout=10.0)
    assert text_of(told) == zh(SIGNED).format(name="王丽", text="小红您好，我们9点到18点营业。")


async def test_a_name_that_starts_several_asks_which_one_with_buttons(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    supervisor: StaffMember,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await keep(
        sessionmaker,
        clock,
        ("refund_policy", "en", "{name}, refunds within 30 days."),
        ("refund_time", "en", "{name}, the refund arrives in 3 days."),
        ("hours", "en", "We open 9 to 6."),
    )
    complaint_id, emma = await filed_complaint(complaint_bot, client, language="en")
    card = await room.card(sessionmaker, complaint_id)

    sent = await agent.say("/c ref", reply_to=card)
    picker = await room.answer_to(sent)
    assert text_of(picker) == zh("Several canned answers start with {name}: which one?").format(
        name="ref"
    )
    assert buttons(picker) == ["refund_policy", "refund_time"]

    popup = await agent.press("refund_time", picker)
    assert popup == zh("{name} goes to the customer ({language}).").format(
        name="refund_time", language="English"
    )
    told = await client.wait_for_bot_message(emma["id"], timeout=10.0)
    assert text_of(told) == en(SIGNED).format(
        name="王丽", text="Emma, the refund arrives in 3 days."
    )
    chosen = await room.wait_card(picker["message_id"], lambda m: not buttons(m))
    assert text_of(chosen) == popup, "the choice is made: no second send by a second press"

    async def recorded() -> bool:
        return await staff_replies(sessionmaker, complaint_id) == [
            "Emma, the refund arrives in 3 days."
        ]

    await wait_until(recorded)

    # Unknown names and a /c that names no complaint are answered, nothing is sent.
    assert await agent.command("/c nothing", reply_to=card) == zh(
        "There is no canned answer {name}. /canned list shows them."
    ).format(name="nothing")
    assert await agent.command("/c hours") == zh(C_USAGE)
    assert await agent.command("/c", reply_to=card) == zh(C_USAGE)
    assert await supervisor.command("/c hours C-2026-999999") == zh(
        "There is no complaint {number}."
    ).format(number="C-2026-999999")
    assert len(await client.bot_messages(emma["id"])) == 1


async def test_a_customer_who_blocked_the_bot_is_not_sent_anything(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    care_team: CareTeam,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await keep(sessionmaker, clock, ("hours", "en", "We open 9 to 6."))
    complaint_id, emma = await filed_complaint(complaint_bot, client, language="en")
    card = await room.card(sessionmaker, complaint_id)
    async with sessionmaker.begin() as session:
        from care.models import Complaint
        from care.models import Customer as CustomerRecord

        complaint = await session.get_one(Complaint, complaint_id)
        (await session.get_one(CustomerRecord, complaint.customer_id)).reachable = False

    answer = await agent.command("/c hours", reply_to=card)
    assert answer == zh("⚠ Not delivered: the customer cannot be reached.")
    assert await staff_replies(sessionmaker, complaint_id) == []
    assert await client.bot_messages(emma["id"]) == []


async def test_c_in_reply_to_a_relayed_message_and_forged_picks_refused(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await keep(sessionmaker, clock, ("hours", "en", "{name}, we open 9 to 6."))
    complaint_id, emma_user = await filed_complaint(complaint_bot, client, language="en")
    emma = Customer(client, emma_user)
    await emma.say("When are you open?")
    transcript = await client.wait_for_transcript(
        room.id,
        lambda messages: any("When are you open?" in text_of(m) for m in messages),
        10.0,
        "the customer's message relayed",
    )
    relayed = next(m for m in transcript if "When are you open?" in text_of(m))
    # Staff reply to it once carebot has noted where the relay went (a moment after
    # Telegram showed it).
    await all_owed_delivered(complaint_bot)

    answer = await agent.command("/c hours", reply_to=relayed)
    assert answer == zh("{name} goes to the customer ({language}).").format(
        name="hours", language="English"
    )
    told = await client.wait_for_bot_message(
        emma.id, lambda m: "9 to 6" in text_of(m), timeout=10.0
    )
    assert text_of(told) == en(SIGNED).format(name="王丽", text="Emma, we open 9 to 6.")

    # A pick forged by someone who is not staff, in their own chat: refused, nothing sent.
    outsider = Customer(client, await client.create_user("Mallory", language_code="en"))
    hello = await outsider.say("hi")
    refused, _ = await outsider.press_data(
        hello["message_id"], CannedPick("k", complaint_id, "hours").pack(), expect_message=False
    )
    assert refused == en("Only care staff can do this.")
    assert len([m for m in await client.bot_messages(emma.id) if "9 to 6" in text_of(m)]) == 1
