"""``carebot followups``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import (
    app,
    cli_settings,
    clock,
    in_transaction,
    out,
)
from care.deliveries import ComingUp, DeliveryReport, coming_up
from care.deliveries import report as delivery_report
from care.models import OutboxState


@app.command("followups")
def followups_command(
    days: Annotated[
        int,
        typer.Option(
            "--days", metavar="DAYS", min=1, max=365, help="How many days back and ahead."
        ),
    ] = 7,
) -> None:
    """Follow-ups and personal greetings (birthdays, anniversaries) due in the last and
    next DAYS days, by rule and state, with why skipped ones were skipped, and the
    unconfirmed ones by name (maybe delivered when the bot stopped; never resent)."""
    settings = cli_settings()
    now, span = clock().now(), timedelta(days=days)
    zone = ZoneInfo(settings.timezone)

    async def work(session: AsyncSession) -> tuple[DeliveryReport, list[ComingUp]]:
        ahead = await coming_up(
            session, now.astimezone(zone).date(), (now + span).astimezone(zone).date(),
            settings.engine().followups, settings.timezone,
        )  # fmt: skip
        return await delivery_report(session, now - span, now + span), ahead

    found, ahead = in_transaction(settings, work, commit=False)

    def moment(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    window = f"{moment(found.since)} – {moment(found.until)} ({settings.timezone})"
    coming = [
        f"coming up, {c.rule}: {c.count} ({c.first_day.isoformat()} – {c.last_day.isoformat()})"
        for c in ahead
    ]
    if not found.counts and not found.not_planned:
        out().print(f"No follow-ups or greetings are due {window}.")
        for line in coming:
            out().print(line)
        return
    out().print(f"Follow-ups and greetings due {window}:")
    states = [s for s in OutboxState if any(s.value in c for c in found.counts.values())]
    table = Table()
    table.add_column("Rule")
    for state in states:
        table.add_column(state.value, justify="right")
    for rule, counts in found.counts.items():
        table.add_row(rule, *(str(counts.get(state.value, 0)) for state in states))
    out().print(table)
    for reason, count in found.skipped_because.items():
        out().print(f"skipped, {reason}: {count}")
    if found.unconfirmed:
        unconfirmed = Table(title="Unconfirmed: maybe delivered, never resent")
        for column in ("Row", "Customer", "Name", "Rule", "Due"):
            unconfirmed.add_column(column)
        for row in found.unconfirmed:
            unconfirmed.add_row(
                str(row.row_id), str(row.customer_id), row.name, row.rule, moment(row.due_at)
            )
        out().print(unconfirmed)
    for failed in found.not_planned:  # care.followups: an error with the customer's data
        out().print(
            f"not planned: customer {failed.customer_id} ({failed.name}), {failed.rule}, "
            f"{failed.times} day(s), last {moment(failed.last_at)}; the log has the error",
            markup=False,  # a customer's name is no markup
        )
    for line in coming:
        out().print(line)
