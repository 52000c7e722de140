"""Webhook delivery, as Telegram does it: once ``setWebhook`` names a URL, queued updates
are POSTed there (JSON, with ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set),
up to ``max_connections`` at once. One chat's updates go one at a time, in order: the
next is sent once the previous was answered 2xx (Telegram's Bot API server keeps a queue
per chat). A non-2xx answer or a timeout is retried with growing pauses and shows in
``getWebhookInfo`` (``last_error_date``, ``last_error_message``); an update leaves the
queue (``pending_update_count``) only when answered 2xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:
    from bot.sandbox.state import World

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REQUEST_TIMEOUT = 10.0
FIRST_RETRY = 0.2
LAST_RETRY = 5.0


@dataclass
class WebhookSettings:
    """What ``setWebhook`` set."""

    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    in_flight: set[int] = field(default_factory=set)  # update ids on the wire


def chat_of(update: dict[str, Any]) -> int | None:
    """The chat an update belongs to (else its user): its delivery queue."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        for holder in (value, value.get("message")):
            if isinstance(holder, dict) and isinstance(holder.get("chat"), dict):
                return int(holder["chat"]["id"])
        for who in ("from", "user"):
            if isinstance(value.get(who), dict):
                return int(value[who]["id"])
    return None


class WebhookDelivery:
    """POST the world's queued updates to its webhook until the webhook is deleted."""

    def __init__(self, world: World, settings: WebhookSettings) -> None:
        self._world = world
        self.settings = settings
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._retry_at: dict[int, float] = {}
        self._pause: dict[int, float] = {}
        self._requests: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="sandbox webhook delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for request in list(self._requests):
            request.cancel()
        await asyncio.gather(*self._requests, return_exceptions=True)
        self.settings.in_flight.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        self._session = aiohttp.ClientSession(timeout=timeout)
        loop = asyncio.get_running_loop()
        while self._world.webhook_url == self.settings.url and not self._world.closed:
            now = loop.time()
            busy_chats: set[int] = set()
            next_retry = 1.0
            for update_id, update in list(self._world.updates):
                chat = chat_of(update)
                if update_id in self.settings.in_flight:
                    if chat is not None:
                        busy_chats.add(chat)
                    continue
                if chat is not None and chat in busy_chats:
                    continue  # an earlier update of this chat is not answered yet
                if chat is not None:
                    busy_chats.add(chat)
                if len(self.settings.in_flight) >= self.settings.max_connections:
                    break
                retry_at = self._retry_at.get(update_id, 0.0)
                if retry_at > now:
                    next_retry = min(next_retry, retry_at - now)
                    continue
                self.settings.in_flight.add(update_id)
                request = asyncio.create_task(self._post(update_id, update))
                self._requests.add(request)
                request.add_done_callback(self._requests.discard)
            await self._world.new_updates.wait(next_retry)

    async def _post(self, update_id: int, update: dict[str, Any]) -> None:
        assert self._session is not None
        headers = {}
        if self.settings.secret_token:
            headers[SECRET_HEADER] = self.settings.secret_token
        error: str | None = None
        try:
            async with self._session.post(self.settings.url, json=update, headers=headers) as r:
                if not 200 <= r.status < 300:
                    error = f"Wrong response from the webhook: {r.status} {r.reason}"
        except TimeoutError:
            error = "Timeout expired"
        except aiohttp.ClientError as exc:
            error = f"Connection failed: {type(exc).__name__}"
        finally:
            self.settings.in_flight.discard(update_id)
        if error is None:
            self._retry_at.pop(update_id, None)
            self._pause.pop(update_id, None)
            self._world.confirm_update(update_id)
        else:
            pause = min(self._pause.get(update_id, FIRST_RETRY / 2) * 2, LAST_RETRY)
            self._pause[update_id] = pause
            self._retry_at[update_id] = asyncio.get_running_loop().time() + pause
            self.settings.last_error_date = int(self._world.clock())
            self.settings.last_error_message = error
        self._world.new_updates.bump()
