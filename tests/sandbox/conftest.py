"""Fixtures for the sandbox's own tests: a running sandbox, its control client, raw HTTP."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

TOKEN = "123456:sandbox-test-token"
BOT_ID = 123456


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP to the Bot API as the bot (``await api.post("sendMessage", json=...)``)."""
    async with httpx.AsyncClient(
        base_url=f"{sandbox.bot_base_url}{TOKEN}/", trust_env=False, timeout=10
    ) as http:
        yield http


@pytest.fixture
async def customer(client: SandboxClient) -> dict[str, object]:
    """A customer with a private chat (chat id == user id)."""
    return await client.create_user("小明", language_code="zh-hans")
