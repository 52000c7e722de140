"""Webhook mode: Telegram POSTs each update to us; we answer 200 once it is in the inbox.

An aiohttp server (aiohttp is already carebot's, for the sandbox; PTB's own webhook
server, on tornado, answers 200 before anything is stored, so it cannot keep the
inbox's promise). Three routes:

- ``POST <the webhook URL's path>``: an update. The ``X-Telegram-Bot-Api-Secret-Token``
  header must be ``CAREBOT_WEBHOOK_SECRET`` (else 401, logged without the token); the
  update is committed to the inbox before the 200 (a database failure answers 500, and
  Telegram delivers the update again).
- ``GET /healthz``: 200 when the database answers, with the age of the last update
  this process received; 503 when it does not.
- ``GET /metrics``: Prometheus text (``bot.metrics``).

Several instances behind a load balancer share the inbox (PostgreSQL). Which of them
sets the webhook: :func:`ensure_webhook`, once per change.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot, Update
from telegram.ext import Application

from bot.delivery import storable_update
from bot.group_commit import CommitFailed
from bot.inbox import Arrival, Inbox, arrival_of
from bot.metrics import Metrics
from bot.outbox_jobs import SENDER_KEY, OutboxSender
from care import locks

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are small; a larger body is no update.
MAX_BODY = 1024 * 1024


class WebhookServer:
    """The HTTP side of webhook mode (see the module docstring)."""

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        inbox: Inbox,
        application: Application,
        sessionmaker: async_sessionmaker[AsyncSession],
        metrics: Metrics,
        listen: str,
        port: int,
    ) -> None:
        self._path = urlsplit(url).path or "/"
        self._secret = secret.encode()
        self._inbox = inbox
        self._application = application
        self._sessionmaker = sessionmaker
        self._metrics = metrics
        self._listen = listen
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # the port it listens on, once started

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self._path, self._receive)
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._metrics_page)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._listen, self._port)
        await site.start()
        server = site._server  # aiohttp keeps the bound socket there
        sockets = getattr(server, "sockets", None) or ()
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        log.info("webhook: listening on %s:%s%s", self._listen, self.port, self._path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None or not hmac.compare_digest(given.encode(), self._secret):
            log.warning(
                "webhook: refused a request from %s: %s secret token",
                request.remote,
                "no" if given is None else "a wrong",
            )
            return web.Response(status=401)
        try:
            payload = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.Response(status=400, text="not JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            await self._inbox.accept([self._arrival(payload)])
        except CommitFailed:
            log.error("webhook: the inbox could not take update %d", payload["update_id"])
            return web.Response(status=500)
        return web.Response(status=200)

    def _arrival(self, payload: dict[str, Any]) -> Arrival:
        payload = storable_update(payload)
        try:
            update = Update.de_json(payload, self._application.bot)
        except Exception as error:
            # Kept all the same: handling it fails, and it is parked for ops to see.
            log.error("webhook: update %d could not be read: %s", payload["update_id"], error)
            return Arrival(payload["update_id"], None, payload)
        return arrival_of(update, payload)

    async def _health(self, request: web.Request) -> web.Response:
        last = self._inbox.counts.last_received
        age = None if last is None else round(time.monotonic() - last, 3)
        try:
            async with self._sessionmaker() as session:
                await session.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("healthz: the database does not answer: %s", error)
            return web.json_response(
                {"database": "unreachable", "last_update_age_seconds": age}, status=503
            )
        return web.json_response({"database": "ok", "last_update_age_seconds": age})

    async def _metrics_page(self, request: web.Request) -> web.Response:
        last = self._inbox.counts.last_received
        self._metrics.last_update_age.set(-1 if last is None else time.monotonic() - last)
        sender = self._application.bot_data.get(SENDER_KEY)
        if isinstance(sender, OutboxSender):
            self._metrics.outbox_sent.set(sender.stats.sent)
            self._metrics.outbox_failed.set(sender.stats.settled.get("failed", 0))
            self._metrics.outbox_rate_limited.set(sender.stats.rate_limited)
        try:
            await self._metrics.read_database(self._sessionmaker)
        except Exception as error:
            log.warning("metrics: the database does not answer: %s", error)
        return web.Response(body=self._metrics.text(), content_type="text/plain", charset="utf-8")


async def ensure_webhook(
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    url: str,
    secret: str,
    max_connections: int,
    allowed_updates: list[str] | None,
) -> bool:
    """Set the webhook unless Telegram already has this one.

    Instances starting together take turns (an advisory lock on PostgreSQL): the first
    sets it, the others find it set. Telegram does not show the secret token: after
    changing only ``CAREBOT_WEBHOOK_SECRET``, delete the webhook (or change the URL) so
    that the next start sets it again.

    Returns:
        Whether this call set it.
    """
    async with sessionmaker.begin() as session:
        # Waits for another instance's turn to end (the lock is the transaction's).
        await locks.hold(session, locks.WEBHOOK)
        info = await bot.get_webhook_info()
        wanted_updates = sorted(allowed_updates or [])
        if (
            info.url == url
            and info.max_connections == max_connections
            and sorted(info.allowed_updates or []) == wanted_updates
        ):
            return False
        await bot.set_webhook(
            url,
            secret_token=secret,
            max_connections=max_connections,
            allowed_updates=allowed_updates,
            drop_pending_updates=False,
        )
        log.info("webhook: set to %s", url)
        return True
