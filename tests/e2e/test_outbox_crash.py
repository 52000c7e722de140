"""A crash in the middle of a campaign: nobody gets a message twice.

carebot runs as a real process (``carebot run``) against a sandbox process that keeps
Telegram's limits. It is killed with SIGKILL while it is sending, then started again.
The rows that were in flight at the kill become ``unconfirmed`` (maybe delivered, never
resent); every other row is sent exactly once.
"""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care import outbox
from care.models import OutboxState
from tests.e2e.processes import (
    count,
    no_chat_got_a_row_twice,
    plan_campaign,
    sandbox_process,
    sends,
    start_carebot,
    stop,
    tail,
    wait_for,
)

ROWS = 200
KILL_AFTER_SENDS = 40


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
