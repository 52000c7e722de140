"""The bots under measurement, each run in a process of its own against a sandbox.

    python bench/bots.py carebot --sandbox http://127.0.0.1:PORT --database sqlite+aiosqlite:///…
    python bench/bots.py echo --sandbox http://127.0.0.1:PORT

``carebot`` is the real application (``build_application`` + ``prepare``), on a database
that is migrated here first. ``echo`` is a bare python-telegram-bot application: it
repeats each text and answers each button press (plus a message naming the button, so
every update gets a visible reply in its chat). Both use the same HTTP client settings
and the same concurrency, carebot's ``PerChatUpdateProcessor(64)``, so the echo bot is the
floor of what PTB and the sandbox cost with carebot's own work taken away.

Either prints ``ready`` on stdout once it polls, and stops cleanly on SIGTERM.

``--census FILE`` (carebot only) counts what the bot did while it ran: SQL statements by
kind, transactions (commits) and Bot API calls by method, written to FILE as JSON when it
stops. Divided by the updates handled, that says where the cost per update comes from.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import cProfile
import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import event
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from bot import db, logs
from bot.app import Built, build_application, finish, prepare
from bot.inbox import Inbox
from bot.settings import Settings
from bot.updates import PerChatUpdateProcessor
from care.models import StaffRole
from care.staff import add_staff

# Any token of Telegram's shape works against the sandbox; the number is the bot's id.
TOKENS = {
    "carebot": "7000000001:bench-carebot-token",
    "echo": "7000000002:bench-echo-token",
}
CONCURRENT_UPDATES = 64  # carebot's setting in bot/app.py


async def echo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Repeat the customer's text."""
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


async def echo_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the button press and say which button it was."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    await query.answer()
    await context.bot.send_message(update.effective_chat.id, query.data or "?")


def echo_application(sandbox_url: str) -> Application:
    """A bare PTB bot with carebot's HTTP client and concurrency settings."""
    application = (
        Application.builder()
        .token(TOKENS["echo"])
        .base_url(f"{sandbox_url}/bot")
        .base_file_url(f"{sandbox_url}/file/bot")
        .request(HTTPXRequest(connection_pool_size=64, read_timeout=10, write_timeout=10))
        .get_updates_request(HTTPXRequest(connection_pool_size=2, read_timeout=35))
        .concurrent_updates(PerChatUpdateProcessor(CONCURRENT_UPDATES))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo_text))
    application.add_handler(CallbackQueryHandler(echo_press))
    return application


def carebot_settings(
    sandbox_url: str, database_url: str, staff_chat_id: int | None = None
) -> Settings:
    """carebot's defaults, pointed at the sandbox, the benchmark's database and, when
    given, the staff chat that conversations reach."""
    return Settings(
        staff_chat_id=staff_chat_id,
        token=SecretStr(TOKENS["carebot"]),
        database_url=database_url,
        api_base_url=f"{sandbox_url}/bot",
        default_locale="zh_CN",
        company_name="Acme",
    )


async def add_agents(built: Built, user_ids: list[int]) -> None:
    """Make these sandbox users care staff (agents), as ``carebot staff add`` does."""
    async with built.services.sessionmaker.begin() as session:
        for user_id in user_ids:
            await add_staff(session, user_id, StaffRole.AGENT, datetime.now(UTC))


