"""SIGTERM, as systemd and every supervisor send it: carebot stops taking updates,
finishes what is in flight and exits 0; a second SIGTERM, or the grace period running
out, stops it at once and puts the owed messages it had in flight back to pending."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.models import OwedMessage, OwedState
from tests.e2e.processes import TOKEN, sandbox_process, start_carebot, stop, tail, wait_for
from tests.helpers import Person, text_of


async def pending_updates(url: str) -> int:
    async with httpx.AsyncClient(trust_env=False) as http:
        info = (await http.post(f"{url}/bot{TOKEN}/getWebhookInfo")).json()["result"]
    return int(info["pending_update_count"])


async def exit_code(process: asyncio.subprocess.Process, within: float, log: Path) -> int:
    try:
        return await asyncio.wait_for(process.wait(), timeout=within)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"carebot still ran {within} s later; it said:\n{tail(log)}") from None


async def test_sigterm_finishes_the_reply_in_flight_and_takes_no_more_updates(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    log = tmp_path / "carebot.log"
    async with sandbox_process() as url, SandboxClient(url) as client:
        anna = Person(client, await client.create_user("Anna", language_code="en"), timeout=30)
        carebot = await start_carebot(url, database_url, log, LOG_LEVEL="INFO")
        try:
            await anna.say("hello")  # carebot is up and answering
            # The next answer takes Telegram 3 s: it is in flight when SIGTERM comes.
            await client.fault(kind="delay", method="sendMessage", chat_id=anna.id, seconds=3)
            # A command: it has an answer of its own (further free texts of a conversation
            # are shown to staff, not answered one by one).
            first = await client.send_text(anna.id, anna.id, "/help")

            async def answering() -> bool:
                # The delay is taken when the answer's sendMessage reaches the sandbox:
                # the update is in hand, not merely fetched into the inbox.
                return (await client.faults())["faults"] == []

            await wait_for(answering, 10, "the answer to be in flight", log)
            carebot.send_signal(signal.SIGTERM)

            async def not_polling() -> bool:
                return "no longer taking updates" in tail(log)

            await wait_for(not_polling, 10, "polling to stop", log)
            second = await client.send_text(anna.id, anna.id, "/start")
            assert await exit_code(carebot, 15, log) == 0
        finally:
            await stop(carebot, signal.SIGKILL)
        transcript = await client.transcript(anna.id)
        after_first = [
            m for m in transcript if m["from"]["is_bot"] and m["message_id"] > first["message_id"]
        ]
        assert len(after_first) == 1, "the answer in flight was finished, the next not taken"
        assert await pending_updates(url) == 1, "the message sent while stopping waits"
        assert "stopped" in tail(log)

        again = await start_carebot(url, database_url, log)
        try:
            reply = await anna.wait_reply(second["message_id"])
            assert "Which language do you prefer?" in text_of(reply)
        finally:
            await stop(again, signal.SIGTERM)


@pytest.mark.parametrize(
    ("how", "options"),
    [("second signal", ()), ("grace over", ()), ("second signal", ("--jobs-only",))],
)
async def test_a_stop_that_cannot_wait_puts_owed_messages_in_flight_back(
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    how: str,
    options: tuple[str, ...],
) -> None:
    if options and not database_url.startswith("postgresql"):
        pytest.skip("--jobs-only needs PostgreSQL")
    log = tmp_path / "carebot.log"
    async with sandbox_process() as url, SandboxClient(url) as client:
        agent = await client.create_user("王丽", language_code="zh-hans")
        group = await client.create_group("Care staff", [agent["id"]])
        # Telegram takes 25 s for this one: longer than anyone wants to wait at a stop.
        await client.fault(kind="delay", method="sendMessage", chat_id=group["id"], seconds=25)
        now = datetime.now(UTC)
        async with sessionmaker.begin() as session:
            row = OwedMessage(
                kind="text", purpose="alert", chat_id=group["id"], text="⏰ SLA",
                created_at=now, due_at=now, state=OwedState.PENDING.value, attempts=0,
            )  # fmt: skip
            session.add(row)
        grace = "1" if how == "grace over" else "30"
        carebot = await start_carebot(
            url, database_url, log, *options, LOG_LEVEL="INFO", STOP_GRACE_SECONDS=grace,
            STAFF_CHAT_ID=str(group["id"]),
        )  # fmt: skip
        try:

            async def on_the_wire() -> bool:
                async with sessionmaker() as session:
                    found = await session.get_one(OwedMessage, row.id)
                    return found.state == OwedState.SENDING.value

            await wait_for(on_the_wire, 20, "the owed message to be sent", log)
            started = time.monotonic()
            carebot.send_signal(signal.SIGTERM)
            if how == "second signal":

                async def stopping() -> bool:
                    return "stopping: no more updates" in tail(log)

                await wait_for(stopping, 10, "the graceful stop to begin", log)
                carebot.send_signal(signal.SIGTERM)
            assert await exit_code(carebot, 20, log) == 0
            assert time.monotonic() - started < 15, "it did not wait for the 25 s request"
        finally:
            await stop(carebot, signal.SIGKILL)
        assert "stopping at once" in tail(log)
        async with sessionmaker() as session:
            found = await session.get_one(OwedMessage, row.id)
        assert found.state == OwedState.PENDING.value, "back to pending, sent at the next start"
