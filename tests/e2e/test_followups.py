"""Follow-ups end to end: the planner job plans them days ahead, the sender checks at send
time that their reason still stands.

Complaints are filed with care functions (``filed_complaint``); staff resolve and reopen
them with their commands in the staff group; the bot's clock is the test's
``ManualClock``, moved to the day the planner plans the follow-up and then to the moment
it is due.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care import customers
from care.clock import ManualClock
from care.models import Complaint, ComplaintStatus, Customer, Outbox, OutboxState
from care.templates import TemplateBook
from tests.conftest import CareTeam
from tests.helpers import (
    RunningBot,
    StaffMember,
    StaffRoom,
    filed_complaint,
    text_of,
    utc,
    wait_until,
)

BOOK = TemplateBook.load(None, "zh_CN")


def all_right_now(locale: str, name: str) -> str:
    """The follow-up after a resolution ("is everything all right now?"), as sent."""
    return BOOK.render("followup.after_resolution", locale, {"name": name, "company": "Acme"})


@pytest.fixture
async def care_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, care_team: CareTeam
) -> AsyncIterator[RunningBot]:
    """carebot with a staff group, whose planner and sender look for work five times a
    second; follow-ups after a resolution only (3 days later, the default)."""
    running = RunningBot(
        sandbox,
        database_url,
        clock,
        staff_chat_id=care_team.group_id,
        planner_check_seconds=0.2,
        outbox_check_seconds=0.2,
        followup_after_first_contact_days=None,
        followup_after_purchase_days=None,
        winback_quiet_days=None,
        birthday_greetings=False,
        anniversary_greetings=False,
    )
    await running.start()
    yield running
    await running.stop()


async def complaint_of(
    sessionmaker: async_sessionmaker[AsyncSession], complaint_id: int
) -> Complaint:
    async with sessionmaker() as session:
        return await session.get_one(Complaint, complaint_id)


async def follow_up_rows(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Outbox]:
    async with sessionmaker() as session:
        return {row.dedupe_key: row for row in await session.scalars(select(Outbox))}


async def two_resolved_complaints(
    care_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> tuple[list[int], list[dict[str, Any]], dict[int, str]]:
    """小红 (zh_CN) and Emma (en) each file a complaint, accept care messages, and an agent
    resolves both with /resolve: their complaint ids, sandbox users and numbers."""
    xiaohong_id, xiaohong = await filed_complaint(
        care_bot, client, language="zh_CN", first_name="小红", text="洗衣机漏水"
    )
    emma_id, emma = await filed_complaint(care_bot, client, language="en", first_name="Emma")
    async with sessionmaker.begin() as session:
        for user in (xiaohong, emma):
            customer = await session.scalar(
                select(Customer).where(Customer.telegram_user_id == user["id"])
            )
            assert customer is not None
            customers.set_consent(customer, True, clock.now())
    agent = StaffRoom(client, care_team.group_id).member(care_team.agent)
    numbers = {}
    for complaint_id in (xiaohong_id, emma_id):
        number = (await complaint_of(sessionmaker, complaint_id)).number
        assert number is not None
        numbers[complaint_id] = number
        await agent.command(f"/resolve {number} 已处理")
        complaint = await complaint_of(sessionmaker, complaint_id)
        assert complaint.status == ComplaintStatus.RESOLVED.value
    return [xiaohong_id, emma_id], [xiaohong, emma], numbers


async def test_a_complaint_reopened_before_its_follow_up_is_due_gets_no_all_right_now(
    care_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    agent: StaffMember,
) -> None:
    # 2026-09-24 18:00 in Shanghai: 小红 and Emma each file a complaint; both accept
    # care messages; both are resolved.
    (reopened_id, resolved_id), (xiaohong, emma), numbers = await two_resolved_complaints(
        care_bot, client, care_team, sessionmaker, clock
    )

    # Two days later the planner plans both follow-ups for the third day, 09:00 local.
    clock.set(utc(2026, 9, 26, 10))
    keys = {f"followup:resolution:{reopened_id}", f"followup:resolution:{resolved_id}"}

    async def both_planned() -> bool:
        return keys <= set(await follow_up_rows(sessionmaker))

    await wait_until(both_planned, within=10)
    for key in keys:
        assert (await follow_up_rows(sessionmaker))[key].due_at == utc(2026, 9, 27, 1)

    # 小红 is not happy after all: her complaint is reopened before the follow-up is due.
    await agent.command(f"/reopen {numbers[reopened_id]}")
    complaint = await complaint_of(sessionmaker, reopened_id)
    assert complaint.status == ComplaintStatus.REOPENED.value

    # The follow-ups fall due: Emma is asked whether all is well, 小红 is not.
    clock.set(utc(2026, 9, 27, 1))

    async def both_settled() -> bool:
        rows = await follow_up_rows(sessionmaker)
        return all(
            rows[key].state not in (OutboxState.PENDING, OutboxState.SENDING) for key in keys
        )

    await wait_until(both_settled, within=15)
    rows = await follow_up_rows(sessionmaker)
    withdrawn = rows[f"followup:resolution:{reopened_id}"]
    assert (withdrawn.state, withdrawn.last_error) == ("skipped", "no_longer_applies")
    assert rows[f"followup:resolution:{resolved_id}"].state == "sent"

    asked = await client.wait_for_bot_message(
        emma["id"], lambda m: text_of(m) == all_right_now("en", "Emma"), timeout=10.0
    )
    assert asked is not None
    said_to_xiaohong = [text_of(m) for m in await client.bot_messages(xiaohong["id"])]
    assert all_right_now("zh_CN", "小红") not in said_to_xiaohong
    assert not [text for text in said_to_xiaohong if "现在一切都好吗" in text]


async def test_a_complaint_reopened_and_resolved_again_gets_one_all_right_now_after_that(
    care_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    agent: StaffMember,
) -> None:
    # 2026-09-24 18:00 in Shanghai: 小红 and Emma each file a complaint, resolved at once.
    (xiaohong_id, emma_id), (xiaohong, emma), numbers = await two_resolved_complaints(
        care_bot, client, care_team, sessionmaker, clock
    )
    first = {
        xiaohong_id: f"followup:resolution:{xiaohong_id}",
        emma_id: f"followup:resolution:{emma_id}",
    }
    second = {complaint_id: f"{key}:2" for complaint_id, key in first.items()}

    async def planned(*keys: str) -> bool:
        return set(keys) <= set(await follow_up_rows(sessionmaker))

    async def settled(*keys: str) -> bool:
        rows = await follow_up_rows(sessionmaker)
        return all(
            key in rows and rows[key].state not in (OutboxState.PENDING, OutboxState.SENDING)
            for key in keys
        )

    async def asked(user: dict[str, Any], locale: str, name: str) -> int:
        """How many times the customer was asked whether all is well now."""
        said = [text_of(m) for m in await client.bot_messages(user["id"])]
        return said.count(all_right_now(locale, name))

    # On the 26th both are planned for the 27th, 09:00 local; then both are reopened.
    clock.set(utc(2026, 9, 26, 10))
    await wait_until(lambda: planned(*first.values()), within=10)
    for complaint_id in (xiaohong_id, emma_id):
        await agent.command(f"/reopen {numbers[complaint_id]}")
        complaint = await complaint_of(sessionmaker, complaint_id)
        assert complaint.status == ComplaintStatus.REOPENED.value

    # 小红's is resolved again that evening (20:00 in Shanghai), before the first
    # follow-up is due: hers comes three days after this resolution, on the 29th.
    clock.set(utc(2026, 9, 26, 12))
    await agent.command(f"/resolve {numbers[xiaohong_id]} 换新")

    # The 27th, 09:00: neither is asked (小红's first resolution is over, Emma's open).
    clock.set(utc(2026, 9, 27, 1))
    await wait_until(lambda: settled(*first.values()), within=15)
    rows = await follow_up_rows(sessionmaker)
    for key in first.values():
        assert (rows[key].state, rows[key].last_error) == ("skipped", "no_longer_applies")

    # Emma's is resolved again on the 27th, 20:00 in Shanghai: she is asked on the 30th.
    clock.set(utc(2026, 9, 27, 12))
    await agent.command(f"/resolve {numbers[emma_id]} Replaced")

    clock.set(utc(2026, 9, 28, 10))
    await wait_until(lambda: planned(second[xiaohong_id]), within=10)
    assert (await follow_up_rows(sessionmaker))[second[xiaohong_id]].due_at == utc(2026, 9, 29, 1)

    clock.set(utc(2026, 9, 29, 1))
    await wait_until(lambda: settled(second[xiaohong_id]), within=15)
    await wait_until(lambda: planned(second[emma_id]), within=10)
    clock.set(utc(2026, 9, 30, 1))
    await wait_until(lambda: settled(second[emma_id]), within=15)

    rows = await follow_up_rows(sessionmaker)
    for complaint_id, due in ((xiaohong_id, utc(2026, 9, 29, 1)), (emma_id, utc(2026, 9, 30, 1))):
        row = rows[second[complaint_id]]
        assert (row.state, row.due_at, row.sent_at) == ("sent", due, due)
    assert await asked(xiaohong, "zh_CN", "小红") == 1
    assert await asked(emma, "en", "Emma") == 1