async def serve(
    kind: str,
    sandbox_url: str,
    database_url: str | None,
    staff_chat_id: int | None,
    agents: list[int],
    census_path: str | None = None,
) -> None:
    """Run one bot until SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    engine: Any = None
    inbox: Inbox | None = None
    census: Census | None = None
    if kind == "carebot":
        if database_url is None:
            raise SystemExit("carebot needs --database")
        await db.upgrade(database_url)
        built = build_application(carebot_settings(sandbox_url, database_url, staff_chat_id))
        application, engine, inbox = built.application, built.engine, built.inbox
        await add_agents(built, agents)
        if census_path:
            census = Census()
            census.watch(engine, application)
    else:
        application = echo_application(sandbox_url)
    try:
        await application.initialize()
        if kind == "carebot":
            await prepare(application)
        await application.start()
        if inbox is not None:
            await inbox.start(application)
        assert application.updater is not None
        # A short long-poll timeout only matters when idle: it makes stopping quick.
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        print("ready", flush=True)
        await stop.wait()
        await application.updater.stop()
        if inbox is not None:
            await inbox.stop()
        await application.stop()
        if kind == "carebot":
            await finish(application)
            if inbox is not None:
                await inbox.close()
            if census is not None and census_path:
                census.write(census_path)
    finally:
        await application.shutdown()
        if engine is not None:
            await engine.dispose()


class Census:
    """Statements, commits and Bot API calls counted while the bot runs (``--census``)."""

    def __init__(self) -> None:
        self.statements: collections.Counter[str] = collections.Counter()
        self.commits = 0
        self.api_calls: collections.Counter[str] = collections.Counter()

    def watch(self, engine: Any, application: Application) -> None:
        sync_engine = engine.sync_engine

        @event.listens_for(sync_engine, "before_cursor_execute")
        def statement(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
            self.statements[_statement_kind(sql)] += 1

        @event.listens_for(sync_engine, "commit")
        def commit(_conn: Any) -> None:
            self.commits += 1

        bot = application.bot
        post = bot._post

        async def counted(endpoint: str, *args: Any, **kwargs: Any) -> Any:
            self.api_calls[endpoint] += 1
            return await post(endpoint, *args, **kwargs)

        object.__setattr__(bot, "_post", counted)  # PTB's Bot is frozen after init

    def write(self, path: str) -> None:
        Path(path).write_text(
            json.dumps(
                {
                    "statements": dict(self.statements.most_common()),
                    "statements_total": sum(self.statements.values()),
                    "commits": self.commits,
                    "api_calls": dict(self.api_calls.most_common()),
                },
                indent=2,
            )
        )


def _statement_kind(sql: str) -> str:
    """``SELECT … FROM owed_message``, ``UPDATE inbox_update`` and so on: verb and table."""
    words = sql.split()
    verb = words[0].upper() if words else "?"
    table = "?"
    for marker in ("FROM", "INTO", "UPDATE"):
        upper = [w.upper() for w in words]
        if marker in upper[: 1 if marker == "UPDATE" else len(upper)]:
            at = upper.index(marker)
            if at + 1 < len(words):
                table = words[at + 1].strip('"(')
                break
    return f"{verb} {table}"


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python bench/bots.py``."""
    parser = argparse.ArgumentParser(prog="python bench/bots.py", description=__doc__)
    parser.add_argument("kind", choices=sorted(TOKENS))
    parser.add_argument("--sandbox", required=True, help="the sandbox's http://host:port")
    parser.add_argument("--database", help="carebot's database URL")
    parser.add_argument("--staff-chat", type=int, help="carebot's staff chat (a sandbox group)")
    parser.add_argument(
        "--agent", type=int, action="append", default=[], help="a staff member's user id"
    )
    parser.add_argument("--census", help="count statements and API calls into this JSON file")
    args = parser.parse_args(argv)
    # Bot errors are what we want to see; per-request chatter would cost CPU we measure.
    logs.configure("WARNING", TOKENS[args.kind])
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    # BENCH_PROFILE_CAREBOT=FILE (or _ECHO): cProfile the event loop's thread into FILE
    # (pstats), to see where a bot's CPU goes; not for timed runs.
    profile_path = os.environ.get(f"BENCH_PROFILE_{args.kind.upper()}")
    profiler = cProfile.Profile(time.thread_time) if profile_path else None
    if profiler is not None:
        profiler.enable()
    try:
        asyncio.run(
            serve(
                args.kind,
                args.sandbox.rstrip("/"),
                args.database,
                args.staff_chat,
                args.agent,
                args.census,
            )
        )
    finally:
        if profiler is not None and profile_path:
            profiler.disable()
            profiler.dump_stats(profile_path)


if __name__ == "__main__":
    main()
