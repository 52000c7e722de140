"""``carebot customer find|show|tag|end|segments``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import cli_settings, clock, customer_app, fail, in_transaction, out
from care import directory, segments
from care.directory import Card, DirectoryError, DirectoryProblem, Match

_PROBLEMS = {
    DirectoryProblem.BAD_TAG: (
        "a tag is one word of letters, digits, '.', '-' or '_', at most 32 characters"
    ),
    DirectoryProblem.NO_SUCH_CUSTOMER: "no such customer",
    DirectoryProblem.TOO_SHORT: "give at least two letters of the name",
}

QueryArgument = Annotated[
    str,
    typer.Argument(
        metavar="CUSTOMER",
        help="A name (or part of it), phone number, our id, tg:<Telegram id>, @username or "
        "complaint number.",
    ),
]


def _find(query: str) -> list[Match]:
    settings = cli_settings()

    async def work(session: AsyncSession) -> list[Match]:
        return await directory.find_customers(session, query, phone_region=settings.phone_region)

    try:
        return in_transaction(settings, work, commit=False)
    except DirectoryError as error:
        fail(f"Nothing found: {_PROBLEMS[error.problem]}.")


def _one(query: str) -> int:
    found = _find(query)
    if not found:
        fail(f"No customer matches {query!r}.")
    if len(found) > 1:
        _print_matches(found)
        fail(f"Several customers match {query!r}; name one by id.")
    return found[0].id


def _print_matches(found: list[Match]) -> None:
    table = Table("id", "name", "username", "phone")
    for match in found:
        table.add_row(
            str(match.id), Text(match.name), Text(match.username or ""), match.phone or ""
        )
    out().print(table)


@customer_app.command("find")
def customer_find(query: QueryArgument) -> None:
    """List the customers a name, phone, id, @username or complaint number finds (at most
    10; forgotten customers never)."""
    found = _find(query)
    if not found:
        fail(f"No customer matches {query!r}.")
    _print_matches(found)


@customer_app.command("show")
def customer_show(query: QueryArgument) -> None:
    """Show a customer's card: profile, segments, tags, open complaints, last contacts,
    ratings, purchases."""
    customer_id = _one(query)
    settings = cli_settings()

    async def work(session: AsyncSession) -> Card:
        return await directory.customer_card(session, customer_id)

    card = in_transaction(settings, work, commit=False)
    zone = ZoneInfo(settings.timezone)

    def moment(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "-"

    worth = f" worth {card.purchase_value}" if card.purchase_value is not None else ""

    table = Table(show_header=False)
    rows = [
        ("id", str(card.id)),
        ("name", card.name),
        ("username", f"@{card.username}" if card.username else ""),
        ("phone", card.phone or ""),
        ("telegram user id", str(card.telegram_user_id or "")),
        ("language", card.language or ""),
        ("customer since", moment(card.created_at)),
        ("last wrote", moment(card.last_seen_at)),
        ("reachable", "yes" if card.reachable else "no (blocked the bot)"),
        ("relationship", _relationship(card, moment)),
        ("care messages", "yes" if card.consent_care else "no"),
        ("type", card.customer_type),
        ("value × relationship", card.value_segment or "-"),
        ("lifecycle stage", card.lifecycle_stage or "-"),
        ("churn risk", f"{card.churn_risk or '-'} {', '.join(card.churn_reasons)}".strip()),
        ("tags", ", ".join(card.tags)),
        ("purchases", f"{card.purchases}{worth}"),
        ("open complaints", ", ".join(f"{c.number} ({c.status})" for c in card.open_complaints)),
        ("ratings", ", ".join(f"{r.score} {r.number or ''}".strip() for r in card.ratings)),
    ]
    for name, value in rows:
        table.add_row(name, Text(value))
    out().print(table)
    out().print("Last contacts:")
    for contact in card.contacts:
        arrow = "->" if contact.direction == "out" else "<-"
        text = contact.text or f"({contact.kind})"
        out().print(f"  {moment(contact.created_at)} {arrow} {text}", markup=False)
    if card.segment_changes:
        out().print("Segment changes (newest first):")
    for change in card.segment_changes:
        field = change.field.replace("_", " ")
        out().print(
            f"  {moment(change.at)} {field}: {change.old_value or '-'} -> "
            f"{change.new_value or '-'}",
            markup=False,
        )


def _relationship(card: Card, moment: Callable[[datetime | None], str]) -> str:
    if card.ended_at is None:
        return "going on"
    reason = f": {card.ended_reason}" if card.ended_reason else ""
    return f"ended by us {moment(card.ended_at)}{reason}"


@customer_app.command("tag")
def customer_tag(
    query: QueryArgument,
    verb: Annotated[str, typer.Argument(metavar="add|remove")],
    tag: Annotated[str, typer.Argument(metavar="TAG", help="e.g. vip")],
) -> None:
    """Put a tag on a customer or take it off (campaign audiences: tag:vip)."""
    if verb not in ("add", "remove"):
        raise typer.BadParameter(f"{verb!r}: say add or remove", param_hint="add|remove")
    customer_id = _one(query)
    settings = cli_settings()

    async def work(session: AsyncSession) -> tuple[bool, list[str]]:
        changed = await directory.set_tag(session, customer_id, tag, on=verb == "add")
        return changed, await directory.tags_of(session, customer_id)

    try:
        changed, tags = in_transaction(settings, work)
    except DirectoryError as error:
        fail(f"Not tagged: {_PROBLEMS[error.problem]}.")
    what = ("tagged" if verb == "add" else "untagged") if changed else "unchanged"
    out().print(f"Customer {customer_id} {what}; tags now: {', '.join(tags) or '-'}.")


@customer_app.command("end")
def customer_end(
    query: QueryArgument,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept for staff; erased with them).")
    ] = None,
    undo: Annotated[
        bool, typer.Option("--undo", help="The relationship goes on (a mistake, or taken back).")
    ] = False,
) -> None:
    """Record that the company ended the relationship with a customer: passive churn
    (被动流失) in the reports, e.g. a service contract ended for unpaid debts."""
    customer_id = _one(query)
    settings = cli_settings()
    now = clock().now()

    async def work(session: AsyncSession) -> bool:
        if undo:
            return await directory.resume_relationship(session, customer_id)
        return await directory.end_relationship(session, customer_id, now, reason)

    try:
        changed = in_transaction(settings, work)
    except DirectoryError as error:
        fail(f"Not changed: {_PROBLEMS[error.problem]}.")
    if undo:
        what = "goes on" if changed else "had not been ended"
    else:
        what = "ended" if changed else "had been ended already"
    out().print(f"Customer {customer_id}: relationship {what}.")


@customer_app.command("segments")
def customer_segments() -> None:
    """Compute every customer's segments now (the segments job does it every
    CAREBOT_SEGMENT_CHECK_SECONDS); churn risks are handled by the job."""
    settings = cli_settings()
    now = clock().now()

    async def work(session: AsyncSession) -> segments.RefreshResult:
        return await segments.refresh(session, settings.segment_rules(), now)

    result = in_transaction(settings, work)
    out().print(f"{result.customers} customers classified; {result.changed} changed.")
