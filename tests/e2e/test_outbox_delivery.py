"""The outbox sender end to end: carebot's real application sends due rows through a
sandbox that enforces Telegram's rate limits, and answers with the faults Telegram has."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.outbox_jobs import OutboxSender, outbox_sender
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.client import SandboxClient
from care import customers
from care.clock import ManualClock
from care.models import (
    Campaign,
    CampaignStatus,
    Contact,
    Customer,
    Direction,
    Outbox,
    OutboxState,
)
from tests.helpers import RunningBot, text_of, wait_until

FOLLOW_UPS = (
    "followup.after_purchase",
    "followup.after_resolution",
    "followup.after_first_contact",
    "followup.win_back",
    "birthday",
    "anniversary",
)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox that answers 429 like Telegram when a limit is broken."""
    async with Sandbox(limits=RateLimits.telegram()) as running:
        yield running


@pytest.fixture
async def outbox_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, engine: AsyncEngine
) -> AsyncIterator[RunningBot]:
    """carebot whose sender looks for due rows five times a second."""
    running = RunningBot(sandbox, database_url, clock, outbox_check_seconds=0.2)
    await running.start()
    yield running
    await running.stop()


def sender_of(bot: RunningBot) -> OutboxSender:
    assert bot.built is not None
    return outbox_sender(bot.built.application)


@dataclass
class Recipient:
    user_id: int
    customer_id: int
    language: str


async def recipients(
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    count: int,
) -> list[Recipient]:
    """Customers who accept care messages, each with a private chat in the sandbox."""
    found = []
    async with sessionmaker.begin() as session:
        for n in range(count):
            language = "en" if n % 2 else "zh_CN"
            user = await client.create_user(
                f"Guest{n}", language_code="en" if language == "en" else "zh-hans"
            )
            who = customers.TelegramIdentity(user["id"], user["id"], first_name=user["first_name"])
            customer, _ = await customers.get_or_create_customer(
                session, who, clock.now(), language=language
            )
            customers.set_language(customer, language)
            customers.set_consent(customer, True, clock.now())
            await session.flush()
            found.append(Recipient(user["id"], customer.id, language))
    return found


async def a_campaign(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, name: str
) -> int:
    async with sessionmaker.begin() as session:
        campaign = Campaign(
            name=name,
            texts={"zh_CN": f"{name}：中秋快乐", "en": f"{name}: Happy Mid-Autumn"},
            audience={"kind": "all"},
            send_on=date(2026, 9, 24),
            status=CampaignStatus.APPROVED.value,
            created_at=clock.now(),
        )
        session.add(campaign)
        await session.flush()
        return campaign.id


