"""Messages carebot owes (issue 8): a failing or slow Telegram delays them, never loses
them. Each test injects the fault the outside testers found, through the sandbox, and
then lets time pass (the clock is the bot's, the retries' backoff counts on it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.owed_jobs import owed_sender
from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.models import Complaint, ComplaintEvent, ComplaintEventType, OwedMessage
from handlers.buttons import FilingStep
from tests.conftest import CareTeam
from tests.e2e.conftest import PersonFactory
from tests.e2e.test_complaints import file_in_english
from tests.helpers import (
    Message,
    Person,
    RunningBot,
    StaffMember,
    StaffRoom,
    all_owed_delivered,
    en,
    filed_complaint,
    text_of,
    wait_until,
    zh,
)


async def cards(client: SandboxClient, care_team: CareTeam) -> list[Message]:
    return [
        m
        for m in await client.transcript(care_team.group_id)
        if m["from"]["is_bot"] and "C-2026-" in text_of(m) and m.get("reply_markup")
    ]


async def only_complaint(sessionmaker: async_sessionmaker[AsyncSession]) -> Complaint:
    async with sessionmaker() as session:
        [complaint] = (await session.scalars(select(Complaint))).all()
        return complaint


async def keep_retrying(clock: ManualClock, condition: Any, within: float = 60.0) -> None:
    """Move the bot's clock on until ``condition()`` holds: backoff is counted on it."""

    async def advanced() -> bool:
        if await condition():
            return True
        clock.advance(timedelta(seconds=40))
        return False

    await wait_until(advanced, within, interval=0.2)


