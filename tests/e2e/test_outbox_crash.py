"""A crash in the middle of a campaign: nobody gets a message twice.

carebot runs as a real process (``carebot run``) against a sandbox process that keeps
Telegram's limits. It is killed with SIGKILL while it is sending, then started again.
The rows that were in flight at the kill become ``unconfirmed`` (maybe delivered, never
resent); every other row is sent exactly once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care import customers, outbox
from care.models import Campaign, CampaignStatus, Customer, Outbox, OutboxState

TOKEN = "7000000001:crash-test-token"
ROWS = 200
KILL_AFTER_SENDS = 40
CAREBOT = Path(sys.executable).parent / "carebot"


@asynccontextmanager
async def sandbox_process() -> AsyncIterator[str]:
    """``python -m bot.sandbox`` with Telegram's limits on a free port; yields its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox",
        "--port",
        "0",
        "--limits",
        "telegram",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
        url = line.decode().split(": ", 1)[1].strip().rstrip("/")
        assert url.startswith("http://"), line
        yield url
    finally:
        await stop(process, signal.SIGTERM)


async def start_carebot(url: str, database_url: str, log: Path) -> asyncio.subprocess.Process:
    """``carebot run`` on Telegram at ``url``, its output appended to ``log``."""
    environment = {
        **os.environ,
        "CAREBOT_TOKEN": TOKEN,
        "CAREBOT_API_BASE_URL": f"{url}/bot",
        "CAREBOT_DATABASE_URL": database_url,
        "CAREBOT_OUTBOX_CHECK_SECONDS": "0.2",
        "CAREBOT_LOG_LEVEL": "WARNING",
        "CAREBOT_CONFIG": "/nonexistent/carebot.toml",
    }
    with log.open("ab") as output:  # the child keeps its own copy
        return await asyncio.create_subprocess_exec(
            str(CAREBOT),
            "run",
            env=environment,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=output,
        )


async def stop(process: asyncio.subprocess.Process, signum: signal.Signals) -> None:
    if process.returncode is None:
        process.send_signal(signum)
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def wait_for(
    condition: Callable[[], Awaitable[bool]], within: float, what: str, log: Path
) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within} s for {what}; carebot said:\n{tail(log)}")
        await asyncio.sleep(0.05)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


async def count(sessionmaker: async_sessionmaker[AsyncSession], *states: OutboxState) -> int:
    async with sessionmaker() as session:
        found = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.state.in_(states))
        )
        return int(found or 0)


async def plan_campaign(
    client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession], count: int
) -> None:
    """``count`` customers in the sandbox and the database, one campaign row each, due now."""
    now = datetime.now(UTC)
    users = [await client.create_user(f"Guest{n}") for n in range(count)]
    async with sessionmaker.begin() as session:
        campaign = Campaign(
            name="Mid-Autumn",
            texts={"zh_CN": "中秋快乐", "en": "Happy Mid-Autumn"},
            audience={"kind": "all"},
            send_on=date.today(),
            status=CampaignStatus.APPROVED.value,
            created_at=now,
        )
        session.add(campaign)
        for user in users:
            who = customers.TelegramIdentity(user["id"], user["id"], first_name="Guest")
            customer, _ = await customers.get_or_create_customer(session, who, now)
            customers.set_consent(customer, True, now)
        await session.flush()
        session.add_all(
            Outbox(
                customer_id=customer_id,
                campaign_id=campaign.id,
                dedupe_key=f"campaign:{campaign.id}",
                due_at=now,
                state=OutboxState.PENDING.value,
            )
            for customer_id in await session.scalars(select(Customer.id))
        )


async def no_chat_got_a_row_twice(
    client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> list[Outbox]:
    """Check every chat against its row; return the rows."""
    async with sessionmaker() as session:
        rows = list(await session.scalars(select(Outbox)))
        chat_of = {c.id: int(c.chat_id or 0) for c in await session.scalars(select(Customer))}
    for row in rows:
        delivered = await client.bot_messages(chat_of[row.customer_id])
        assert len(delivered) <= 1, f"chat {chat_of[row.customer_id]} got it twice"
        if row.state == OutboxState.SENT:
            assert [m["message_id"] for m in delivered] == [row.telegram_message_id]
    return rows


async def sends(client: SandboxClient) -> list[dict[str, object]]:
    return [r for r in await client.requests() if r["method"] == "sendMessage"]


async def test_a_killed_sender_restarts_and_nobody_gets_a_message_twice(
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    log = tmp_path / "carebot.log"
    async with sandbox_process() as url, SandboxClient(url) as client:
        await plan_campaign(client, sessionmaker, ROWS)

        async def sending_for_a_while() -> bool:
            return len(await sends(client)) >= KILL_AFTER_SENDS

        first = await start_carebot(url, database_url, log)
        try:
            await wait_for(sending_for_a_while, 30, f"{KILL_AFTER_SENDS} sends", log)
        finally:
            await stop(first, signal.SIGKILL)
        in_flight = await count(sessionmaker, OutboxState.SENDING)
        sent_before = await count(sessionmaker, OutboxState.SENT)
        assert sent_before < ROWS, "the kill came too late to test anything"

        second = await start_carebot(url, database_url, log)
        try:

            async def all_settled() -> bool:
                return await count(sessionmaker, OutboxState.PENDING, OutboxState.SENDING) == 0

            await wait_for(all_settled, 40, "every row to be settled", log)
        finally:
            await stop(second, signal.SIGTERM)

        rows = await no_chat_got_a_row_twice(client, sessionmaker)
        by_state = {state: [r for r in rows if r.state == state] for state in OutboxState}
        # What was in flight at the kill, and nothing else, is unconfirmed: at most the
        # sender's one claim of about a second of sending (30 rows at 30/s).
        assert len(by_state[OutboxState.UNCONFIRMED]) == in_flight <= 30
        assert {r.last_error for r in by_state[OutboxState.UNCONFIRMED]} <= {
            outbox.IN_FLIGHT_AT_RESTART
        }
        assert len(by_state[OutboxState.SENT]) == ROWS - in_flight
        assert [r for r in await sends(client) if not r["ok"]] == []  # no 429, before or after


async def test_a_sender_stopped_mid_campaign_leaves_nothing_unconfirmed(
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    log = tmp_path / "carebot.log"
    rows = 120
    async with sandbox_process() as url, SandboxClient(url) as client:
        await plan_campaign(client, sessionmaker, rows)

        async def sending_for_a_while() -> bool:
            return len(await sends(client)) >= KILL_AFTER_SENDS

        first = await start_carebot(url, database_url, log)
        try:
            await wait_for(sending_for_a_while, 30, f"{KILL_AFTER_SENDS} sends", log)
        finally:
            await stop(first, signal.SIGTERM)  # Ctrl-C, a deployment
        assert first.returncode == 0, tail(log)
        # Claimed rows not yet requested went back; requests already out were answered.
        assert await count(sessionmaker, OutboxState.SENDING, OutboxState.UNCONFIRMED) == 0
        assert 0 < await count(sessionmaker, OutboxState.PENDING) < rows

        second = await start_carebot(url, database_url, log)
        try:

            async def all_sent() -> bool:
                return await count(sessionmaker, OutboxState.SENT) == rows

            await wait_for(all_sent, 30, "every row to be sent", log)
        finally:
            await stop(second, signal.SIGTERM)
        assert {r.state for r in await no_chat_got_a_row_twice(client, sessionmaker)} == {
            OutboxState.SENT
        }
