"""``carebot run``: on Telegram with a token, or the local playground without one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from bot import db, logs
from bot.app import build_application, finish, prepare
from bot.settings import Settings

log = logging.getLogger(__name__)

# The playground's bot: any well-formed token works against the sandbox.
PLAYGROUND_TOKEN = "7000000001:playground-token-not-secret"
PLAYGROUND_DB = Path("var/playground.db")


def run(settings: Settings) -> None:
    """Run until interrupted (Ctrl-C or SIGTERM)."""
    logs.configure(settings.log_level, settings.token_value)
    if settings.token is None and "database_url" not in settings.model_fields_set:
        # The sandbox's world is new at every start, so the playground's database is
        # too: yesterday's customer 100000002 is not today's.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{PLAYGROUND_DB}{suffix}").unlink(missing_ok=True)
        settings = settings.model_copy(
            update={"database_url": f"sqlite+aiosqlite:///{PLAYGROUND_DB}"}
        )
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
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
    await db.upgrade(settings.database_url)
    built = build_application(settings)
    application = built.application
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        async with application:
            await prepare(application)
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(drop_pending_updates=False)
            if sandbox is not None:
                console.print(
                    f"[bold green]carebot playground:[/] open {sandbox.url}/ in a browser "
                    "(no CAREBOT_TOKEN set, so carebot talks to its local Telegram sandbox). "
                    "Ctrl-C stops."
                )
            else:
                me = application.bot.username
                console.print(
                    f"[bold green]carebot is running on Telegram as @{me}.[/] Ctrl-C stops."
                )
            await stop.wait()
            await application.updater.stop()
            await application.stop()
            await finish(application)
    finally:
        await built.engine.dispose()
        if sandbox is not None:
            await sandbox.stop()