async def test_a_card_that_fails_five_times_still_reaches_staff_once(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    person: PersonFactory,
    client: SandboxClient,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await client.fault(
        {"kind": "error", "method": "sendMessage", "status": 500, "count": 5,
         "chat_id": care_team.group_id}
    )  # fmt: skip
    anna = await person("Anna", language_code="en")
    filed = await file_in_english(anna, "The parcel arrived crushed.")
    complaint = await only_complaint(sessionmaker)
    assert complaint.number is not None and complaint.number in text_of(filed)
    assert await cards(client, care_team) == [], "the group still fails"

    async def carded() -> bool:
        return len(await cards(client, care_team)) == 1

    await keep_retrying(clock, carded)
    await wait_until(lambda: card_recorded(sessionmaker))
    complaint = await only_complaint(sessionmaker)
    [card] = await cards(client, care_team)
    assert complaint.alert_message_id == card["message_id"]
    # The customer writes more: it is shown under the (late) card.
    await anna.say("It is the second time this happens.")
    relay = await client.wait_for_bot_message(
        care_team.group_id, lambda m: "second time" in text_of(m), timeout=10
    )
    assert relay.get("reply_to_message_id") == card["message_id"]
    await all_owed_delivered(complaint_bot)  # nothing left owed


async def test_a_customer_whose_confirmation_fails_still_learns_the_number(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    person: PersonFactory,
    client: SandboxClient,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    anna = await person("Anna", language_code="en")
    await anna.say("/complain")
    await anna.press("Delivery")
    await anna.say("The parcel arrived crushed.")
    await anna.press("Continue")
    summary = await anna.say("A-1001")
    # From here on every message to Anna fails (4 times: the bot's own retries included).
    await client.fault(
        {"kind": "error", "method": "sendMessage", "status": 500, "count": 4, "chat_id": anna.id}
    )
    await anna.press_data(summary["message_id"], FilingStep("submit").pack(), expect_message=False)
    await wait_until(lambda: _has_card(client, care_team))  # staff know at once
    complaint = await only_complaint(sessionmaker)
    assert complaint.number is not None

    async def told() -> bool:
        return any(complaint.number in text_of(m) for m in await anna.bot_messages())

    await keep_retrying(clock, told)
    told_number = [m for m in await anna.bot_messages() if complaint.number in text_of(m)]
    assert len(told_number) == 1, "the number is told exactly once"


async def _has_card(client: SandboxClient, care_team: CareTeam) -> bool:
    return len(await cards(client, care_team)) == 1


async def test_a_429_with_a_long_retry_after_waits_and_then_posts_the_card(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    person: PersonFactory,
    client: SandboxClient,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await client.fault(
        {"kind": "retry_after", "method": "sendMessage", "seconds": 90, "count": 1,
         "chat_id": care_team.group_id}
    )  # fmt: skip
    anna = await person("Anna", language_code="en")
    await file_in_english(anna, "The parcel arrived crushed.")
    async with sessionmaker() as session:
        [card_row] = (
            await session.scalars(select(OwedMessage).where(OwedMessage.kind == "card"))
        ).all()
    await wait_until(lambda: _row_is(sessionmaker, card_row.id, "pending", retried=True))
    clock.advance(timedelta(seconds=60))
    assert await cards(client, care_team) == [], "not before retry_after"
    clock.advance(timedelta(seconds=31))
    await wait_until(lambda: _has_card(client, care_team))
    await wait_until(lambda: _row_is(sessionmaker, card_row.id, "sent", retried=False))
    async with sessionmaker() as session:
        row = await session.get_one(OwedMessage, card_row.id)
        assert row.attempts == 1, "a 429 does not use up an attempt"


async def card_recorded(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the sender has committed the card's message id (Telegram shows the card a
    moment before that commit)."""
    return (await only_complaint(sessionmaker)).alert_message_id is not None


async def _row_is(
    sessionmaker: async_sessionmaker[AsyncSession], row_id: int, state: str, retried: bool
) -> bool:
    async with sessionmaker() as session:
        row = await session.get_one(OwedMessage, row_id)
        return row.state == state and (row.last_error is not None) == retried


async def test_a_card_whose_answer_came_too_late_is_posted_again_and_replies_work(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    clock: ManualClock,
    room: StaffRoom,
    sessionmaker: async_sessionmaker[AsyncSession],
    agent: StaffMember,
) -> None:
    assert complaint_bot.built is not None
    owed_sender(complaint_bot.built.application).read_timeout = 0.5
    await client.fault(
        {"kind": "late_answer", "method": "sendMessage", "seconds": 1.5, "count": 1,
         "chat_id": care_team.group_id}
    )  # fmt: skip
    _complaint_id, customer = await filed_complaint_no_wait(complaint_bot, client)

    async def two_cards() -> bool:
        return len(await cards(client, care_team)) == 2

    await keep_retrying(clock, two_cards)
    first, second = await cards(client, care_team)

    await wait_until(lambda: card_recorded(sessionmaker))
    complaint = await only_complaint(sessionmaker)
    assert complaint.alert_message_id == second["message_id"], "the card staff work with"
    # A staff reply to the live card reaches the customer.
    sent = await agent.reply_to(second, "We are on it.")
    reply = await client.wait_for_bot_message(customer["id"], timeout=10)
    assert "We are on it." in text_of(reply)
    assert sent["message_id"] > first["message_id"]


async def filed_complaint_no_wait(
    bot: RunningBot, client: SandboxClient
) -> tuple[int, dict[str, Any]]:
    """A filed complaint whose card is owed (not waited for)."""
    from care import complaints, customers
    from handlers.staff_card import owe_card

    assert bot.built is not None
    services = bot.built.services
    user = await client.create_user("Emma", language_code="en")
    now = services.clock.now()
    async with services.sessionmaker.begin() as session:
        identity = customers.TelegramIdentity(
            user_id=user["id"], chat_id=user["id"], first_name="Emma"
        )
        customer, _created = await customers.get_or_create_customer(session, identity, now)
        customers.set_language(customer, "en")
        customers.complete_onboarding(customer, now)
        draft = await complaints.start_draft(session, customer, now)
        complaints.set_category(draft, "product")
        complaints.set_description(draft, "The kettle leaks.")
        filed = await complaints.file_complaint(
            session, draft, services.sla, services.triage, now, services.timezone
        )
        loaded = await complaints.facts(session, filed.id)
        assert loaded is not None
        owe_card(session, loaded, services)
        return filed.id, user


async def test_resolve_while_the_customer_cannot_be_reached_tells_them_later(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    clock: ManualClock,
    room: StaffRoom,
    sessionmaker: async_sessionmaker[AsyncSession],
    agent: StaffMember,
) -> None:
    complaint_id, customer = await filed_complaint(complaint_bot, client)
    number = (await only_complaint(sessionmaker)).number
    card_id = await room.card(sessionmaker, complaint_id)
    await client.fault(
        {"kind": "error", "method": "sendMessage", "status": 500, "count": 8,
         "chat_id": customer["id"]}
    )  # fmt: skip
    answer = await agent.command(f"/resolve {number} Replaced the kettle")
    assert answer == zh(
        "{number} is resolved. The customer will be told, and asked for a rating, as "
        "soon as Telegram accepts the message; the card shows when they were told."
    ).format(number=number)
    await room.wait_card(card_id, lambda m: "⏳" in text_of(m))

    async def rated_offer() -> list[Message]:
        return [
            m for m in await client.bot_messages(customer["id"])
            if "cx:rate:" in str(m.get("reply_markup"))
        ]  # fmt: skip

    async def offered() -> bool:
        return len(await rated_offer()) == 1

    await keep_retrying(clock, offered)
    [resolved] = await rated_offer()
    assert "Replaced the kettle" in text_of(resolved)
    told = zh("✉ Customer told ({when}).").split("（")[0].split("(")[0]
    await room.wait_card(card_id, lambda m: told in text_of(m))
    # Once, and the rating buttons work.
    person = Person(client, customer)
    _answer, thanks = await person.press("⭐⭐⭐⭐⭐", message=resolved)
    assert thanks is not None
    assert (await only_complaint(sessionmaker)).rating == 5


async def test_a_customer_message_reaches_staff_when_the_group_fails_for_a_while(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    clock: ManualClock,
    room: StaffRoom,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, customer = await filed_complaint(complaint_bot, client)
    card_id = await room.card(sessionmaker, complaint_id)
    await client.fault({"kind": "error", "status": 502, "count": 6, "chat_id": care_team.group_id})
    emma = Person(client, customer)
    ack = await emma.say("Any news? I need it by Friday.")
    assert en("Added to your complaint {number}. Our team sees it right away.").split("{")[
        0
    ] in text_of(ack)

    async def relayed() -> bool:
        return any("by Friday" in text_of(m) for m in await client.bot_messages(care_team.group_id))

    await keep_retrying(clock, relayed)
    [relay] = [
        m for m in await client.bot_messages(care_team.group_id) if "by Friday" in text_of(m)
    ]
    assert relay.get("reply_to_message_id") == card_id
    async with sessionmaker() as session:
        notes = (
            await session.scalars(
                select(ComplaintEvent.note).where(
                    ComplaintEvent.type == ComplaintEventType.CUSTOMER_MESSAGE.value
                )
            )
        ).all()
    assert notes == ["Any news? I need it by Friday."], "stored once"