async def plan(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    people: Sequence[Recipient],
    *,
    campaign_id: int | None = None,
    template: str | None = None,
) -> list[int]:
    """Pending rows, due now, one per person: of a campaign or with a template."""
    async with sessionmaker.begin() as session:
        rows = [
            Outbox(
                customer_id=person.customer_id,
                campaign_id=campaign_id,
                rule=template,
                template=template,
                dedupe_key=f"campaign:{campaign_id}" if campaign_id else f"{template}:test",
                due_at=clock.now(),
                state=OutboxState.PENDING.value,
            )
            for person in people
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def rows(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[int, Outbox]:
    async with sessionmaker() as session:
        return {row.id: row for row in await session.scalars(select(Outbox))}


async def settled(sessionmaker: async_sessionmaker[AsyncSession], within: float = 20.0) -> None:
    """Wait until no row is pending or sending."""

    async def nothing_open() -> bool:
        return not [
            row
            for row in (await rows(sessionmaker)).values()
            if row.state in (OutboxState.PENDING, OutboxState.SENDING)
        ]

    await wait_until(nothing_open, within=within, interval=0.1)


async def sends(client: SandboxClient) -> list[dict[str, Any]]:
    return [r for r in await client.requests() if r["method"] == "sendMessage"]


def keeps_per_chat_limit(times: Sequence[float], burst: int = 3, interval: float = 1.0) -> bool:
    """Any ``burst + 1`` messages in a row to one chat span at least ``interval`` (a
    little less, for the sandbox's own timing)."""
    return all(b - a >= interval - 0.02 for a, b in zip(times, times[burst:], strict=False))


async def test_a_campaign_and_follow_ups_arrive_once_each_within_telegrams_limits(
    outbox_bot: RunningBot,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    people = await recipients(client, sessionmaker, clock, 40)
    first = await a_campaign(sessionmaker, clock, "A")
    second = await a_campaign(sessionmaker, clock, "B")
    await plan(sessionmaker, clock, people, campaign_id=first)
    await plan(sessionmaker, clock, people[:12], campaign_id=second)
    busy = people[0]  # nine messages in one chat
    for template in (*FOLLOW_UPS, "mid_autumn"):
        await plan(sessionmaker, clock, [busy], template=template)

    await settled(sessionmaker, within=30)

    everything = await rows(sessionmaker)
    assert len(everything) == 40 + 12 + 7
    assert {row.state for row in everything.values()} == {OutboxState.SENT}
    log = await sends(client)
    assert [r for r in log if not r["ok"]] == []  # not a single 429
    assert len(log) == len(everything)
    by_chat: dict[int, list[float]] = defaultdict(list)
    for request in log:
        by_chat[int(request["chat_id"])].append(request["time"])
    assert all(keeps_per_chat_limit(times) for times in by_chat.values())
    assert len(by_chat[busy.user_id]) == 9
    for person in people:
        texts = [text_of(m) for m in await client.bot_messages(person.user_id)]
        assert len(texts) == len(set(texts)), texts  # nothing twice
        assert ("A: Happy Mid-Autumn" if person.language == "en" else "A：中秋快乐") in texts
    busy_texts = [text_of(m) for m in await client.bot_messages(busy.user_id)]
    assert len(busy_texts) == 9
    # Every message has its Telegram message id on record.
    chat_ids = {m["message_id"] for m in await client.bot_messages(busy.user_id)}
    busy_rows = [r for r in everything.values() if r.customer_id == busy.customer_id]
    assert {r.telegram_message_id for r in busy_rows} == chat_ids
    # And each message is on its customer's record, with that id, once.
    async with sessionmaker() as session:
        logged = (
            await session.execute(
                select(Contact.customer_id, Contact.telegram_message_id, Contact.text).where(
                    Contact.direction == Direction.OUTBOUND.value
                )
            )
        ).all()
    assert len(logged) == len(everything)
    assert sorted((c, m) for c, m, _ in logged) == sorted(
        (r.customer_id, r.telegram_message_id) for r in everything.values()
    )
    assert {t for c, _, t in logged if c == busy.customer_id} == set(busy_texts)


async def test_a_429_pauses_every_send_and_the_message_arrives_once(
    outbox_bot: RunningBot,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    people = await recipients(client, sessionmaker, clock, 6)
    campaign = await a_campaign(sessionmaker, clock, "A")
    await client.fault(kind="retry_after", seconds=2, count=1, method="sendMessage")
    await plan(sessionmaker, clock, people, campaign_id=campaign)

    await settled(sessionmaker)

    everything = await rows(sessionmaker)
    assert {row.state for row in everything.values()} == {OutboxState.SENT}
    assert {row.attempts for row in everything.values()} == {1}  # the 429 used up none
    log = await sends(client)
    [refused] = [r for r in log if not r["ok"]]
    assert refused["error_code"] == 429
    after = [r["time"] for r in log if r["ok"] and r["time"] > refused["time"]]
    assert len(after) >= 1 and min(after) >= refused["time"] + 2.0 - 0.05  # everyone waited
    for person in people:
        assert len(await client.bot_messages(person.user_id)) == 1
    assert sender_of(outbox_bot).stats.rate_limited == 1


async def test_server_errors_are_retried_with_backoff_and_the_message_arrives_once(
    outbox_bot: RunningBot,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    [ann] = await recipients(client, sessionmaker, clock, 1)
    await client.fault(kind="error", status=500, count=2, chat_id=ann.user_id)
    [row_id] = await plan(sessionmaker, clock, [ann], template="followup.after_purchase")

    for attempt in (1, 2):

        async def put_back(attempt: int = attempt) -> bool:
            row = (await rows(sessionmaker))[row_id]
            return row.state == OutboxState.PENDING and row.attempts == attempt

        await wait_until(put_back, within=5)
        row = (await rows(sessionmaker))[row_id]
        assert row.due_at == clock.now() + timedelta(seconds=5 * 2 ** (attempt - 1))
        assert row.last_error is not None and "Internal Server Error" in row.last_error
        clock.advance(timedelta(seconds=5 * 2 ** (attempt - 1)))

    await settled(sessionmaker)
    row = (await rows(sessionmaker))[row_id]
    assert (row.state, row.attempts) == (OutboxState.SENT, 3)
    assert len(await client.bot_messages(ann.user_id)) == 1
    assert [r["error_code"] for r in await sends(client)] == [500, 500, None]


async def test_a_customer_who_blocked_the_bot_is_blocked_and_unreachable_without_retries(
    outbox_bot: RunningBot,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    [ann] = await recipients(client, sessionmaker, clock, 1)
    await client.block(ann.user_id)
    [row_id] = await plan(sessionmaker, clock, [ann], template="birthday")

    await settled(sessionmaker)

    row = (await rows(sessionmaker))[row_id]
    assert row.state == OutboxState.BLOCKED
    assert [r["error_code"] for r in await sends(client)] == [403]
    async with sessionmaker() as session:
        customer = await session.get(Customer, ann.customer_id)
        assert customer is not None and customer.reachable is False


async def test_a_chat_telegram_does_not_know_fails_without_retries(
    outbox_bot: RunningBot,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    [ann] = await recipients(client, sessionmaker, clock, 1)
    await client.fault(kind="error", status=400, chat_id=ann.user_id)
    [row_id] = await plan(sessionmaker, clock, [ann], template="birthday")

    await settled(sessionmaker)

    row = (await rows(sessionmaker))[row_id]
    assert row.state == OutboxState.FAILED
    assert row.last_error is not None and "chat not found" in row.last_error.lower()
    assert [r["error_code"] for r in await sends(client)] == [400]


async def test_a_send_that_times_out_is_unconfirmed_and_never_resent(
    outbox_bot: RunningBot,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    sender_of(outbox_bot).send_timeout = 0.5
    slow, fine = await recipients(client, sessionmaker, clock, 2)
    await client.fault(kind="delay", seconds=1.5, chat_id=slow.user_id, method="sendMessage")
    slow_row, fine_row = await plan(sessionmaker, clock, [slow, fine], template="birthday")

    await settled(sessionmaker)
    # Past the sandbox's delay, and ten more ticks of the sender: nothing is sent again.
    await asyncio.sleep(2.0)
    everything = await rows(sessionmaker)
    timed_out = everything[slow_row]
    assert (timed_out.state, timed_out.attempts) == (OutboxState.UNCONFIRMED, 1)
    assert "timed out" in str(timed_out.last_error)
    assert sender_of(outbox_bot).stats.sent == 1  # only the other one
    assert everything[fine_row].state == OutboxState.SENT
    # The delayed request took the fault; no other one reached the sandbox. (The sandbox
    # logs a request when it answers, and drops one whose client has gone.)
    assert (await client.faults())["faults"] == []
    assert len([r for r in await sends(client) if r["chat_id"] == slow.user_id]) <= 1
    assert len(await client.bot_messages(slow.user_id)) <= 1  # maybe delivered


async def test_a_customer_who_opted_out_after_planning_is_skipped(
    outbox_bot: RunningBot,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    stays, leaves = await recipients(client, sessionmaker, clock, 2)
    campaign = await a_campaign(sessionmaker, clock, "A")
    async with sessionmaker.begin() as session:
        # Planned, then the customer says /stop before the sender gets to it.
        rows_ = [
            Outbox(
                customer_id=person.customer_id,
                campaign_id=campaign,
                dedupe_key=f"campaign:{campaign}",
                due_at=clock.now() + timedelta(minutes=1),
                state=OutboxState.PENDING.value,
            )
            for person in (stays, leaves)
        ]
        session.add_all(rows_)
        customer = await session.get(Customer, leaves.customer_id)
        assert customer is not None
        customers.set_consent(customer, False, clock.now())
    clock.advance(timedelta(minutes=1))

    await settled(sessionmaker)

    states = {row.customer_id: row for row in (await rows(sessionmaker)).values()}
    assert states[stays.customer_id].state == OutboxState.SENT
    skipped = states[leaves.customer_id]
    assert (skipped.state, skipped.last_error) == (OutboxState.SKIPPED, "opted_out")
    assert [r["chat_id"] for r in await sends(client)] == [stays.user_id]
    assert await client.bot_messages(leaves.user_id) == []
