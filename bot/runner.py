"""``carebot run``: on Telegram with a token, or the local playground without one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from pydantic import SecretStr
from rich.console import Console

from bot import db, logs
from bot.app import build_application, prepare
from bot.settings import Settings

log = logging.getLogger(__name__)

# The playground's bot: any well-formed token works against the sandbox.
PLAYGROUND_TOKEN = "7000000001:playground-token-not-secret"


def run(settings: Settings) -> None:
    """Run until interrupted (Ctrl-C or SIGTERM)."""
    logs.configure(settings.log_level, settings.token_value)
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    console = Console(stderr=True)
    await db.upgrade(settings.database_url)
    sandbox = None
    if settings.token is None:
        from bot.sandbox import RateLimits, Sandbox

        sandbox = Sandbox(limits=RateLimits.telegram())
        await sandbox.start(host=settings.playground_host, port=settings.playground_port)
        settings = settings.model_copy(
            update={
                "token": SecretStr(PLAYGROUND_TOKEN),
                "api_base_url": sandbox.bot_base_url,
                # The page's "Care staff" group is the staff chat, unless one is configured.
                "staff_chat_id": settings.staff_chat_id or sandbox.ensure_staff_group(),
            }
        )
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
    finally:
        await built.engine.dispose()
        if sandbox is not None:
            await sandbox.stop()
