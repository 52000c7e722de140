"""Telegram's rate limits: per chat with bursts, per group per minute, over all chats."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from telegram import Bot
from telegram.error import RetryAfter

from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.client import SandboxClient, SandboxError
from bot.sandbox.limits import RateLimiter
from tests.sandbox.conftest import TOKEN


async def _send(api: httpx.AsyncClient, chat_id: int, text: str = "x") -> httpx.Response:
    return await api.post("sendMessage", json={"chat_id": chat_id, "text": text})


async def test_per_chat_burst_then_429_while_other_chats_pass(
    sandbox: Sandbox, client: SandboxClient, api: httpx.AsyncClient
) -> None:
    await client.set_limits(preset="telegram")
    first = (await client.create_user("A"))["id"]
    second = (await client.create_user("B"))["id"]

    statuses = [(await _send(api, first)).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200], "a burst of 3 is allowed"
    assert 429 in statuses[3:]
    refused = await _send(api, first)
    body = refused.json()
    assert body["error_code"] == 429
    assert body["parameters"]["retry_after"] >= 1
    assert (
        body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"
    )
    assert (await _send(api, second)).status_code == 200, "other chats are not held back"


async def test_ptb_sees_retry_after(sandbox: Sandbox, client: SandboxClient) -> None:
    await client.set_limits(preset="telegram")
    chat = (await client.create_user("A"))["id"]
    async with Bot(TOKEN, base_url=sandbox.bot_base_url) as bot:
        for _ in range(3):
            await bot.send_message(chat, "ok")
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(chat, "too fast")
    retry_after = raised.value.retry_after
    seconds = retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) else retry_after
    assert seconds >= 1


async def test_group_limit_per_minute(client: SandboxClient, api: httpx.AsyncClient) -> None:
    await client.set_limits(preset="telegram", per_chat_per_second=None)
    member = (await client.create_user("Staff"))["id"]
    group = (await client.create_group("Care staff", [member]))["id"]
    statuses = [(await _send(api, group)).status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20
    refused = await _send(api, group)
    assert refused.status_code == 429
    assert refused.json()["parameters"]["retry_after"] >= 2, "a group refills 1 per 3 s"


async def test_global_limit_and_switching_off(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    assert await client.set_limits(preset="telegram") == RateLimits.telegram().as_dict()
    # A small global rate keeps the refill during the test negligible; the 30/s numbers
    # are checked with a fake clock below.
    await client.set_limits(global_per_second=5, per_chat_per_second=None)
    chats = [(await client.create_user(f"U{i}"))["id"] for i in range(6)]
    statuses = [(await _send(api, chat)).status_code for chat in chats]
    assert statuses == [200] * 5 + [429]

    assert (await client.set_limits(preset="off"))["enabled"] is False
    assert all([(await _send(api, chats[0])).status_code == 200 for _ in range(10)])


def test_telegram_global_limit_is_30_per_second() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimits.telegram(), clock=lambda: now[0])
    assert all(limiter.acquire(chat, False) is None for chat in range(30))
    assert limiter.acquire(31, False) == 1
    now[0] += 0.1  # three sends' worth of refill
    assert [limiter.acquire(chat, False) for chat in range(40, 44)] == [None, None, None, 1]


async def test_only_sends_and_edits_count(client: SandboxClient, api: httpx.AsyncClient) -> None:
    await client.set_limits(preset="telegram")
    chat = (await client.create_user("A"))["id"]
    for _ in range(10):
        assert (await api.post("getChat", json={"chat_id": chat})).status_code == 200
        assert (
            await api.post("sendChatAction", json={"chat_id": chat, "action": "typing"})
        ).status_code == 200
    sent = await _send(api, chat, "v1")
    message_id = sent.json()["result"]["message_id"]
    for text in ("v2", "v3"):
        edit = await api.post(
            "editMessageText", json={"chat_id": chat, "message_id": message_id, "text": text}
        )
        assert edit.status_code == 200
    edit = await api.post(
        "editMessageText", json={"chat_id": chat, "message_id": message_id, "text": "v4"}
    )
    assert edit.status_code == 429


def test_token_bucket_refills_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimits.telegram(), clock=lambda: now[0])
    assert [limiter.acquire(1, False) for _ in range(4)] == [None, None, None, 1]
    now[0] += 1.0
    assert limiter.acquire(1, False) is None
    assert limiter.acquire(1, False) == 1
    limiter.limits = RateLimits.off()
    assert all(limiter.acquire(1, False) is None for _ in range(100))


async def test_bad_limit_values_are_refused(client: SandboxClient) -> None:
    with pytest.raises(SandboxError, match="positive"):
        await client.set_limits(per_chat_per_second=-1)
    with pytest.raises(SandboxError, match="unknown"):
        await client.set_limits(per_planet=3)
    assert await client.limits() == RateLimits.off().as_dict()
