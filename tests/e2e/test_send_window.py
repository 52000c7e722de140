"""Right day, right hour, end to end: the bot was down past the send window.

A Mid-Autumn campaign is approved the day before, for 09:00 in each customer's zone,
and the bot is down until 22:00 in Shanghai on the day. When it comes back, the
greeting is too late for the customer in Shanghai (skipped, never sent at 22:00), goes
out to the one in New York (10:00 there), and waits for 08:00 for the one who moved to
Pago Pago (03:00 there). A birthday greeting due at 09:00 is too late too; a follow-up
due that day waits for the next morning, within its grace. Campaign status and
/followups say so, in Chinese (the staff group) and in English (a private chat).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care import campaigns, customers
from care.clock import ManualClock
from care.engine import SendWindow
from care.models import Campaign, Customer, Outbox, OutboxState
from care.outbox import SkipReason
from handlers.i18n import gettext_in
from tests.conftest import CareTeam
from tests.helpers import RunningBot, StaffMember, text_of, wait_until

MID_AUTUMN = date(2026, 9, 25)
TOO_LATE_WORDS = (
    "too late: its day (or a follow-up's grace days) had passed in the customer's time "
    "zone, or only quiet hours were left"
)


async def customer(
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    name: str,
    language: str,
    timezone: str,
) -> tuple[int, int]:
    """A customer who accepts care messages, in ``timezone``: (Telegram id, customer id)."""
    user = await client.create_user(name, language_code="en" if language == "en" else "zh-hans")
    async with sessionmaker.begin() as session:
        who = customers.TelegramIdentity(user["id"], user["id"], first_name=name)
        found, _ = await customers.get_or_create_customer(session, who, clock.now(), language)
        customers.set_language(found, language)
        customers.set_consent(found, True, clock.now())
        found.timezone = timezone
        await session.flush()
        return user["id"], found.id


@pytest.fixture
async def late_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, care_team: CareTeam
) -> AsyncIterator[RunningBot]:
    """carebot, not started yet: the test starts it after the outage."""
    running = RunningBot(
        sandbox,
        database_url,
        clock,
        staff_chat_id=care_team.group_id,
        outbox_check_seconds=0.2,
        timezone="Asia/Shanghai",
    )
    yield running
    await running.stop()


async def states(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[tuple[int, str], Outbox]:
    """Every outbox row by customer and what it is (``campaign`` or its rule)."""
    async with sessionmaker() as session:
        return {
            (row.customer_id, "campaign" if row.campaign_id else str(row.rule)): row
            for row in await session.scalars(select(Outbox))
        }


async def test_after_an_outage_greetings_are_skipped_too_late_or_wait_for_the_morning(
    late_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    admin: StaffMember,
) -> None:
    clock.set(datetime(2026, 9, 24, 10, 0, tzinfo=UTC))
    mei_user, mei = await customer(client, sessionmaker, clock, "美", "zh_CN", "Asia/Shanghai")
    sam_user, sam = await customer(client, sessionmaker, clock, "Sam", "en", "America/New_York")
    tala_user, tala = await customer(client, sessionmaker, clock, "Tala", "en", "Asia/Shanghai")
    async with sessionmaker.begin() as session:
        campaign = await campaigns.create_campaign(
            session, "Mid-Autumn 2026", "mid_autumn", None, {"kind": "all"}, MID_AUTUMN,
            SendWindow(), clock.now(),
        )  # fmt: skip
        assert await campaigns.approve(session, campaign, None, clock.now(), "Asia/Shanghai") == 3
        campaign_id = campaign.id
        # Tala moves to Pago Pago (UTC−11) after the campaign was planned.
        moved = await session.get(Customer, tala)
        assert moved is not None
        moved.timezone = "Pacific/Pago_Pago"
        # Mei's birthday greeting and a follow-up to her purchase of 18 September, both
        # due at 09:00 in Shanghai on Mid-Autumn day.
        due = datetime(2026, 9, 25, 1, 0, tzinfo=UTC)
        session.add_all(
            [
                Outbox(customer_id=mei, rule="birthday", template="birthday",
                       dedupe_key="birthday:2026", due_at=due, state=OutboxState.PENDING.value),
                Outbox(customer_id=mei, rule="after_purchase",
                       template="followup.after_purchase", dedupe_key="followup:purchase:1",
                       event_at=datetime(2026, 9, 18, 3, 0, tzinfo=UTC), due_at=due,
                       state=OutboxState.PENDING.value),
            ]
        )  # fmt: skip

    # The bot comes back at 22:00 in Shanghai on Mid-Autumn day.
    clock.set(datetime(2026, 9, 25, 14, 0, tzinfo=UTC))
    await late_bot.start()

    async def decided() -> bool:
        rows = (await states(sessionmaker)).values()
        return not [row for row in rows if row.state == OutboxState.SENDING.value] and all(
            row.state != OutboxState.PENDING.value or row.due_at > clock.now() for row in rows
        )

    await wait_until(decided, within=15)
    rows = await states(sessionmaker)
    skipped = (OutboxState.SKIPPED.value, SkipReason.TOO_LATE.value)
    assert (rows[mei, "campaign"].state, rows[mei, "campaign"].last_error) == skipped
    assert rows[sam, "campaign"].state == OutboxState.SENT.value
    assert rows[tala, "campaign"].state == OutboxState.PENDING.value
    assert rows[tala, "campaign"].due_at == datetime(2026, 9, 25, 19, 0, tzinfo=UTC)  # 08:00
    birthday, follow_up = rows[mei, "birthday"], rows[mei, "after_purchase"]
    assert (birthday.state, birthday.last_error) == skipped
    assert follow_up.state == OutboxState.PENDING.value
    assert follow_up.due_at == datetime(2026, 9, 26, 0, 0, tzinfo=UTC)  # 08:00 tomorrow
    assert follow_up.attempts == 0  # waiting uses up no attempt
    assert await client.bot_messages(mei_user) == []
    assert len(await client.bot_messages(sam_user)) == 1
    assert await client.bot_messages(tala_user) == []

    # 08:00 in Pago Pago: Tala's greeting goes out, still on Mid-Autumn day there.
    clock.set(datetime(2026, 9, 25, 19, 0, tzinfo=UTC))
    tala_messages = await client.wait_for_bot_messages(tala_user, 1, timeout=10.0)
    assert "Mid-Autumn" in text_of(tala_messages[0])
    # 08:00 in Shanghai the next day: the follow-up, within its grace.
    clock.set(datetime(2026, 9, 26, 0, 0, tzinfo=UTC))
    await client.wait_for_bot_messages(mei_user, 1, timeout=10.0)
    await wait_until(lambda: _sent(sessionmaker, follow_up.id), within=10)

    # Campaign status, in the staff group (zh_CN) and in the admin's private chat (en).
    for ask, locale in ((admin.command, "zh_CN"), (admin.command_in_private, "en")):
        lines = (await ask(f"/campaign status {campaign_id}")).splitlines()

        def words(message: str, locale: str = locale) -> str:
            return gettext_in(locale, message)

        assert f"· {words('sent')}: 2" in lines
        assert f"· {words('skipped at send time')}: 1" in lines
        assert f"   – {words(TOO_LATE_WORDS)}: 1" in lines
        report = (await ask("/followups")).splitlines()
        assert f"   – {words(TOO_LATE_WORDS)}: 1" in report
    assert gettext_in("zh_CN", TOO_LATE_WORDS) != TOO_LATE_WORDS  # translated


async def _sent(sessionmaker: async_sessionmaker[AsyncSession], row_id: int) -> bool:
    async with sessionmaker() as session:
        row = await session.get(Outbox, row_id)
        return row is not None and row.state == OutboxState.SENT.value


async def test_a_campaign_at_a_quiet_hour_or_for_a_past_day_is_refused_with_the_reason(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    admin: StaffMember,
) -> None:
    """``/campaign new mid_autumn 22:00`` used to move every greeting to 08:00 the day
    after Mid-Autumn, silently; a day that had passed was accepted and sent today."""
    quiet = {"time": "22:00", "quiet_start": "21:00", "quiet_end": "08:00"}
    quiet_words = (
        "{time} is inside the quiet hours ({quiet_start}–{quiet_end}), when no care messages "
        "are sent: every greeting would wait until {quiet_end}, for an evening time the next "
        "morning, after the day. Choose a time from {quiet_end} to {quiet_start}, e.g. 09:00."
    )
    past_words = (
        "{day} is already over (today is {today}): its greetings would arrive a day or more "
        "late. Choose today or a day to come."
    )
    # The clock stands on 2026-09-24, 18:00 in Shanghai.
    for ask, locale in ((admin.command_in_private, "en"), (admin.command, "zh_CN")):
        answer = await ask("/campaign new mid_autumn 22:00")
        assert answer == gettext_in(locale, quiet_words).format(**quiet)
        answer = await ask("/campaign new text 2026-09-23 Hello!")
        assert answer == gettext_in(locale, past_words).format(day="2026-09-23", today="2026-09-24")
    # An edit to an evening hour is refused the same way.
    await admin.command_in_private("/campaign new mid_autumn")
    # (Its preview reads as a customer would read it, not as "亲爱的{name}".)
    preview = await admin.command_in_private("/campaign preview 1")
    assert "{name}" not in preview and "亲爱的小明" in preview and "Alex" in preview
    answer = await admin.command_in_private("/campaign edit 1 21:30")
    assert answer == gettext_in("en", quiet_words).format(**{**quiet, "time": "21:30"})
    async with sessionmaker() as session:
        [campaign] = (await session.scalars(select(Campaign))).all()
    assert (campaign.send_on, campaign.send_at_local) == (MID_AUTUMN, "09:00")
