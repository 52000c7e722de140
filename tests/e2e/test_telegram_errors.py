"""Telegram refusing or failing our requests: the customer still gets an answer, or the
failure is bounded and logged, and nothing in the record is lost."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.models import Contact, Customer
from tests.e2e.conftest import PersonFactory
from tests.helpers import RunningBot, text_of, wait_until


async def sends_to(client: SandboxClient, chat_id: int) -> list[dict]:
    return [
        r for r in await client.requests()
        if r["method"] == "sendMessage" and r.get("chat_id") == chat_id
    ]  # fmt: skip


async def test_a_5xx_is_retried_and_the_reply_arrives_once(
    bot: RunningBot, person: PersonFactory, client: SandboxClient
) -> None:
    anna = await person("Anna", language_code="en")
    await client.fault({"kind": "error", "method": "sendMessage", "status": 500, "count": 1})
    greeting = await anna.say("/start")
    assert "Hello Anna" in text_of(greeting)
    attempts = await sends_to(client, anna.id)
    assert [r["ok"] for r in attempts] == [False, True]
    assert len(await anna.bot_messages()) == 1, "exactly one greeting"


async def test_a_429_waits_retry_after_and_then_sends(
    bot: RunningBot, person: PersonFactory, client: SandboxClient
) -> None:
    anna = await person("Anna", language_code="en")
    await client.fault({"kind": "retry_after", "method": "sendMessage", "seconds": 1, "count": 1})
    greeting = await anna.say("/start")
    assert "Hello Anna" in text_of(greeting)
    attempts = await sends_to(client, anna.id)
    assert [r["error_code"] if not r["ok"] else 200 for r in attempts] == [429, 200]


async def test_a_run_of_429s_is_waited_out_not_given_up(
    bot: RunningBot, person: PersonFactory, client: SandboxClient
) -> None:
    # Many customers answered at once meet a run of short 429s: more than the few
    # attempts a 5xx gets, well within the patience a 429 gets (MAX_RETRY_AFTER).
    anna = await person("Anna", language_code="en")
    await client.fault({"kind": "retry_after", "method": "sendMessage", "seconds": 1, "count": 5})
    greeting = await anna.say("/start")
    assert "Hello Anna" in text_of(greeting)
    attempts = await sends_to(client, anna.id)
    assert [r["error_code"] if not r["ok"] else 200 for r in attempts] == [429] * 5 + [200]


async def test_persistent_failure_gives_up_and_loses_nothing(
    bot: RunningBot, person: PersonFactory, client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    await client.fault({"kind": "error", "method": "sendMessage", "status": 502, "count": 100})
    await client.send_text(anna.id, anna.id, "/start")

    async def gave_up() -> bool:
        # 4 attempts for the greeting, then 4 for the apology of the error handler.
        return len(await sends_to(client, anna.id)) >= 8

    await wait_until(gave_up, within=20)
    await client.clear_faults()
    greeting = await anna.say("/start")
    assert "Hello Anna" in text_of(greeting), "the bot is alive and the dialogue can start"
    # An update's contacts are written with its done mark, just after its reply.
    assert bot.built is not None and await bot.built.inbox.drain(10)
    async with sessionmaker() as session:
        customer = await session.scalar(
            select(Customer).where(Customer.telegram_user_id == anna.id)
        )
        assert customer is not None
        inbound = (
            await session.scalars(
                select(Contact.text).where(
                    Contact.customer_id == customer.id, Contact.direction == "in"
                )
            )
        ).all()
    assert inbound == ["/start", "/start"], "both messages are on the record"


async def test_chat_not_found_is_not_retried(
    bot: RunningBot, person: PersonFactory, client: SandboxClient
) -> None:
    anna = await person("Anna", language_code="en")
    await client.fault({
        "kind": "error", "method": "sendMessage", "status": 400, "count": 1,
        "description": "Bad Request: chat not found",
    })  # fmt: skip
    await client.send_text(anna.id, anna.id, "/help")

    async def answered_twice() -> bool:
        # The 400 is final; the error handler's apology is the one that gets through.
        return len(await sends_to(client, anna.id)) >= 2

    await wait_until(answered_twice, within=10)
    attempts = await sends_to(client, anna.id)
    assert [r["ok"] for r in attempts] == [False, True]
    [apology] = await anna.bot_messages()
    assert "something went wrong" in text_of(apology)
