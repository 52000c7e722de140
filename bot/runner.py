"""``carebot run``: on Telegram with a token, or the local playground without one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import SecretStr
from rich.console import Console
from sqlalchemy.engine import make_url
from telegram.error import InvalidToken
from telegram.ext import Application

from bot import db, logs, owed_jobs
from bot.app import Built, build_application, finish, prepare
from bot.inbox import Inbox
from bot.settings import PLAYGROUND_DATABASE, PLAYGROUND_DATABASE_URL, Settings
from bot.webhook import WebhookServer, ensure_webhook
from care.templates import TemplateBook, TemplateError

if TYPE_CHECKING:
    from bot.sandbox import Sandbox

log = logging.getLogger(__name__)

# The playground's bot: any well-formed token works against the sandbox.
PLAYGROUND_TOKEN = "7000000001:playground-token-not-secret"


class RunError(Exception):
    """carebot cannot run as asked (the message says why, in one line); ``code`` is the
    exit code (2: a bad setting or file, as for any command)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def check_jobs_only(settings: Settings) -> None:
    """A jobs-only process needs a bot on Telegram and a database other processes share.

    Raises:
        RunError: Without a token (the playground is one process with its own sandbox),
            or on SQLite (one carebot process per SQLite database: its outbox takes
            every other sender for a dead one).
    """
    if settings.token is None:
        raise RunError(
            "--jobs-only needs CAREBOT_TOKEN: it works beside another carebot process "
            "of the same bot, which the playground never has"
        )
    if make_url(settings.database_url).get_backend_name() != "postgresql":
        raise RunError(
            "--jobs-only needs PostgreSQL in CAREBOT_DATABASE_URL: on SQLite, one carebot "
            "process does everything"
        )


# Telegram's rule for a webhook's secret_token.
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def check_webhook(settings: Settings) -> None:
    """Webhook mode needs an https URL and a secret token Telegram accepts.

    Raises:
        RunError: Otherwise (code 2: a bad setting).
    """
    url = settings.webhook_url or ""
    if urlsplit(url).scheme != "https" and not url.startswith("http://127.0.0.1"):
        raise RunError(f"--webhook needs an https:// URL (Telegram calls no other): {url}", 2)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not _SECRET_TOKEN.fullmatch(secret):
        raise RunError(
            "webhook mode needs CAREBOT_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, "
            "_ and -, so that only Telegram's requests are taken",
            2,
        )


def run(settings: Settings, *, jobs_only: bool = False) -> None:
    """Run until interrupted (Ctrl-C or SIGTERM).

    Raises:
        RunError: ``jobs_only`` without a token or PostgreSQL, or a broken templates
            file: before anything starts.

    Args:
        jobs_only: Do the scheduled work only (the outbox sender, the planner, the SLA
            watch) and receive no updates: an extra process beside the one that does,
            on the same PostgreSQL database (see :func:`check_jobs_only`).
    """
    logs.configure(settings.log_level, settings.token_value, settings.log_format)
    if jobs_only:
        check_jobs_only(settings)
    elif settings.webhook_url:
        check_webhook(settings)
    templates = load_templates(settings)
    if settings.token is None and "database_url" not in settings.model_fields_set:
        # The sandbox's world is new at every start, so the playground's database is
        # too: yesterday's customer 100000002 is not today's.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{PLAYGROUND_DATABASE}{suffix}").unlink(missing_ok=True)
        settings = settings.model_copy(update={"database_url": PLAYGROUND_DATABASE_URL})
    try:
        asyncio.run(_run(settings, templates, jobs_only=jobs_only))
    except InvalidToken as error:
        # 401 (a revoked token) or 404 (no such bot, or a wrong CAREBOT_API_BASE_URL path):
        # one line that says what to check, and never the token itself.
        logs.redact_exception(error, settings.token_value)
        log.debug("the token was rejected", exc_info=error)
        host = urlsplit(settings.api_base_url).netloc or settings.api_base_url
        raise RunError(f"the token was rejected by {host}: check CAREBOT_TOKEN") from None
    except BaseException as error:
        logs.redact_exception(error, settings.token_value)
        raise


