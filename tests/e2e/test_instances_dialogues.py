"""Dialogues across several ``carebot run --webhook`` instances on one PostgreSQL database
(issue 14): a customer's registration is a dialogue whose step python-telegram-bot keeps
in the memory of the process that handled the last update, so a chat stays with one
instance (``inbox_chat_owner``), and the instance that takes a chat over from one that
stopped reads the chat's step from the database first.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.inbox_models import InboxChatOwner
from care.models import Customer
from tests.e2e.balancer import balancer
from tests.e2e.processes import sandbox_process, start_carebot, stop, wait_for
from tests.e2e.test_onboarding import asks_consent
from tests.e2e.test_webhook import free_port, listening, webhook_settings
from tests.helpers import Person, text_of

CUSTOMERS = 6


async def owners(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessionmaker() as session:
        rows = await session.execute(select(InboxChatOwner.chat_key, InboxChatOwner.worker_id))
        return {int(chat): worker for chat, worker in rows.all()}


async def test_registration_dialogues_survive_round_robin_and_an_instance_stopping(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share one database on PostgreSQL only")
    log = tmp_path / "carebot.log"
    ports = [free_port() for _ in range(2)]
    async with (
        sandbox_process() as url,
        SandboxClient(url) as client,
        balancer([f"http://127.0.0.1:{port}" for port in ports]) as front,
    ):
        hook = f"{front}/telegram/hook"

        async def start(port: int) -> asyncio.subprocess.Process:
            return await start_carebot(
                url, database_url, log, "--webhook", hook, **webhook_settings(port)
            )

        instances = [await start(ports[0])]
        try:
            await wait_for(lambda: listening(ports[0]), 60, "the first instance", log)
            instances.append(await start(ports[1]))
            await wait_for(lambda: listening(ports[1]), 60, "the second instance", log)
            people = [
                Person(
                    client, await client.create_user(f"Guest{n}", language_code="en"), timeout=30
                )
                for n in range(CUSTOMERS)
            ]
            # Each step goes through the round-robin balancer, so to either instance; the
            # dialogue holds only if each chat's updates are handled where its step is.
            for person in people:
                assert "language" in text_of(await person.say("/start")).lower()
            await asyncio.gather(
                *(person.press("English", edited=asks_consent) for person in people)
            )
            await asyncio.gather(*(person.press("Yes, please") for person in people))
            owned = await owners(sessionmaker)
            assert {person.id for person in people} <= set(owned), "every chat has an owner"
            assert len(set(owned.values())) == 2, "the chats are spread over both instances"

            # The instance that owns the first customer's chat stops (SIGTERM, as in a
            # rolling restart) in the middle of her registration; the other takes her
            # chat over, reads her step from the database and goes on from it.
            first = people[0]
            leaving = owned[first.id]
            pids = {str(instance.pid): instance for instance in instances}
            [stopped] = [pid for pid in pids if f":{pid}:" in leaving]
            await stop(pids[stopped], signal.SIGTERM)
            assert leaving not in set((await owners(sessionmaker)).values()), "given up"
            survivor = next(i for i in instances if str(i.pid) != stopped)
            instances = [survivor]
            for person in people:
                asked_birthday = await person.say("Skip")  # the phone question
                assert "birthday" in text_of(asked_birthday).lower(), text_of(asked_birthday)
                done = await person.say("Skip")
                assert "/profile" in text_of(done), text_of(done)

            moved = await owners(sessionmaker)
            assert moved[first.id] != leaving, "her chat is the other instance's now"
        finally:
            for instance in instances:
                await stop(instance, signal.SIGTERM)
        async with sessionmaker() as session:
            registered = (
                await session.scalars(select(Customer).where(Customer.onboarded_at.is_not(None)))
            ).all()
        assert {c.telegram_user_id for c in registered} == {p.id for p in people}
