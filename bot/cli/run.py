"""``carebot run`` and ``carebot db upgrade``."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import (
    app,
    cli_settings,
    db_app,
    fail,
    in_transaction,
    out,
)


@app.command()
def run(
    jobs_only: Annotated[
        bool,
        typer.Option(
            "--jobs-only",
            help="Only do the scheduled work (send the outbox, plan campaigns and "
            "follow-ups, watch SLAs) and receive no updates: for more processes beside "
            "the one that does, on the same PostgreSQL database.",
        ),
    ] = False,
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            metavar="URL",
            help="Receive updates by webhook at this https URL (Telegram POSTs there; a "
            "reverse proxy hands them to CAREBOT_WEBHOOK_LISTEN:CAREBOT_WEBHOOK_PORT) "
            "instead of polling. Needs CAREBOT_WEBHOOK_SECRET. Several instances may "
            "share one PostgreSQL database behind a load balancer.",
        ),
    ] = None,
) -> None:
    """Run carebot: on Telegram when CAREBOT_TOKEN is set, otherwise the local playground on SQLite.

    With a token carebot long-polls Telegram. Without one it starts its local Telegram
    sandbox and prints the address of a browser playground where you can chat with it as
    customers and staff. Migrations are applied on start. Ctrl-C stops.

    To send faster on PostgreSQL, start more processes with --jobs-only: they share the
    outbox (no message goes out twice) and never poll Telegram, which allows one poller
    per bot. Give each process its share of CAREBOT_SEND_PER_SECOND.
    """
    settings = cli_settings()
    # Imported here: the runner pulls in python-telegram-bot and the whole bot, which
    # the other commands do not need.
    from bot import runner

    if webhook is not None:
        settings = settings.model_copy(update={"webhook_url": webhook})
    try:
        if jobs_only:
            runner.check_jobs_only(settings)
        elif settings.webhook_url:
            runner.check_webhook(settings)
    except runner.RunError as exc:
        fail(str(exc), code=2)
    try:
        runner.run(settings, jobs_only=jobs_only)
    except runner.RunError as exc:
        fail(str(exc), code=exc.code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations that have not been applied yet.

    Safe to run at any time; it does nothing when the schema is up to date. Every other
    command runs it too, so a fresh machine needs nothing else. The database is
    CAREBOT_DATABASE_URL's.
    """
    settings = cli_settings()

    async def nothing(session: AsyncSession) -> None:
        return None

    in_transaction(settings, nothing)
    out().print("The database schema is up to date.")
