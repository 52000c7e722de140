"""Two carebot processes at once on one PostgreSQL database: nobody gets a message twice.

Two ``carebot run`` processes with the same token and the same database, as during a
rolling deployment, or one ``carebot run`` and one ``carebot run --jobs-only`` (which
sends but receives no updates: how to send faster), send one campaign together against
a sandbox process that keeps Telegram's limits. Claims (``FOR UPDATE SKIP LOCKED``)
give each row to one of them; a process starting while the other has rows in flight
leaves those rows alone (it takes them for a dead process's only when that process is
gone). With ``--jobs-only``, only the first process polls: nobody gets 409 Conflict.

So that the test proves something, both processes must send: each keeps half of
Telegram's 30/s (``CAREBOT_SEND_PER_SECOND=15``, as two processes should be set up),
so each claims only 15 rows (a second of its sending) at a time, and the campaign
takes one process alone 20 s: far longer than the other needs to start.
"""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
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

ROWS = 300
# Each process's share of Telegram's 30 messages a second.
SHARE_PER_SECOND = "15"


@pytest.mark.parametrize(
    "second", [(), ("--jobs-only",)], ids=["two-run-processes", "run-and-jobs-only"]
)
async def test_two_processes_send_one_campaign_together_and_nobody_gets_it_twice(
    second: tuple[str, ...],
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite is the single-process embedded default: one carebot per database")
    log = tmp_path / "carebot.log"
    async with sandbox_process() as url, SandboxClient(url) as client:
        await plan_campaign(client, sessionmaker, ROWS)
        processes = [
            await start_carebot(url, database_url, log, *options, SEND_PER_SECOND=SHARE_PER_SECOND)
            for options in ((), second)
        ]
        try:

            async def every_row_final() -> bool:
                return await count(sessionmaker, OutboxState.PENDING, OutboxState.SENDING) == 0

            await wait_for(every_row_final, 120, "every row to be final", log)
        finally:
            for process in processes:
                await stop(process, signal.SIGTERM)
        assert [p.returncode for p in processes] == [0, 0], tail(log)

        # One copy of the message in every chat, and that is the row's message.
        rows = await no_chat_got_a_row_twice(client, sessionmaker)
        assert len(rows) == ROWS
        assert Counter(row.state for row in rows) == {OutboxState.SENT: ROWS}
        answered = await sends(client)
        assert len(answered) == ROWS
        assert [r for r in answered if not r["ok"]] == []  # no 429: the two shares keep 30/s
        # Both sent: the worker id on each row is host:pid:random.
        senders = Counter(str(row.claimed_by).split(":")[-2] for row in rows)
        assert set(senders) == {str(p.pid) for p in processes}, senders
        if second:
            # Only one process polled: Telegram answers a second poller 409 Conflict.
            assert "Conflict" not in log.read_text(), tail(log)
            assert "scheduled work" in log.read_text()
