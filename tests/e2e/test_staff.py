"""The staff side of complaints, end to end: card buttons, replies, commands, refusals.

The staff group speaks the default locale (zh_CN in tests); expected words are looked up
in the catalogs (``gettext_in``), so these tests keep passing once strings are translated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care import complaints
from care.clock import ManualClock
from care.models import (
    Complaint,
    ComplaintEvent,
    ComplaintEventType,
    ComplaintMessage,
)
from care.models import Customer as CustomerRecord
from care.models import StaffMember as StaffRecord
from handlers.buttons import CardAction
from handlers.complaint_words import local_time
from handlers.i18n import gettext_in
from tests.conftest import CareTeam
from tests.helpers import (
    Customer,
    RunningBot,
    StaffMember,
    StaffRoom,
    all_owed_delivered,
    buttons,
    callback_data,
    en,
    filed_complaint,
    text_of,
    wait_until,
    zh,
)

TIMEZONE = "Asia/Shanghai"  # the settings' default


async def load(sessionmaker: async_sessionmaker[AsyncSession], complaint_id: int) -> Complaint:
    async with sessionmaker() as session:
        return await session.get_one(Complaint, complaint_id)


async def events_of(
    sessionmaker: async_sessionmaker[AsyncSession], complaint_id: int
) -> list[ComplaintEvent]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(ComplaintEvent.id)
        )
        return list(rows.all())


async def staff_id_of(sessionmaker: async_sessionmaker[AsyncSession], user: dict[str, Any]) -> int:
    async with sessionmaker() as session:
        member = await session.scalar(
            select(StaffRecord).where(StaffRecord.telegram_user_id == user["id"])
        )
        assert member is not None
        return member.id


async def customer_says_nothing_more(
    client: SandboxClient, who: StaffMember, customer_id: int, count: int
) -> None:
    """After a round trip through the staff group, the customer has exactly ``count`` bot
    messages (updates of one chat are handled in order, so anything due has happened)."""
    await who.command("/queue")
    assert len(await client.bot_messages(customer_id)) == count


# --- card buttons -----------------------------------------------------------------------


async def test_acknowledge_edits_the_card_in_place_and_tells_the_customer_in_chinese(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, customer = await filed_complaint(
        complaint_bot, client, text="水壶底部漏水。", language="zh_CN"
    )
    complaint = await load(sessionmaker, complaint_id)
    card_id = await room.card(sessionmaker, complaint_id)
    card = await room.message(card_id)
    assert complaint.number is not None and complaint.number in text_of(card)
    assert zh("Acknowledge") in buttons(card)
    group_messages = len(await room.transcript())

    answer = await agent.press(zh("Acknowledge"), card_id)
    assert answer == zh("Acknowledged.")

    told = await client.wait_for_bot_message(customer["id"], timeout=10.0)
    due = local_time(complaint.resolve_due_at, TIMEZONE)
    assert text_of(told) == gettext_in(
        "zh_CN",
        "We have received your complaint {number} and are looking into it. "
        "You will hear from us by {due} at the latest.",
    ).format(number=complaint.number, due=due)

    status_line = zh("Status: {status}").format(status=zh("acknowledged"))
    edited = await room.wait_card(card_id, lambda m: status_line in text_of(m))
    assert edited.get("edit_date") is not None, "the same card, edited in place"
    assert zh("Acknowledge") not in buttons(edited)
    assert zh("Take") in buttons(edited) and zh("Reply") in buttons(edited)
    assert len(await room.transcript()) == group_messages, "no new card was posted"

    stored = await load(sessionmaker, complaint_id)
    assert stored.status == "acknowledged" and stored.acknowledged_at is not None
    assert stored.acknowledged_on_time is True
    status_events = [e for e in await events_of(sessionmaker, complaint_id) if e.type == "status"]
    assert [(e.from_status, e.to_status) for e in status_events] == [("new", "acknowledged")]
    assert status_events[0].staff_id == await staff_id_of(sessionmaker, care_team.agent)


async def test_take_tells_the_customer_who_handles_it(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    supervisor: StaffMember,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, customer = await filed_complaint(complaint_bot, client, language="en")
    number = (await load(sessionmaker, complaint_id)).number
    card_id = await room.card(sessionmaker, complaint_id)

    answer = await supervisor.press(zh("Take"), card_id)
    assert answer == zh("It is yours now.")

    told = await client.wait_for_bot_message(customer["id"], timeout=10.0)
    assert text_of(told) == en(
        "{name} from our care team is now handling your complaint {number}."
    ).format(name="Sam", number=number)
    card = await room.wait_card(
        card_id, lambda m: zh("Assignee: {name}").format(name="Sam") in text_of(m)
    )
    assert zh("Status: {status}").format(status=zh("being handled")) in text_of(card)
    assert zh("Take") in buttons(card), "someone else can still take it over"

    stored = await load(sessionmaker, complaint_id)
    assert stored.status == "in_progress"
    assert stored.assignee_id == await staff_id_of(sessionmaker, care_team.supervisor)
    assert stored.acknowledged_at is not None, "taking it acknowledges it too"


async def test_a_double_press_changes_things_once(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    supervisor: StaffMember,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, customer = await filed_complaint(complaint_bot, client, language="en")
    card_id = await room.card(sessionmaker, complaint_id)

    # Two colleagues press at once: one acknowledges, the other is told it is done.
    answers = await asyncio.gather(
        agent.press(zh("Acknowledge"), card_id), supervisor.press(zh("Acknowledge"), card_id)
    )
    assert sorted(answers) == sorted([zh("Acknowledged."), zh("Already done.")])
    again = await agent.press_data(card_id, CardAction("ack", complaint_id).pack())  # pressed again
    assert again == zh("Already done.")

    await client.wait_for_bot_message(customer["id"], timeout=10.0)
    await customer_says_nothing_more(client, agent, customer["id"], 1)
    acknowledgements = [
        e for e in await events_of(sessionmaker, complaint_id) if e.to_status == "acknowledged"
    ]
    assert len(acknowledgements) == 1


async def test_reply_through_the_prompt_and_by_replying_to_the_card(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    supervisor: StaffMember,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, customer = await filed_complaint(complaint_bot, client, language="en")
    number = (await load(sessionmaker, complaint_id)).number
    card_id = await room.card(sessionmaker, complaint_id)

    answer = await agent.press(zh("Reply"), card_id)
    assert answer == zh("Reply to my message with your answer.")
    prompt_text = zh("Your reply to the customer for {number}: reply to this message.").format(
        number=number
    )
    prompt = await client.wait_for_bot_message(
        room.id, lambda m: text_of(m) == prompt_text, timeout=10.0
    )
    assert prompt.get("reply_to_message_id") == card_id, "the prompt quotes the card"

    await agent.say("Could you send us the order number?", prompt["message_id"])
    first = await client.wait_for_bot_message(customer["id"], timeout=10.0)
    assert text_of(first) == en("💬 {name} (customer care): {text}").format(
        name="王丽", text="Could you send us the order number?"
    )
    waiting = zh("Status: {status}").format(status=zh("waiting for the customer"))
    card = await room.wait_card(card_id, lambda m: waiting in text_of(m))
    assert zh("Assignee: {name}").format(name="王丽") in text_of(card)

    # Replying straight to the card works too, with a photo as well.
    await supervisor.say("We are sorry for the trouble.", card_id)
    second = await client.wait_for_bot_message(
        customer["id"], after_message_id=first["message_id"], timeout=10.0
    )
    assert text_of(second) == en("💬 {name} (customer care): {text}").format(
        name="Sam", text="We are sorry for the trouble."
    )
    await supervisor.send_photo("This is the spare part.", reply_to=card_id)
    photo = await client.wait_for_bot_message(
        customer["id"], after_message_id=second["message_id"], timeout=10.0
    )
    assert photo.get("photo"), "the photo itself reaches the customer"
    assert text_of(photo) == en("💬 {name} (customer care): {text}").format(
        name="Sam", text="This is the spare part."
    )

    async def replies() -> list[str | None]:
        return [
            e.note
            for e in await events_of(sessionmaker, complaint_id)
            if e.type == ComplaintEventType.STAFF_REPLY.value
        ]

    # Recorded with the reply (which is then delivered).
    await wait_until(lambda: _has(replies(), 3))
    stored = await load(sessionmaker, complaint_id)
    assert stored.status == "waiting_customer"
    assert await replies() == [
        "Could you send us the order number?",
        "We are sorry for the trouble.",
        "📷 This is the spare part.",
    ]

    async def purposes() -> list[str]:
        async with sessionmaker() as session:
            return list(
                (
                    await session.scalars(
                        select(ComplaintMessage.purpose).where(
                            ComplaintMessage.complaint_id == complaint_id
                        )
                    )
                ).all()
            )

    # A message is filed under its complaint once Telegram has it (the customer has the
    # last one already; its row is settled a moment later).
    await wait_until(lambda: _has(purposes(), 5))
    assert sorted(await purposes()) == ["alert", "customer", "customer", "customer", "reply_prompt"]


async def test_a_voice_message_or_a_sticker_replied_to_the_card_reaches_the_customer(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Any file staff reply to a complaint's card goes to its customer, signed: a voice
    message with the signature as caption, a sticker (no caption) after a signed line."""
    complaint_id, customer = await filed_complaint(complaint_bot, client, language="en")
    card_id = await room.card(sessionmaker, complaint_id)
    start = max((m["message_id"] for m in await client.transcript(customer["id"])), default=0)

    # The customer's voice message and sticker reach staff under the card, after a header.
    said = await client.send_voice(customer["id"], customer["id"], duration=3)
    relayed = await client.wait_for_bot_message(room.id, lambda m: "voice" in m, timeout=10.0)
    assert relayed["voice"]["file_unique_id"] == said["voice"]["file_unique_id"]
    assert relayed.get("reply_to_message_id") == card_id
    await client.send_sticker(customer["id"], customer["id"], emoji="🙏")
    relayed_sticker = await client.wait_for_bot_message(
        room.id, lambda m: "sticker" in m, timeout=10.0
    )
    [header] = [
        m
        for m in await client.transcript(room.id)
        if m["message_id"] == relayed_sticker["message_id"] - 1
    ]
    assert text_of(header).startswith(zh("💬 {number} from {name}:").split("{")[0])
    await all_owed_delivered(complaint_bot)
    start = max(m["message_id"] for m in await client.transcript(customer["id"]))

    voice = await client.send_message(
        room.id, agent.id, voice={"duration": 2}, caption="Listen to this",
        reply_to_message_id=card_id,
    )  # fmt: skip
    got = await client.wait_for_bot_message(
        customer["id"], lambda m: "voice" in m, after_message_id=start, timeout=10.0
    )
    assert got["voice"]["file_unique_id"] == voice["voice"]["file_unique_id"]
    assert text_of(got) == en("💬 {name} (customer care): {text}").format(
        name="王丽", text="Listen to this"
    )

    sticker = await client.send_message(
        room.id, agent.id, sticker={"emoji": "🐼"}, reply_to_message_id=card_id
    )
    got_sticker = await client.wait_for_bot_message(
        customer["id"], lambda m: "sticker" in m, after_message_id=start, timeout=10.0
    )
    assert got_sticker["sticker"]["file_unique_id"] == sticker["sticker"]["file_unique_id"]
    [line] = [
        m
        for m in await client.transcript(customer["id"])
        if m["message_id"] == got_sticker["message_id"] - 1
    ]
    assert text_of(line) == en("💬 {name} (customer care)").format(name="王丽")

    async def replies() -> list[str | None]:
        return [
            e.note
            for e in await events_of(sessionmaker, complaint_id)
            if e.type == ComplaintEventType.STAFF_REPLY.value
        ]

    await wait_until(lambda: _has(replies(), 2))
    assert await replies() == ["📎 Listen to this", "📎"], "each reply on the record once"
    refused = [m for m in await client.transcript(room.id) if "⚠" in text_of(m)]
    assert refused == [] and not [
        m for m in await client.transcript(room.id) if "Only t" in text_of(m)
    ]


