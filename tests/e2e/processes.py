"""Whole processes for end-to-end tests: a sandbox (``python -m bot.sandbox``) and
``carebot run`` against it, a campaign due now, and what to check afterwards."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care import customers
from care.models import Campaign, CampaignStatus, Customer, Outbox, OutboxState

TOKEN = "7000000001:crash-test-token"
CAREBOT = Path(sys.executable).parent / "carebot"


@asynccontextmanager
async def sandbox_process(limits: str = "telegram") -> AsyncIterator[str]:
    """``python -m bot.sandbox`` with Telegram's limits (``limits="off"``: none) on a free
    port; yields its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox",
        "--port",
        "0",
        "--limits",
        limits,
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


async def start_carebot(
    url: str, database_url: str, log: Path, *options: str, **settings: str
) -> asyncio.subprocess.Process:
    """``carebot run [OPTIONS]`` on Telegram at ``url``, its output appended to ``log``.

    ``settings`` are more ``CAREBOT_*`` variables, named without the prefix
    (``SEND_PER_SECOND="15"``).
    """
    environment = {
        **os.environ,
        "CAREBOT_TOKEN": TOKEN,
        "CAREBOT_API_BASE_URL": f"{url}/bot",
        "CAREBOT_DATABASE_URL": database_url,
        "CAREBOT_OUTBOX_CHECK_SECONDS": "0.2",
        "CAREBOT_LOG_LEVEL": "WARNING",
        "CAREBOT_CONFIG": "/nonexistent/carebot.toml",
        **{f"CAREBOT_{name}": value for name, value in settings.items()},
    }
    with log.open("ab") as output:  # the child keeps its own copy
        return await asyncio.create_subprocess_exec(
            str(CAREBOT),
            "run",
            *options,
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
    """Poll ``condition`` until it holds; fail after ``within`` seconds, showing ``log``."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within} s for {what}; carebot said:\n{tail(log)}")
        await asyncio.sleep(0.05)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


async def count(sessionmaker: async_sessionmaker[AsyncSession], *states: OutboxState) -> int:
    """How many outbox rows are in any of ``states``."""
    async with sessionmaker() as session:
        found = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.state.in_(states))
        )
        return int(found or 0)


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone (``Etc/GMT-8`` is UTC+8) in which it is 11:00-14:59 now."""
    for offset in range(-12, 15):
        zone = f"Etc/GMT{-offset:+d}"
        if 11 <= now.astimezone(ZoneInfo(zone)).hour < 15:
            return zone
    raise AssertionError("every hour has a zone")


async def plan_campaign(
    client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession], count: int
) -> None:
    """``count`` customers in the sandbox and the database, one campaign row each, due now.

    The customers live where it is about midday now, so the send-time check (their day,
    outside quiet hours) lets every row go whatever the hour the test runs at.
    """
    now = datetime.now(UTC)
    zone = midday_zone(now)
    users = [await client.create_user(f"Guest{n}") for n in range(count)]
    async with sessionmaker.begin() as session:
        campaign = Campaign(
            name="Mid-Autumn",
            texts={"zh_CN": "中秋快乐", "en": "Happy Mid-Autumn"},
            audience={"kind": "all"},
            send_on=now.astimezone(ZoneInfo(zone)).date(),
            status=CampaignStatus.APPROVED.value,
            created_at=now,
        )
        session.add(campaign)
        for user in users:
            who = customers.TelegramIdentity(user["id"], user["id"], first_name="Guest")
            customer, _ = await customers.get_or_create_customer(session, who, now)
            customers.set_consent(customer, True, now)
            customer.timezone = zone
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
    """Every sendMessage the sandbox answered, in order."""
    return [r for r in await client.requests() if r["method"] == "sendMessage"]
