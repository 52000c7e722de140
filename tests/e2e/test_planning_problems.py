"""Planning never stops for one customer's data (issue 9, items 1 and 4).

The planner job plans birthdays and follow-ups, then drafts campaigns for the occasions
ahead and posts their cards in the staff group. A lunar birthday that falls in no day of
the year (冬月二十 in 2028) used to stop it with an AssertionError before the drafts: no
card for Christmas, no other birthday. Whatever fails for one customer is now logged
with their id, named in /followups with the reason, and the others are planned.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care import followups
from care.clock import ManualClock
from care.models import Customer, Outbox
from handlers.buttons import CampaignAction
from tests.conftest import CareTeam
from tests.e2e.test_campaigns import add_customer, callback_data, utc, zh
from tests.helpers import RunningBot, StaffMember, text_of, wait_until

# The buttons of the first campaign's card.
APPROVE_FIRST = CampaignAction("approve", 1).pack()


@pytest.fixture
async def planner_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, care_team: CareTeam
) -> AsyncIterator[RunningBot]:
    """carebot with a staff group whose planner runs every 0.2 s (started by the test)."""
    running = RunningBot(
        sandbox,
        database_url,
        clock,
        staff_chat_id=care_team.group_id,
        planner_check_seconds=0.2,
        outbox_check_seconds=60,
    )
    yield running
    await running.stop()


async def keys_of(sessionmaker: async_sessionmaker[AsyncSession], customer_id: int) -> set[str]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(Outbox).where(Outbox.customer_id == customer_id))
        return {row.dedupe_key for row in rows}


async def test_a_lunar_birthday_the_year_lacks_stops_neither_birthdays_nor_drafts(
    planner_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    # 2028-12-22, 10:00 in Shanghai: 冬月初七, Christmas in three days.
    clock.set(utc(2028, 12, 22, 2))
    await add_customer(
        client, sessionmaker, clock, "冬月", birthday_calendar="lunar", birthday_month=11,
        birthday_day=20,
    )  # fmt: skip
    _, tomorrow_id = await add_customer(
        client, sessionmaker, clock, "明天", birthday_calendar="solar", birthday_month=12,
        birthday_day=23,
    )  # fmt: skip
    await planner_bot.start()

    card = await client.wait_for_bot_message(
        care_team.group_id,
        lambda m: APPROVE_FIRST in callback_data(m),
        timeout=10.0,
    )
    assert zh("📣 Campaign #{id}: {title} (drafted automatically)").format(
        id=1, title="圣诞节 2028"
    ) in text_of(card)

    async def birthday_planned() -> bool:
        return await keys_of(sessionmaker, tomorrow_id) == {"birthday:2028"}

    await wait_until(birthday_planned)


async def test_a_customer_the_planner_fails_on_is_named_in_followups(
    planner_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    supervisor: StaffMember,
) -> None:
    # 2026-09-24: both birthdays are tomorrow; one customer's cannot be computed (a
    # stand-in for any bug in the calendar code, such as the AssertionError above).
    _, broken_id = await add_customer(
        client, sessionmaker, clock, "坏数据", birthday_calendar="solar", birthday_month=9,
        birthday_day=25,
    )  # fmt: skip
    _, fine_id = await add_customer(
        client, sessionmaker, clock, "好数据", birthday_calendar="solar", birthday_month=9,
        birthday_day=25,
    )  # fmt: skip
    real = followups.birthdays_in

    def birthdays_in(customer: Customer, year: int) -> list[Any]:
        if customer.id == broken_id:
            raise ValueError("day is out of range for month")
        return real(customer, year)

    monkeypatch.setattr(followups, "birthdays_in", birthdays_in)
    with caplog.at_level(logging.ERROR, logger="care.followups"):
        await planner_bot.start()

        async def planned() -> bool:
            return await keys_of(sessionmaker, fine_id) == {"birthday:2026"}

        await wait_until(planned)
    assert await keys_of(sessionmaker, broken_id) == {"not_planned:birthday:2026-09-24"}
    assert f"planning birthday for customer {broken_id} failed: skipped (ValueError)" in (
        caplog.text
    )
    assert "坏数据" not in caplog.text

    lines = (await supervisor.command("/followups")).splitlines()
    assert (
        zh(
            "⚠️ Not planned, because of an error with the customer's data (the log has it "
            "under the customer's id); the others were planned:"
        )
        in lines
    )
    assert (
        zh("· {name} (customer {id}): {rule}, last tried {at}").format(
            name="坏数据", id=broken_id, rule=zh("birthday greetings"), at="2026-09-24 18:00"
        )
        in lines
    )
    # The other customer's greeting is counted as usual; the failure is no message.
    assert f"· {zh('birthday greetings')}: {zh('pending')}: 1" in lines


async def test_drafts_are_made_even_when_planning_follow_ups_fails_as_a_whole(
    planner_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 2026-09-24: Mid-Autumn is tomorrow. A failure of the whole of the greetings and
    # follow-ups (a database error, say) used to end the planner's run before the drafts.
    async def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(followups, "plan_personal_and_followups", broken)
    with caplog.at_level(logging.ERROR, logger="handlers.campaigns"):
        await planner_bot.start()
        card = await client.wait_for_bot_message(
            care_team.group_id,
            lambda m: APPROVE_FIRST in callback_data(m),
            timeout=10.0,
        )
    assert "中秋节 2026" in text_of(card)
    assert "planning greetings and follow-ups failed" in caplog.text
