"""Campaigns end to end: admins make, preview, edit, approve, cancel and watch them from
Telegram; the planner drafts one for Mid-Autumn and shows it in the staff group; the
sender delivers at 09:00 in each customer's time zone; everyone else is refused.

Ada (the admin) speaks English in her private chat; the staff group speaks the default
locale (zh_CN). Expected words come from the catalogs (``gettext_in``), so these tests
keep passing once the strings are translated.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.models import Campaign, CampaignStatus, Customer, CustomerTag, Outbox
from care.templates import TemplateBook
from handlers.buttons import CampaignAction
from tests.conftest import CareTeam
from tests.helpers import (
    Person,
    RunningBot,
    StaffMember,
    buttons,
    callback_data,
    en,
    text_of,
    utc,
    wait_until,
    zh,
)

# The buttons of the first campaign's card.
APPROVE_FIRST = CampaignAction("approve", 1).pack()
EDIT_FIRST = CampaignAction("edit", 1).pack()


BOOK = TemplateBook.load(None, "zh_CN")


async def add_customer(
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    name: str,
    *,
    language: str = "zh_CN",
    timezone: str | None = "Asia/Shanghai",
    consent: bool = True,
    reachable: bool = True,
    tags: tuple[str, ...] = (),
    **values: Any,
) -> tuple[dict[str, Any], int]:
    """A sandbox user who is a registered customer; their user and customer id."""
    user = await client.create_user(name, language_code="zh-hans" if language == "zh_CN" else "en")
    async with sessionmaker.begin() as session:
        customer = Customer(
            telegram_user_id=user["id"],
            chat_id=user["id"],
            first_name=name,
            language=language,
            timezone=timezone,
            consent_care=consent,
            reachable=reachable,
            created_at=clock.now(),
            onboarded_at=clock.now(),
            **values,
        )
        session.add(customer)
        await session.flush()
        session.add_all(CustomerTag(customer_id=customer.id, tag=tag) for tag in tags)
        return user, customer.id


async def outbox_rows(
    sessionmaker: async_sessionmaker[AsyncSession], campaign_id: int | None = None
) -> dict[int, Outbox]:
    async with sessionmaker() as session:
        query = select(Outbox)
        if campaign_id is not None:
            query = query.where(Outbox.campaign_id == campaign_id)
        return {row.customer_id: row for row in await session.scalars(query)}


async def campaign_of(sessionmaker: async_sessionmaker[AsyncSession], campaign_id: int) -> Campaign:
    async with sessionmaker() as session:
        return await session.get_one(Campaign, campaign_id)


EDIT_HELP = (
    "To edit #{id}, send /campaign edit {id} with what changes: an audience (tag:vip), "
    "a day (2026-10-01), a time (10:30), an occasion, or text and your message."
)
NOT_A_DRAFT = (
    "This campaign is approved and its messages are planned, so it can no longer be "
    "edited. Cancel it and make a new one."
)


def mid_autumn_text(locale: str, name: str) -> str:
    occasion = {"zh_CN": "中秋节", "en": "Mid-Autumn Festival"}[locale]
    return BOOK.render(
        "mid_autumn", locale, {"name": name, "company": "Acme", "occasion": occasion}
    )


# --- an admin's campaign from start to end ----------------------------------------------


async def test_admin_makes_previews_approves_and_watches_a_mid_autumn_campaign(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    xiaohong, xiaohong_id = await add_customer(client, sessionmaker, clock, "小红")
    emma, emma_id = await add_customer(
        client, sessionmaker, clock, "Emma", language="en", timezone="Europe/Berlin"
    )
    _out, opted_out_id = await add_customer(client, sessionmaker, clock, "小明", consent=False)
    _blocked, blocked_id = await add_customer(client, sessionmaker, clock, "Bob", reachable=False)
    ada = Person(client, care_team.admin)

    card = await ada.say("/campaign new mid_autumn")

    text = text_of(card)
    assert en("📣 Campaign #{id}: {title}").format(id=1, title="Mid-Autumn Festival 2026") in text
    assert "2026-09-25" in text and "09:00" in text
    assert (
        en("Audience: {audience} ({audience_text}), {count} now").format(
            audience=en("all customers"), audience_text="all", count=2
        )
        in text
    )
    # Each language as a sample customer gets it, never the raw template ("亲爱的{name}").
    assert "{name}" not in text
    for locale, language, sample in (("zh_CN", "🇨🇳 中文", "小明"), ("en", "🇬🇧 English", "Alex")):
        assert mid_autumn_text(locale, sample) in text
        assert (
            en("{language}, as a customer named {name} gets it:").format(
                language=language, name=sample
            )
            in text.splitlines()
        )
    assert buttons(card) == [en("✅ Approve"), en("✏️ Edit"), en("✖ Cancel campaign")]
    assert callback_data(card) == ["cp:approve:1", "cp:edit:1", "cp:cancel:1"]

    preview = await ada.say(f"/campaign preview 1 {emma_id}")
    assert text_of(preview).endswith(mid_autumn_text("en", "Emma"))
    preview = await ada.say(f"/campaign preview 1 {opted_out_id}")
    assert mid_autumn_text("zh_CN", "小明") in text_of(preview)
    assert "⚠" in text_of(preview)

    assert en("✅ Approve") in buttons(card)
    answer, _none = await ada.press_data(card["message_id"], APPROVE_FIRST, expect_message=False)
    assert answer == en(
        "Campaign #{id} is approved: {count} messages planned, sent from {day} {time} in "
        "each customer's time zone."
    ).format(id=1, count=2, day="2026-09-25", time="09:00")
    edited = await client.wait_for_bot_message(
        ada.id, lambda m: m["message_id"] == card["message_id"] and len(buttons(m)) == 1
    )
    assert buttons(edited) == [en("✖ Cancel campaign")]
    assert en("approved") in text_of(edited)

    rows = await outbox_rows(sessionmaker, 1)
    assert set(rows) == {xiaohong_id, emma_id}
    assert rows[xiaohong_id].due_at == utc(2026, 9, 25, 1)  # 09:00 in Shanghai
    assert rows[emma_id].due_at == utc(2026, 9, 25, 7)  # 09:00 in Berlin
    assert opted_out_id not in rows and blocked_id not in rows
    campaign = await campaign_of(sessionmaker, 1)
    assert campaign.status == CampaignStatus.APPROVED.value and campaign.planned_count == 2

    status = text_of(await ada.say("/campaign status 1"))
    assert en("Planned: {count}").format(count=2) in status
    assert f"· {en('pending')}: 2" in status
    assert f"· {en('sent')}: 0" in status

    # Mid-Autumn morning in Shanghai: 小红 gets her greeting, Emma (in Berlin) not yet.
    clock.set(utc(2026, 9, 25, 1))
    greeting = await client.wait_for_bot_message(xiaohong["id"], timeout=10.0)
    assert text_of(greeting) == mid_autumn_text("zh_CN", "小红")
    assert await client.bot_messages(emma["id"]) == []
    clock.set(utc(2026, 9, 25, 7))
    greeting = await client.wait_for_bot_message(emma["id"], timeout=10.0)
    assert text_of(greeting) == mid_autumn_text("en", "Emma")

    async def all_sent() -> bool:
        return {row.state for row in (await outbox_rows(sessionmaker, 1)).values()} == {"sent"}

    await wait_until(all_sent)
    status = text_of(await ada.say("/campaign status 1"))
    assert f"· {en('sent')}: 2" in status and f"· {en('pending')}: 0" in status


async def test_status_in_the_staff_group_says_why_messages_were_skipped(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    admin: StaffMember,
) -> None:
    people = [(await add_customer(client, sessionmaker, clock, f"客户{n}"))[1] for n in range(4)]
    async with sessionmaker.begin() as session:
        campaign = Campaign(
            name="周年庆", texts={"zh_CN": "全场九折"}, audience={"kind": "all"},
            send_on=clock.now().date(), status=CampaignStatus.APPROVED.value,
            created_at=clock.now(),
        )  # fmt: skip
        session.add(campaign)
        await session.flush()
        campaign_id = campaign.id
        for customer_id, state, reason in zip(
            people,
            ("skipped", "skipped", "skipped", "sent"),
            ("opted_out", "unreachable", "opted_out", None),
            strict=True,
        ):
            session.add(
                Outbox(
                    customer_id=customer_id, campaign_id=campaign_id, dedupe_key="campaign:x",
                    due_at=clock.now(), state=state, last_error=reason,
                )
            )  # fmt: skip

    answer = await admin.command(f"/campaign status {campaign_id}")

    # The staff group reads the default locale, zh_CN.
    lines = answer.splitlines()
    skipped = lines.index(f"· {zh('skipped at send time')}: 3")
    assert lines[skipped + 1 : skipped + 3] == [
        f"   – {zh('turned care messages off')}: 2",
        f"   – {zh('blocked the bot')}: 1",
    ]
    assert f"· {zh('sent')}: 1" in lines


async def test_a_text_campaign_for_a_tag_is_approved_and_cancelled_by_command(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    _vip, vip_id = await add_customer(client, sessionmaker, clock, "VIP", tags=("vip",))
    await add_customer(client, sessionmaker, clock, "Other")
    ada = Person(client, care_team.admin)

    card = await ada.say("/campaign new text tag:vip 2026-10-01 10:30 Dear VIP,\nthank you!")

    text = text_of(card)
    assert en("customers tagged {tag}").format(tag="vip") in text
    assert "2026-10-01" in text and "10:30" in text
    assert en("Message of your own (no template).") in text
    assert text.count("Dear VIP,\nthank you!") == 2  # the same text for both languages
    campaign_id = int(callback_data(card)[0].rsplit(":", 1)[1])
    async with sessionmaker() as session:
        campaign = await session.get_one(Campaign, campaign_id)
        assert campaign.texts == {"zh_CN": "Dear VIP,\nthank you!", "en": "Dear VIP,\nthank you!"}

    approved = text_of(await ada.say(f"/campaign approve {campaign_id}"))
    assert approved == en(
        "Campaign #{id} is approved: {count} message planned, sent from {day} {time} in "
        "each customer's time zone."
    ).format(id=campaign_id, count=1, day="2026-10-01", time="10:30")
    rows = await outbox_rows(sessionmaker, campaign_id)
    assert set(rows) == {vip_id}
    assert rows[vip_id].due_at == utc(2026, 10, 1, 2, 30)

    cancelled = text_of(await ada.say(f"/campaign cancel #{campaign_id}"))
    assert cancelled == en("Campaign #{id} is cancelled; {count} message will not be sent.").format(
        id=campaign_id, count=1
    )
    assert (await outbox_rows(sessionmaker, campaign_id))[vip_id].state == "cancelled"
    again = text_of(await ada.say(f"/campaign approve {campaign_id}"))
    assert again == en("This campaign was cancelled; make a new one.")
    listing = text_of(await ada.say("/campaigns"))
    assert f"#{campaign_id} · " in listing and "tag:vip" in listing


async def test_admin_edits_a_draft_and_the_edited_campaign_is_sent(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    vip, vip_id = await add_customer(client, sessionmaker, clock, "小红", tags=("vip",))
    emma, emma_id = await add_customer(
        client, sessionmaker, clock, "Emma", language="en", timezone="Europe/Berlin"
    )
    ada = Person(client, care_team.admin)
    group = care_team.group_id
    sent = await client.send_text(group, ada.id, "/campaign new mid_autumn")
    card = await client.wait_for_bot_message(group, after_message_id=sent["message_id"])
    assert callback_data(card) == ["cp:approve:1", "cp:edit:1", "cp:cancel:1"]
    assert buttons(card)[1] == zh("✏️ Edit")

    async def remembered() -> bool:
        return (await campaign_of(sessionmaker, 1)).preview_message_id == card["message_id"]

    await wait_until(remembered)

    # Edit on the card says how to edit this campaign; nothing changes.
    query = await client.press(group, ada.id, card["message_id"], EDIT_FIRST)
    answer = await client.wait_for_callback_answer(query, timeout=10.0)
    assert answer["text"] == zh(EDIT_HELP).format(id=1)
    assert "/campaign edit 1 " in answer["text"]
    assert answer.get("show_alert")

    # Nothing to change, and bad days and times, are explained; the draft stays as it was.
    for command, expected, values in (
        ("/campaign edit 1", EDIT_HELP, {"id": 1}),
        ("/campaign edit 1 2026-02-30", "There is no day {day}.", {"day": "2026-02-30"}),
        (
            "/campaign edit 1 25:00",
            "There is no time {time}; write it like 09:00.",
            {"time": "25:00"},
        ),
        (
            "/campaign edit 1 2026-01-01",
            "{day} is already over (today is {today}): its greetings would arrive a day or "
            "more late. Choose today or a day to come.",
            {"day": "2026-01-01", "today": "2026-09-24"},
        ),
        (
            "/campaign edit 1 text",
            "What should it say? /campaign edit {id} text Hello everyone!",
            {"id": 1},
        ),
        (
            "/campaign edit 1 banana",
            "There is no occasion “{occasion}”. /occasions lists them.",
            {"occasion": "banana"},
        ),
    ):
        assert text_of(await ada.say(command)) == en(expected).format(**values), command
    assert (await campaign_of(sessionmaker, 1)).edited_at is None

    # The admin narrows the audience, moves the time and writes a message of her own.
    reply = text_of(
        await ada.say("/campaign edit 1 tag:vip 10:30 text Happy Mid-Autumn,\ndear VIP!")
    )

    assert reply.startswith(en("✏️ Campaign #{id} is changed:").format(id=1))
    assert (
        en("· audience: {audience} ({audience_text}), {count} now").format(
            audience=en("customers tagged {tag}").format(tag="vip"),
            audience_text="tag:vip",
            count=1,
        )
        in reply
    )
    assert en("· time: {time} in each customer's time zone").format(time="10:30") in reply
    assert en("· message: {text}").format(text="Happy Mid-Autumn,\ndear VIP!") in reply
    campaign = await campaign_of(sessionmaker, 1)
    assert campaign.status == CampaignStatus.DRAFT.value
    assert (campaign.occasion, campaign.send_at_local) == (None, "10:30")
    assert campaign.texts == {
        "zh_CN": "Happy Mid-Autumn,\ndear VIP!",
        "en": "Happy Mid-Autumn,\ndear VIP!",
    }
    assert campaign.audience == {"kind": "tag", "tag": "vip"}
    assert campaign.edited_at == clock.now()
    assert campaign.edited_by is not None

    # The card in the staff group is brought up to date in place, in the group's language.
    audience_line = zh("Audience: {audience} ({audience_text}), {count} now").format(
        audience=zh("customers tagged {tag}").format(tag="vip"), audience_text="tag:vip", count=1
    )
    edited = await client.wait_for_bot_message(
        group,
        lambda m: m["message_id"] == card["message_id"] and audience_line in text_of(m),
        timeout=10.0,
    )
    assert "2026-09-25" in text_of(edited) and "10:30" in text_of(edited)
    assert zh("Message of your own (no template).") in text_of(edited)
    assert text_of(edited).count("Happy Mid-Autumn,\ndear VIP!") == 2
    assert mid_autumn_text("zh_CN", "小明") not in text_of(edited)
    assert callback_data(edited) == ["cp:approve:1", "cp:edit:1", "cp:cancel:1"]

    # Other staff may not edit, by command or by button.
    refused = await Person(client, care_team.agent).say("/campaign edit 1 all")
    assert text_of(refused) == zh("Only admins can run campaigns.")
    query = await client.press(group, care_team.supervisor["id"], card["message_id"], EDIT_FIRST)
    answer = await client.wait_for_callback_answer(query, timeout=10.0)
    assert answer["text"] == zh("Only admins can run campaigns.")
    assert (await campaign_of(sessionmaker, 1)).audience == {"kind": "tag", "tag": "vip"}

    # Approved, it is planned as edited and can no longer be edited.
    approved = text_of(await ada.say("/campaign approve 1"))
    assert approved == en(
        "Campaign #{id} is approved: {count} message planned, sent from {day} {time} in "
        "each customer's time zone."
    ).format(id=1, count=1, day="2026-09-25", time="10:30")
    rows = await outbox_rows(sessionmaker, 1)
    assert set(rows) == {vip_id}
    assert rows[vip_id].due_at == utc(2026, 9, 25, 2, 30)  # 10:30 in Shanghai
    refused = await ada.say("/campaign edit 1 all 09:00")
    assert text_of(refused) == en(NOT_A_DRAFT)
    await client.wait_for_bot_message(
        group,
        lambda m: m["message_id"] == card["message_id"] and callback_data(m) == ["cp:cancel:1"],
        timeout=10.0,
    )
    query = await client.press(group, ada.id, card["message_id"], EDIT_FIRST)  # an old card
    answer = await client.wait_for_callback_answer(query, timeout=10.0)
    assert answer["text"] == zh(NOT_A_DRAFT)
    campaign = await campaign_of(sessionmaker, 1)
    assert (campaign.send_at_local, campaign.audience) == ("10:30", {"kind": "tag", "tag": "vip"})

    # At 10:30 in Shanghai the VIP gets the edited text; Emma is not in the audience.
    clock.set(utc(2026, 9, 25, 2, 30))
    greeting = await client.wait_for_bot_message(vip["id"], timeout=10.0)
    assert text_of(greeting) == "Happy Mid-Autumn,\ndear VIP!"

    async def sent_once() -> bool:
        return (await outbox_rows(sessionmaker, 1))[vip_id].state == "sent"

    await wait_until(sent_once)
    assert await client.bot_messages(emma["id"]) == []
    assert emma_id not in await outbox_rows(sessionmaker, 1)


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/campaign", "Campaigns (admins only):"),
        ("/campaign new", "Campaigns (admins only):"),
        ("/campaign new banana", "There is no occasion “banana”."),
        ("/campaign new text Hello everyone", "On which day?"),
        ("/campaign new text 2026-12-01", "What should it say?"),
        ("/campaign new mid_autumn quiet:-1", "That is not an audience."),
        ("/campaign new mid_autumn 2026-02-30", "There is no day 2026-02-30."),
        ("/campaign new mid_autumn 25:00", "There is no time 25:00"),
        ("/campaign new mid_autumn 2026-01-01", "2026-01-01 is already over (today is 2026-09-24)"),
        ("/campaign new mid_autumn hurry", "I do not understand “hurry”."),
        ("/campaign approve 999", "There is no campaign #999."),
        ("/campaign approve x", "Campaigns (admins only):"),
        ("/campaign preview 999 1", "There is no campaign #999."),
        ("/campaign edit 999 tag:vip", "There is no campaign #999."),
        ("/campaign edit x", "Campaigns (admins only):"),
        ("/campaign explode 1", "Campaigns (admins only):"),
        ("/campaigns", "No campaigns yet."),
    ],
)
async def test_bad_commands_get_a_clear_answer(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    command: str,
    expected: str,
) -> None:
    reply = text_of(await Person(client, care_team.admin).say(command))
    assert reply.startswith(en(expected).split("{")[0])


# --- who may ----------------------------------------------------------------------------


async def test_only_admins_run_campaigns(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    agent: StaffMember,
) -> None:
    customer, _customer_id = await add_customer(client, sessionmaker, clock, "小红")
    agent = Person(client, care_team.agent)  # 王丽 speaks Chinese
    group = care_team.group_id
    sent = await client.send_text(group, care_team.admin["id"], "/campaign new mid_autumn")
    card = await client.wait_for_bot_message(group, after_message_id=sent["message_id"])
    assert callback_data(card) == ["cp:approve:1", "cp:edit:1", "cp:cancel:1"]

    async def remembered() -> bool:
        return (await campaign_of(sessionmaker, 1)).preview_message_id == card["message_id"]

    await wait_until(remembered)

    refused = await agent.say("/campaign new mid_autumn")
    assert text_of(refused) == zh("Only admins can run campaigns.")
    refused = await Person(client, customer).say("/campaigns")
    assert text_of(refused) == zh("Only care staff can do this.")
    # Buttons: a supervisor presses Approve on the card; a customer forges a press.
    query = await client.press(group, care_team.supervisor["id"], card["message_id"], APPROVE_FIRST)
    answer = await client.wait_for_callback_answer(query, timeout=10.0)
    assert answer["text"] == zh("Only admins can run campaigns.")
    query = await client.press(customer["id"], customer["id"], refused["message_id"], APPROVE_FIRST)
    answer = await client.wait_for_callback_answer(query, timeout=10.0)
    assert answer["text"] == zh("Only care staff can do this.")

    assert await outbox_rows(sessionmaker) == {}
    assert (await campaign_of(sessionmaker, 1)).status == CampaignStatus.DRAFT.value


# --- the planner ------------------------------------------------------------------------


@pytest.fixture
async def planner_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, care_team: CareTeam
) -> AsyncIterator[RunningBot]:
    """carebot with a staff group whose planner runs every 0.2 s."""
    running = RunningBot(
        sandbox,
        database_url,
        clock,
        staff_chat_id=care_team.group_id,
        planner_check_seconds=0.2,
        outbox_check_seconds=0.2,
    )
    yield running
    await running.stop()


async def test_the_planner_drafts_mid_autumn_for_the_staff_group_and_plans_birthdays(
    planner_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    customer, customer_id = await add_customer(client, sessionmaker, clock, "小红")
    moon, moon_id = await add_customer(
        client, sessionmaker, clock, "月亮", birthday_calendar="lunar", birthday_month=8,
        birthday_day=15,
    )  # fmt: skip
    await planner_bot.start()  # 2026-09-24: Mid-Autumn is tomorrow

    card = await client.wait_for_bot_message(
        care_team.group_id,
        lambda m: APPROVE_FIRST in callback_data(m),
        timeout=10.0,
    )
    text = text_of(card)
    assert (
        zh("📣 Campaign #{id}: {title} (drafted automatically)").format(id=1, title="中秋节 2026")
        in text
    )
    assert mid_autumn_text("zh_CN", "小明") in text and "{name}" not in text

    async def remembered() -> bool:
        return (await campaign_of(sessionmaker, 1)).preview_message_id == card["message_id"]

    await wait_until(remembered)

    # The lunar birthday (农历八月十五 is 2026-09-25) is planned too.
    async def birthday_planned() -> bool:
        rows = await outbox_rows(sessionmaker)
        return moon_id in rows and rows[moon_id].dedupe_key == "birthday:2026"

    await wait_until(birthday_planned)

    # A supervisor may not approve; the admin may, in the group.
    query = await client.press(
        care_team.group_id,
        care_team.supervisor["id"],
        card["message_id"],
        APPROVE_FIRST,
    )
    assert (await client.wait_for_callback_answer(query, timeout=10.0))["text"] == zh(
        "Only admins can run campaigns."
    )
    query = await client.press(
        care_team.group_id,
        care_team.admin["id"],
        card["message_id"],
        APPROVE_FIRST,
    )
    await client.wait_for_callback_answer(query, timeout=10.0)
    edited = await client.wait_for_bot_message(
        care_team.group_id,
        lambda m: m["message_id"] == card["message_id"] and callback_data(m) == ["cp:cancel:1"],
        timeout=10.0,
    )
    assert zh("approved") in text_of(edited)
    rows = await outbox_rows(sessionmaker, 1)
    assert set(rows) == {customer_id, moon_id}
    assert rows[customer_id].due_at == utc(2026, 9, 25, 1)

    # Drafted once: later runs post no second card.
    transcript = await client.transcript(care_team.group_id)
    await asyncio.sleep(1.0)  # five more runs of the planner
    assert len(await client.transcript(care_team.group_id)) == len(transcript)

    # At 09:00 in Shanghai both greetings arrive.
    clock.set(utc(2026, 9, 25, 1))
    greeting = await client.wait_for_bot_message(customer["id"], timeout=10.0)
    assert text_of(greeting) == mid_autumn_text("zh_CN", "小红")
    messages = await client.wait_for_bot_messages(moon["id"], 2, timeout=10.0)
    assert {text_of(m) for m in messages} == {
        mid_autumn_text("zh_CN", "月亮"),
        BOOK.render("birthday", "zh_CN", {"name": "月亮", "company": "Acme", "occasion": ""}),
    }
