"""The durable inbox (bot/inbox.py) in one process: a repeated delivery is a no-op, a
failing handler is tried again and then parked, and ops settle parked updates with
``carebot inbox list|retry|drop``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import MessageHandler, filters

from bot.inbox import Arrival
from bot.sandbox import Sandbox
from care.clock import ManualClock
from care.inbox_models import InboxState, InboxUpdate
from tests.bot.test_cli import Carebot, carebot  # noqa: F401  (the fixture)
from tests.e2e.conftest import PersonFactory
from tests.helpers import RunningBot, text_of, wait_until


@pytest.fixture
async def fragile_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, engine: object
) -> AsyncIterator[RunningBot]:
    """carebot whose handlers fail on "boom" (until ``mended``), with two attempts."""
    running = RunningBot(sandbox, database_url, clock, inbox_max_attempts=2)
    built = await running.start()
    running.mended = False  # type: ignore[attr-defined]

    async def explode(update: Update, context: object) -> None:
        if not running.mended:  # type: ignore[attr-defined]
            raise RuntimeError("the handler broke")

    # A group of its own, before all of carebot's (only one handler of a group runs).
    built.application.add_handler(MessageHandler(filters.Regex("^boom$"), explode), group=-10)
    yield running
    await running.stop()


async def state_of(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[int, InboxUpdate]:
    async with sessionmaker() as session:
        return {row.update_id: row for row in await session.scalars(select(InboxUpdate))}


async def test_a_repeated_delivery_is_handled_once(
    bot: RunningBot, person: PersonFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person("Anna", language_code="en")
    await anna.say("/help")
    assert bot.built is not None
    (row,) = (await state_of(sessionmaker)).values()
    await bot.built.inbox.accept([Arrival(row.update_id, row.chat_key, row.payload)])
    assert await bot.built.inbox.drain(10)
    assert [r.state for r in (await state_of(sessionmaker)).values()] == ["done"]
    assert len(await anna.bot_messages()) == 1, "answered once"


async def test_a_failing_update_is_tried_again_then_parked_and_ops_retry_it(
    fragile_bot: RunningBot,
    person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    carebot: Carebot,  # noqa: F811
) -> None:
    anna = await person("Anna", language_code="en")
    await anna.client.send_text(anna.id, anna.id, "boom")

    async def parked() -> bool:
        rows = (await state_of(sessionmaker)).values()
        return any(r.state == InboxState.PARKED.value for r in rows)

    await wait_until(parked, within=15)
    (row,) = (await state_of(sessionmaker)).values()
    assert row.attempts == 2 and "the handler broke" in (row.last_error or "")
    # The chat goes on after a parked update.
    assert "help" in text_of(await anna.say("/help")).lower()
    listed = await carebot("inbox", "list")
    assert str(row.update_id) in listed.output and "the handler broke" in listed.output

    fragile_bot.mended = True  # type: ignore[attr-defined]
    retried = await carebot("inbox", "retry", str(row.update_id))
    assert "1 of 1" in retried.output

    async def handled() -> bool:
        return (await state_of(sessionmaker))[row.update_id].state == InboxState.DONE.value

    await wait_until(handled, within=10)
    assert "No parked updates" in (await carebot("inbox", "list")).output
    dropped = await carebot("inbox", "drop", str(row.update_id))
    assert "0 of 1" in dropped.output, "only parked updates are dropped"