async def test_resolve_through_the_prompt_with_a_note(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, customer = await filed_complaint(
        complaint_bot, client, text="快递把箱子压坏了", language="zh_CN", category="delivery"
    )
    number = (await load(sessionmaker, complaint_id)).number
    card_id = await room.card(sessionmaker, complaint_id)

    answer = await agent.press(zh("Resolve"), card_id)
    assert answer == zh("Reply to my message with what was done.")
    prompt_text = zh("Resolution note for {number}: reply to this message.").format(number=number)
    prompt = await client.wait_for_bot_message(
        room.id, lambda m: text_of(m) == prompt_text, timeout=10.0
    )
    await agent.say("已补发新的水壶，今天发出。", prompt["message_id"])

    told = await client.wait_for_bot_message(customer["id"], timeout=10.0)
    expected = (
        gettext_in("zh_CN", "Good news: your complaint {number} is resolved.").format(number=number)
        + "\n"
        + gettext_in("zh_CN", "What we did: {note}").format(note="已补发新的水壶，今天发出。")
        + "\n\n"
        + gettext_in("zh_CN", "How satisfied are you with how we handled it?")
    )
    assert text_of(told) == expected
    assert callback_data(told) == [f"cx:rate:{complaint_id}:{score}" for score in range(1, 6)]

    resolution = zh("Resolution: {note}").format(note="已补发新的水壶，今天发出。")
    card = await room.wait_card(card_id, lambda m: resolution in text_of(m))
    assert zh("Status: {status}").format(status=zh("resolved")) in text_of(card)
    assert buttons(card) == [zh("Reply")], "nothing left to acknowledge, take or resolve"

    stored = await load(sessionmaker, complaint_id)
    assert stored.status == "resolved" and stored.resolution == "已补发新的水壶，今天发出。"
    assert stored.resolved_on_time is True
    assert stored.assignee_id == await staff_id_of(sessionmaker, care_team.agent)

    # Resolving again through a second prompt changes nothing and tells nobody.
    await agent.press_data(card_id, CardAction("res", complaint_id).pack())  # a stale Resolve
    await customer_says_nothing_more(client, agent, customer["id"], 1)


# --- commands ---------------------------------------------------------------------------


async def test_queue_complaint_note_assign_resolve_reopen(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    supervisor: StaffMember,
    admin: StaffMember,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    assert await agent.command("/queue") == zh("Nothing in the queue.")
    assert await admin.command_in_private("/queue") == en("Nothing in the queue."), (
        "in a private chat a staff member hears their own language"
    )

    calm_id, calm_customer = await filed_complaint(complaint_bot, client, language="en")
    angry_id, angry_customer = await filed_complaint(
        complaint_bot, client, text="UNACCEPTABLE!!! Nobody answers my calls."
    )
    calm, angry = await load(sessionmaker, calm_id), await load(sessionmaker, angry_id)
    assert angry.priority == "urgent" and calm.priority == "normal"
    assert calm.number is not None and angry.number is not None

    queue = (await agent.command("/queue")).splitlines()
    assert len(queue) == 3
    assert angry.number in queue[1] and calm.number in queue[2], "nearest deadline first"
    assert zh("urgent") in queue[1] and zh("nobody yet") in queue[1]
    assert (
        zh("acknowledge by {due}").format(due=local_time(angry.acknowledge_due_at, TIMEZONE))
        in queue[1]
    )

    # An internal note, for staff only.
    answer = await agent.command(f"/note {calm.number} Regular customer, be kind")
    assert answer == zh("Note added to {number} (staff only).").format(number=calm.number)

    # Assign by @username: the customer is told who handles it.
    answer = await agent.command(f"/assign {calm.number} @sam_sup")
    assert answer == zh("{number} is now assigned to {name}.").format(
        number=calm.number, name="Sam @sam_sup"
    )
    told = await client.wait_for_bot_message(calm_customer["id"], timeout=10.0)
    assert text_of(told) == en(
        "{name} from our care team is now handling your complaint {number}."
    ).format(name="Sam", number=calm.number)
    answer = await agent.command(f"/assign {calm.number} @nobody_here")
    assert answer == zh("{who} is not a member of the care staff.").format(who="@nobody_here")
    answer = await agent.command(f"/assign {calm.number}")
    assert answer == zh("Usage: /assign C-2026-000123 @username (or their Telegram user id)")

    # The full record, with the internal note and the customer's contacts.
    record = await supervisor.command(f"/complaint {calm.number}")
    assert calm.number in record and "Regular customer, be kind" in record
    assert zh("History:") in record and zh("Recent contacts with the customer:") in record
    assert f"→ {text_of(told)}" in record, "what the customer was told is on record"

    # Resolve by command, then reopen.
    answer = await supervisor.command(f"/resolve {calm.number} Sent a new kettle")
    assert answer == zh(
        "{number} is resolved. The customer will be told, and asked for a rating, as "
        "soon as Telegram accepts the message; the card shows when they were told."
    ).format(number=calm.number)
    resolved = await client.wait_for_bot_message(
        calm_customer["id"], after_message_id=told["message_id"], timeout=10.0
    )
    assert en("What we did: {note}").format(note="Sent a new kettle") in text_of(resolved)
    answer = await supervisor.command(f"/reopen {calm.number.lower()}")
    assert answer == zh("{number} is open again.").format(number=calm.number)
    reopened = await client.wait_for_bot_message(
        calm_customer["id"], after_message_id=resolved["message_id"], timeout=10.0
    )
    assert calm.number in text_of(reopened)
    answer = await supervisor.command(f"/reopen {angry.number}")
    assert answer == zh("{number} is still open ({status}): there is nothing to reopen.").format(
        number=angry.number, status=zh("received")
    )

    # A command that replies to the card needs no number.
    card_id = await room.card(sessionmaker, angry_id)
    answer = await agent.command("/note Called the customer back", card_id)
    assert answer == zh("Note added to {number} (staff only).").format(number=angry.number)

    answer = await agent.command("/complaint C-2026-999999")
    assert answer == zh("There is no complaint {number}.").format(number="C-2026-999999")
    assert await agent.command("/note") == zh("Usage: /note C-2026-000123 text (for staff only)")

    stored = await load(sessionmaker, calm_id)
    assert stored.status == "reopened"
    assert stored.assignee_id == await staff_id_of(sessionmaker, care_team.supervisor)
    notes = [e.note for e in await events_of(sessionmaker, calm_id) if e.type == "note"]
    assert notes == ["Regular customer, be kind"]
    for customer in (calm_customer, angry_customer):
        seen = " ".join(text_of(m) for m in await client.transcript(customer["id"]))
        assert "Regular customer" not in seen and "Called the customer" not in seen
    assert len(await client.bot_messages(angry_customer["id"])) == 0


async def test_staff_add_list_remove_by_an_admin_only(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    supervisor: StaffMember,
    admin: StaffMember,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    newbie = await client.create_user("Lin", username="lin_new", language_code="en")
    lin = Customer(client, newbie)  # in her private chat with the bot
    assert await lin.command("/queue") == en("Only care staff can do this.")

    answer = await agent.command(f"/staff add {newbie['id']} agent Lin")
    assert answer == zh("Only admins can add or remove staff members.")
    answer = await admin.command(f"/staff add {newbie['id']} agent Lin Na")
    assert answer == zh("{name} is now care staff: {role}.").format(name="Lin Na", role=zh("agent"))
    assert await lin.command("/queue") == en("Nothing in the queue.")

    # Names as staff know them, with the @username Telegram showed when Lin wrote; no ids.
    listing = await agent.command("/staff list")
    assert listing.splitlines()[0] == zh("Care staff:")
    for name in ("王丽 @wangli", "Sam @sam_sup", "Ada @ada_admin", "Lin Na @lin_new"):
        assert name in listing
    assert str(newbie["id"]) not in listing

    assert await admin.command("/staff add 12x agent") == zh(
        "Usage: /staff list · /staff add <Telegram user id> <agent|supervisor|admin> [name] · "
        "/staff remove <@username or Telegram user id>"
    )
    answer = await admin.command(f"/staff add {newbie['id']} boss")
    assert answer == zh(
        "Usage: /staff list · /staff add <Telegram user id> <agent|supervisor|admin> [name] · "
        "/staff remove <@username or Telegram user id>"
    )
    answer = await supervisor.command(f"/staff remove {newbie['id']}")
    assert answer == zh("Only admins can add or remove staff members.")
    answer = await admin.command(f"/staff remove {care_team.admin['id']}")
    assert answer == zh("You cannot remove yourself; ask another admin.")
    answer = await admin.command("/staff remove @Lin_New")
    assert answer == zh("{name} is no longer care staff.").format(name="Lin Na @lin_new")
    assert await lin.command("/queue") == en("Only care staff can do this.")

    async with sessionmaker() as session:
        member = await session.scalar(
            select(StaffRecord).where(StaffRecord.telegram_user_id == newbie["id"])
        )
        assert member is not None
        assert (member.name, member.role, member.active) == ("Lin Na", "agent", False)


# --- refusals and forged buttons ------------------------------------------------------


async def test_someone_who_is_not_staff_is_refused_and_logged(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    complaint_id, _customer = await filed_complaint(complaint_bot, client, language="en")
    number = (await load(sessionmaker, complaint_id)).number
    outsider = await client.create_user("Mallory", language_code="en")
    mallory = Customer(client, outsider)
    caplog.set_level(logging.WARNING, logger="handlers.staff")

    for command in ("/queue", f"/complaint {number}", f"/resolve {number} done", "/staff list"):
        refusal = await mallory.say(command)
        assert text_of(refusal) == en("Only care staff can do this."), command
    # A forged staff button in the outsider's own chat.
    answer, _ = await mallory.press_data(
        refusal["message_id"], CardAction("ack", complaint_id).pack(), expect_message=False
    )
    assert answer == en("Only care staff can do this.")
    # Customer commands still reach the customer's side.
    assert await mallory.command("/help") != en("Only care staff can do this.")

    stored = await load(sessionmaker, complaint_id)
    assert stored.status == "new" and stored.resolution is None
    assert [e.type for e in await events_of(sessionmaker, complaint_id)] == ["filed"]
    refusals = [r for r in caplog.records if "not care staff" in r.getMessage()]
    assert len(refusals) == 5
    assert all(str(outsider["id"]) in r.getMessage() for r in refusals)
    assert any("st:ack" in r.getMessage() for r in refusals)


async def test_forged_and_refused_buttons_get_clear_answers(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    supervisor: StaffMember,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, customer = await filed_complaint(complaint_bot, client, language="en")
    card_id = await room.card(sessionmaker, complaint_id)

    answer = await agent.press_data(card_id, "st:ack:999999")
    assert answer == zh("There is no such complaint.")
    answer = await agent.press_data(card_id, "st:zzz:1")
    assert answer == zh("This button is not valid.")
    answer = await agent.press_data(card_id, "st:ack:1:2:3")
    assert answer == zh("This button is not valid.")
    # Prompts are for the staff group: a forged Resolve in a private chat asks nothing.
    private = care_team.supervisor
    await supervisor.command_in_private("/queue")
    (last,) = (await client.bot_messages(private["id"]))[-1:]
    answer, _ = await Customer(client, private).press_data(
        last["message_id"], CardAction("res", complaint_id).pack(), expect_message=False
    )
    assert answer == en("Use the card in the staff group for this.")
    assert (await client.bot_messages(private["id"]))[-1] == last

    # A closed complaint refuses in words.
    services = complaint_bot.built.services if complaint_bot.built else None
    assert services is not None
    async with sessionmaker.begin() as session:
        complaint = await session.get_one(Complaint, complaint_id)
        record = await _agent(session, care_team)
        await complaints.resolve(session, complaint, record, "ok", services.clock.now())
        await complaints.close(session, complaint, services.clock.now())
        number = complaint.number
    answer = await agent.press_data(card_id, CardAction("ack", complaint_id).pack())
    assert answer == zh("{number} is {status}: reopen it first.").format(
        number=number, status=zh("closed")
    )
    answer = await agent.press_data(card_id, CardAction("res", complaint_id).pack())
    assert answer == zh("{number} is {status}: reopen it first.").format(
        number=number, status=zh("closed")
    )

    assert (await load(sessionmaker, complaint_id)).status == "closed"
    assert await client.bot_messages(customer["id"]) == []


async def _has(items: Awaitable[list[Any]], count: int) -> bool:
    return len(await items) >= count


async def _agent(session: AsyncSession, care_team: CareTeam) -> StaffRecord:
    member = await session.scalar(
        select(StaffRecord).where(StaffRecord.telegram_user_id == care_team.agent["id"])
    )
    assert member is not None
    return member


HINT = (
    "This message reaches no customer. To write to a customer, reply to the card "
    "of their complaint (Reply button) or conversation, or to their message here, "
    "or send /reply <customer id or #conversation> and your answer."
)


async def test_a_plain_message_is_told_how_to_reach_a_customer_once_in_a_while(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    supervisor: StaffMember,
    admin: StaffMember,
    care_team: CareTeam,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, customer = await filed_complaint(complaint_bot, client, language="en")
    before = len(await room.transcript())

    # A plain message reaches nobody: its sender is told how to reach a customer.
    stray = await agent.say("Customer says the kettle still leaks")
    hint = await room.answer_to(stray)
    assert text_of(hint) == zh(HINT)

    # Chatter goes on without more hints: not for the same member again soon, not for a
    # reply to a colleague; a colleague's first plain message gets one.
    await agent.say("Lunch at noon?")
    chatter = await agent.say("Anyone?")
    await supervisor.say("Yes!", chatter["message_id"])
    other = await admin.say("Me too")
    await room.answer_to(other)
    queue = await agent.say("/queue")
    await room.answer_to(queue)
    bot_said = [m for m in (await room.transcript())[before:] if m["from"]["is_bot"]]
    assert [m.get("reply_to_message_id") for m in bot_said] == [
        stray["message_id"],
        other["message_id"],
        queue["message_id"],
    ]

    # Half an hour later the same member is reminded again.
    clock.advance(timedelta(minutes=31))
    later = await agent.say("Back from lunch")
    assert text_of(await room.answer_to(later)) == zh(HINT)

    assert await client.bot_messages(customer["id"]) == []
    assert [e.type for e in await events_of(sessionmaker, complaint_id)] == ["filed"]


async def test_a_customer_who_blocked_the_bot_shows_on_the_card(
    complaint_bot: RunningBot,
    client: SandboxClient,
    room: StaffRoom,
    agent: StaffMember,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, customer = await filed_complaint(complaint_bot, client, language="en")
    number = (await load(sessionmaker, complaint_id)).number
    card_id = await room.card(sessionmaker, complaint_id)
    await client.fault({"kind": "blocked", "user_id": customer["id"]})

    sent = await agent.say("Hello, are you still there?", card_id)
    warning = await room.answer_to(sent)
    assert text_of(warning) == zh(
        "⚠ Not delivered: the customer of {number} cannot be reached."
    ).format(number=number)
    blocked = zh("⚠ The customer blocked the bot: messages cannot reach them.")
    await room.wait_card(card_id, lambda m: blocked in text_of(m))

    assert await client.bot_messages(customer["id"]) == []
    async with sessionmaker() as session:
        record = await session.scalar(
            select(CustomerRecord).where(CustomerRecord.telegram_user_id == customer["id"])
        )
        assert record is not None and record.reachable is False
        replies = await session.scalar(
            select(func.count())
            .select_from(ComplaintEvent)
            .where(
                ComplaintEvent.complaint_id == complaint_id,
                ComplaintEvent.type == ComplaintEventType.STAFF_REPLY.value,
            )
        )
    assert replies == 0, "an undelivered reply is not on record as sent"
    types = [e.type for e in await events_of(sessionmaker, complaint_id)]
    assert types == ["filed", "unreachable"]
    assert (await load(sessionmaker, complaint_id)).status == "new"
