"""Webhook delivery (bot/sandbox/webhook.py): POSTs with the secret header, one chat's
updates in order, retries on errors, getWebhookInfo, and getUpdates refused meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.sandbox.client import SandboxClient


@dataclass
class Receiver:
    """A web server that takes what the sandbox POSTs (failing the first ``fail`` ones)."""

    fail: int = 0
    max_at_once: int = 0
    received: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)
    _at_once: int = 0
    url: str = ""

    async def take(self, request: web.Request) -> web.Response:
        self._at_once += 1
        self.max_at_once = max(self.max_at_once, self._at_once)
        try:
            await asyncio.sleep(0.01)  # long enough for deliveries to overlap
            if self.fail > 0:
                self.fail -= 1
                return web.Response(status=500)
            secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
            self.received.append((secret, await request.json()))
            return web.Response(status=200)
        finally:
            self._at_once -= 1


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    taker = Receiver()
    app = web.Application()
    app.router.add_post("/hook", taker.take)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    taker.url = f"http://127.0.0.1:{port}/hook"
    yield taker
    await runner.cleanup()


async def until(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def call(api: httpx.AsyncClient, method: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = (await api.post(method, json=params)).json()
    return body


async def test_updates_arrive_by_webhook_in_order_per_chat_with_the_secret(
    api: httpx.AsyncClient, client: SandboxClient, receiver: Receiver
) -> None:
    answer = await call(
        api, "setWebhook", url=receiver.url, secret_token="s3cret", max_connections=5
    )
    assert answer == {"ok": True, "result": True}
    users = [await client.create_user(f"Guest{n}") for n in range(8)]
    for n in range(5):
        await asyncio.gather(*(client.send_text(u["id"], u["id"], f"m{n}") for u in users))
    await until(lambda: len(receiver.received) == 40)
    assert {secret for secret, _update in receiver.received} == {"s3cret"}
    for user in users:
        texts = [
            u["message"]["text"]
            for _s, u in receiver.received
            if u["message"]["chat"]["id"] == user["id"]
        ]
        assert texts == [f"m{n}" for n in range(5)], "one chat's updates in order"
    assert 1 < receiver.max_at_once <= 5, "several chats at once, within max_connections"
    info = (await call(api, "getWebhookInfo"))["result"]
    assert info["url"] == receiver.url and info["pending_update_count"] == 0
    assert info["max_connections"] == 5 and "last_error_message" not in info
    refused = await call(api, "getUpdates")
    assert refused["error_code"] == 409, "no getUpdates while a webhook is set"


async def test_a_failed_delivery_is_retried_and_shows_in_the_info(
    api: httpx.AsyncClient, client: SandboxClient, receiver: Receiver
) -> None:
    receiver.fail = 2
    await call(api, "setWebhook", url=receiver.url)
    user = await client.create_user("Anna")
    await client.send_text(user["id"], user["id"], "hello")
    await until(lambda: len(receiver.received) == 1)
    info = (await call(api, "getWebhookInfo"))["result"]
    assert info["pending_update_count"] == 0
    assert "500" in info["last_error_message"] and info["last_error_date"] > 0
    # Deleting the webhook lets getUpdates work again; new updates wait there.
    await call(api, "deleteWebhook")
    await client.send_text(user["id"], user["id"], "again")
    polled = await call(api, "getUpdates")
    assert [u["message"]["text"] for u in polled["result"]] == ["again"]
    assert len(receiver.received) == 1


async def test_a_webhook_needs_an_http_url(api: httpx.AsyncClient) -> None:
    refused = await call(api, "setWebhook", url="ftp://example.invalid/hook")
    assert refused["error_code"] == 400