# A stop at once gives each remaining step (cancelled tasks, the contact log's last
# commit, PTB's shutdown) this long.
FORCED_STEP_SECONDS = 5.0


class Stopping:
    """The signals that stop carebot: the first asks for a graceful stop, the next one
    for a stop at once."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.urged = asyncio.Event()

    def signal(self) -> None:
        """SIGTERM or SIGINT arrived."""
        if self.asked.is_set():
            self.urged.set()
        else:
            self.asked.set()


@dataclass(frozen=True)
class Receivers:
    """What takes updates in: the webhook server (webhook mode) and the inbox's workers."""

    webhook: WebhookServer | None = None
    inbox: Inbox | None = None

    async def stop(self) -> None:
        """Take no more updates (the webhook answers no more), let the inbox finish the
        updates in hand and give back the claims of those that did not finish."""
        if self.webhook is not None:
            await self.webhook.stop()
        if self.inbox is not None:
            await self.inbox.stop()

    async def close(self) -> None:
        """Once the application has stopped (its dialogue state written): the inbox gives
        up this process's chats to the other instances."""
        if self.inbox is not None:
            await self.inbox.close()


async def wind_down(
    application: Application,
    stopping: Stopping,
    grace: float,
    receivers: Receivers | None = None,
) -> bool:
    """Stop taking updates, finish what is in flight, and stop; at once if ``stopping``
    is urged or after ``grace`` seconds.

    Gently, in order: polling stops (an update not fetched yet stays with Telegram for
    the next start); the updates already fetched are handled; the jobs finish their run
    (the sender of owed messages its pass, the outbox sender the requests it made, giving
    back the rows it had not requested yet); the contact log commits. At once: every
    task is cancelled; the caller puts the owed messages in flight back to pending (the
    outbox's rows on the wire become "unconfirmed" at the next start, as after a crash).

    Returns:
        Whether everything finished gently.
    """
    log.info(
        "stopping: no more updates; finishing what is in flight (up to %.0f s, or a second "
        "signal to stop at once)",
        grace,
    )
    gently = asyncio.create_task(
        _stop_gently(application, receivers or Receivers()), name="graceful stop"
    )
    urged = asyncio.create_task(stopping.urged.wait())
    try:
        done, _ = await asyncio.wait(
            {gently, urged}, timeout=grace, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        urged.cancel()
    if gently in done:
        gently.result()  # its error, if any, is the run's
        log.info("stopped")
        return True
    why = "a second signal" if stopping.urged.is_set() else f"still busy after {grace:.0f} s"
    log.warning("stopping at once (%s)", why)
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.wait(others, timeout=FORCED_STEP_SECONDS)
    return False


async def _stop_gently(application: Application, receivers: Receivers) -> None:
    assert application.updater is not None
    if application.updater.running:
        await application.updater.stop()
    await receivers.stop()
    log.info("stopping: no longer taking updates")
    await application.stop()
    await finish(application)
    await receivers.close()


def _say_running(
    console: Console,
    application: Application,
    settings: Settings,
    sandbox: Sandbox | None,
    *,
    jobs_only: bool,
) -> None:
    if jobs_only:
        console.print(
            f"[bold green]carebot is doing scheduled work for @{application.bot.username}"
            "[/] (sending, planning, SLA alerts; another process receives the "
            "updates). Ctrl-C stops."
        )
    elif sandbox is not None:
        console.print(
            f"[bold green]carebot playground:[/] open {sandbox.url}/ in a browser "
            "(no CAREBOT_TOKEN set, so carebot talks to its local Telegram sandbox). "
            "Ctrl-C stops."
        )
        if settings.database_url == PLAYGROUND_DATABASE_URL:
            console.print(
                f"Its database is {PLAYGROUND_DATABASE}, made anew at each start. "
                "The other commands use it with --playground, e.g. "
                "[bold]carebot --playground export customer 1[/]",
                highlight=False,
            )
    elif settings.webhook_url:
        console.print(
            f"[bold green]carebot is running on Telegram as @{application.bot.username}[/], "
            f"by webhook at {settings.webhook_url}. Ctrl-C stops.",
            highlight=False,
        )
    else:
        me = application.bot.username
        console.print(f"[bold green]carebot is running on Telegram as @{me}.[/] Ctrl-C stops.")


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def load_templates(settings: Settings) -> TemplateBook:
    """The greeting templates, loaded once for the whole run.

    Raises:
        RunError: The templates file is broken (the message names it, the key and the
            locale), so that carebot never starts and fails at the first greeting.
    """
    try:
        return TemplateBook.load(settings.templates_file, settings.default_locale)
    except TemplateError as exc:
        raise RunError(str(exc), code=2) from None


async def start_webhook(settings: Settings, built: Built) -> WebhookServer:
    """Listen for Telegram's POSTs, then make sure Telegram sends them here."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value()
    server = WebhookServer(
        url=settings.webhook_url,
        secret=secret,
        inbox=built.inbox,
        application=built.application,
        sessionmaker=built.services.sessionmaker,
        metrics=built.inbox.metrics,
        listen=settings.webhook_listen,
        port=settings.webhook_port,
    )
    await server.start()
    await ensure_webhook(
        built.application.bot,
        built.services.sessionmaker,
        url=settings.webhook_url,
        secret=secret,
        max_connections=settings.webhook_max_connections,
        allowed_updates=settings.allowed_updates,
    )
    return server


async def _run(settings: Settings, templates: TemplateBook, *, jobs_only: bool = False) -> None:
    console = Console(stderr=True)
    sandbox = None
    if settings.token is None:
        from bot.sandbox import RateLimits, Sandbox

        sandbox = Sandbox(limits=RateLimits.telegram())
        await sandbox.start(host=settings.playground_host, port=settings.playground_port)
        staff_chat_id = settings.staff_chat_id or sandbox.ensure_staff_group()
        staff_user = sandbox.staff_user_id()
        settings = settings.model_copy(
            update={
                "token": SecretStr(PLAYGROUND_TOKEN),
                "api_base_url": sandbox.bot_base_url,
                # The page's "Care staff" group is the staff chat, unless one is configured,
                # and the page's "Staff Agent" is an admin, so every staff button works.
                "staff_chat_id": staff_chat_id,
                "admins": [*settings.admins, *([staff_user] if staff_user else [])],
            }
        )
    console.print(f"Database: {db.describe_database(settings.database_url)}", highlight=False)
    await db.upgrade(settings.database_url)
    built = build_application(settings, templates=templates)
    application = built.application
    stopping = Stopping()
    loop = asyncio.get_running_loop()
    # Signals reach the main thread only (carebot run in a worker thread, as the CLI
    # tests do, is stopped by its caller); Windows has no add_signal_handler.
    for signum in (signal.SIGINT, signal.SIGTERM) if _in_main_thread() else ():
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stopping.signal)
    gently = True
    try:
        await application.initialize()
        try:
            await prepare(application)
            await application.start()
            assert application.updater is not None
            webhook: WebhookServer | None = None
            if not jobs_only:
                await built.inbox.start(application)
            if not jobs_only and settings.webhook_url:
                webhook = await start_webhook(settings, built)
            elif not jobs_only:
                await application.updater.start_polling(
                    drop_pending_updates=False, allowed_updates=settings.allowed_updates
                )
            _say_running(console, application, settings, sandbox, jobs_only=jobs_only)
            await stopping.asked.wait()
            receivers = Receivers(webhook, None if jobs_only else built.inbox)
            gently = await wind_down(application, stopping, settings.stop_grace_seconds, receivers)
            if not gently:
                sender = owed_jobs.owed_sender(application)
                released = await owed_jobs.release_claimed(built.services, sender.worker_id)
                if released:
                    log.warning("%d owed message(s) in flight go out at the next start", released)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(finish(application), FORCED_STEP_SECONDS)
        finally:
            if gently:
                await application.shutdown()
            else:
                # What was cancelled may have left the application half stopped.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(application.shutdown(), FORCED_STEP_SECONDS)
    finally:
        await built.engine.dispose()
        if sandbox is not None:
            await sandbox.stop()
