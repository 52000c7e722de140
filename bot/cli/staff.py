"""``carebot staff add|remove|list``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import (
    UserIdArgument,
    cli_settings,
    clock,
    err,
    fail,
    in_transaction,
    out,
    staff_app,
)
from care.models import StaffRole
from care.staff import add_staff, list_staff, remove_staff


@staff_app.command("add")
def staff_add(
    user_id: UserIdArgument,
    role: Annotated[
        StaffRole,
        typer.Option(
            "--role",
            "-r",
            case_sensitive=False,
            help=(
                "agent answers customers; supervisor also gets escalations; "
                "admin also runs campaigns."
            ),
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help='How colleagues know them, e.g. "Wang Li".'),
    ] = None,
) -> None:
    """Make someone a staff member, or change the role of one.

    A former staff member who was removed is made active again.
    """
    settings = cli_settings()
    now = clock().now()

    async def work(session: AsyncSession) -> None:
        await add_staff(session, user_id, role, now, name=name)

    in_transaction(settings, work)
    who = f"{user_id} ({name})" if name else str(user_id)
    out().print(Text(f"Staff member {who} is now {role.value}."))


@staff_app.command("remove")
def staff_remove(user_id: UserIdArgument) -> None:
    """Stop someone being staff (their history stays)."""
    settings = cli_settings()

    async def work(session: AsyncSession) -> bool:
        return await remove_staff(session, user_id)

    if not in_transaction(settings, work):
        fail(f"No active staff member has Telegram user id {user_id}.")
    out().print(f"{user_id} is no longer staff.")
    if user_id in settings.admins:
        err().print(
            Text(
                f"{user_id} is listed in CAREBOT_ADMINS and becomes an admin again when "
                "carebot starts; take them out of it too.",
                style="yellow",
            ),
            soft_wrap=True,
        )


@staff_app.command("list")
def staff_list() -> None:
    """List the active staff members."""
    settings = cli_settings()

    async def work(session: AsyncSession) -> list[tuple[int, str, str, str]]:
        return [
            (m.telegram_user_id, m.name or "", m.role, m.created_at.date().isoformat())
            for m in await list_staff(session)
        ]

    members = in_transaction(settings, work, commit=False)
    if not members:
        out().print("No staff members yet. Add one with: carebot staff add USER_ID --role agent")
        return
    table = Table()
    table.add_column("Telegram user id", justify="right")
    table.add_column("Name")
    table.add_column("Role")
    table.add_column("Since")
    for user_id, name, role, since in members:
        table.add_row(str(user_id), Text(name), role, since)
    out().print(table)
