"""``carebot inbox list|retry|drop``: the updates parked after failing every attempt."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import cli_settings, clock, in_transaction, inbox_app, out

UpdateIds = Annotated[list[int], typer.Argument(help="The update ids (see carebot inbox list).")]


@inbox_app.command("list")
def inbox_list() -> None:
    """Show the parked updates: their id, chat, attempts and the last error."""
    # Imported here: bot.inbox pulls in python-telegram-bot, which other commands need not.
    from bot import inbox

    settings = cli_settings()

    async def work(session: AsyncSession) -> list[tuple[int, int | None, int, str]]:
        return [
            (row.update_id, row.chat_key, row.attempts, row.last_error or "")
            for row in await inbox.parked(session)
        ]

    rows = in_transaction(settings, work, commit=False)
    if not rows:
        out().print("No parked updates.")
        return
    table = Table("update", "chat", "attempts", "last error")
    for update_id, chat_key, attempts, error in rows:
        table.add_row(str(update_id), str(chat_key or ""), str(attempts), Text(error))
    out().print(table)


@inbox_app.command("retry")
def inbox_retry(update_ids: UpdateIds) -> None:
    """Handle parked updates again now, with a fresh count of attempts."""
    from bot import inbox

    settings = cli_settings()
    now = clock().now()

    async def work(session: AsyncSession) -> int:
        return await inbox.retry(session, update_ids, now)

    done = in_transaction(settings, work)
    out().print(f"{done} of {len(update_ids)} parked update(s) will be handled again.")


@inbox_app.command("drop")
def inbox_drop(update_ids: UpdateIds) -> None:
    """Delete parked updates: they will never be handled."""
    from bot import inbox

    settings = cli_settings()

    async def work(session: AsyncSession) -> int:
        return await inbox.drop(session, update_ids)

    done = in_transaction(settings, work)
    out().print(f"{done} of {len(update_ids)} parked update(s) dropped.")
