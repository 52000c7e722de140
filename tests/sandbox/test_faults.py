"""Planned faults reach python-telegram-bot as the exceptions Telegram's answers cause."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from tests.sandbox.conftest import TOKEN


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    """A PTB Bot talking to the sandbox."""
    async with Bot(
        TOKEN, base_url=sandbox.bot_base_url, base_file_url=sandbox.file_base_url
    ) as running:
        yield running


async def test_blocked_user_is_forbidden_until_unblocked(
    bot: Bot, client: SandboxClient, customer: dict[str, Any]
) -> None:
    chat = customer["id"]
    await client.block(chat)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(chat, "hello?")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(chat, "typing")
    await client.unblock(chat)
    sent = await bot.send_message(chat, "welcome back")
    assert [m["text"] for m in await client.bot_messages(chat)] == ["welcome back"]
    assert sent.chat.id == chat


async def test_unknown_chat_is_a_bad_request(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "anyone?")


async def test_error_fault_hits_the_next_matching_calls_only(
    bot: Bot, client: SandboxClient, customer: dict[str, Any]
) -> None:
    chat = customer["id"]
    other = (await client.create_user("Other"))["id"]
    await client.fault(kind="error", method="sendMessage", status=500, count=2, chat_id=chat)

    await bot.send_message(other, "another chat is not hit")
    for _ in range(2):
        with pytest.raises(NetworkError) as raised:
            await bot.send_message(chat, "x")
        assert "Internal Server Error" in str(raised.value)
    await bot.send_message(chat, "third call passes")

    await client.fault({"kind": "error", "method": "sendMessage", "status": 400})
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(chat, "x")

    log = [(r["method"], r["chat_id"], r["error_code"]) for r in await client.requests()]
    assert log[-5:] == [
        ("sendMessage", other, None),
        ("sendMessage", chat, 500),
        ("sendMessage", chat, 500),
        ("sendMessage", chat, None),
        ("sendMessage", chat, 400),
    ]


async def test_retry_after_fault_raises_retry_after(
    bot: Bot, client: SandboxClient, customer: dict[str, Any]
) -> None:
    await client.fault(kind="retry_after", seconds=7, count=1)
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(customer["id"], "x")
    retry_after = raised.value.retry_after
    seconds = retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) else retry_after
    assert seconds == 7
    await bot.send_message(customer["id"], "passes again")


async def test_delay_fault_makes_client_time_out(
    bot: Bot, client: SandboxClient, customer: dict[str, Any]
) -> None:
    await client.fault(kind="delay", method="sendMessage", seconds=0.6, count=1)
    started = time.monotonic()
    with pytest.raises(TimedOut):
        await bot.send_message(customer["id"], "slow", read_timeout=0.1)
    assert time.monotonic() - started < 0.5
    await bot.send_message(customer["id"], "fast again", read_timeout=2)
    texts = [m["text"] for m in await client.bot_messages(customer["id"])]
    assert "fast again" in texts


async def test_faults_do_not_hit_get_updates_unless_named(
    sandbox: Sandbox, client: SandboxClient, api: httpx.AsyncClient
) -> None:
    await client.fault(kind="error", status=502, count=1)
    assert (await api.post("getUpdates", json={"timeout": 0})).json() == {"ok": True, "result": []}
    assert (await api.post("getMe")).status_code == 502
    await client.fault(kind="error", status=502, count=1, method="getUpdates")
    assert (await api.post("getUpdates", json={"timeout": 0})).status_code == 502


async def test_fault_plan_can_be_listed_and_cleared(client: SandboxClient) -> None:
    await client.fault({"kind": "blocked", "user_id": 5})
    await client.fault(kind="delay", seconds=1, count=3)
    plan = await client.faults()
    assert plan["blocked"] == [5] and plan["faults"][0]["remaining"] == 3
    await client.clear_faults()
    assert await client.faults() == {"blocked": [], "faults": []}


async def test_late_answer_fault_carries_the_call_out_but_answers_late(
    bot: Bot, client: SandboxClient, customer: dict[str, Any]
) -> None:
    await client.fault(kind="late_answer", method="sendMessage", seconds=0.6, count=1)
    with pytest.raises(TimedOut):
        await bot.send_message(customer["id"], "sent all the same", read_timeout=0.1)
    texts = [m["text"] for m in await client.bot_messages(customer["id"])]
    assert texts == ["sent all the same"]


async def test_a_raw_update_is_queued_exactly_as_given(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    update_id = await client.raw_update("message", {"message_id": 1, "poll": {"id": "x"}})
    updates = (await api.post("getUpdates", json={"timeout": 0})).json()["result"]
    assert updates == [{"update_id": update_id, "message": {"message_id": 1, "poll": {"id": "x"}}}]
