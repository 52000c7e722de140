"""Who the care staff are: ``/staff list | add | remove``, and staff by name.

Anyone on staff may list the team; adding and removing members is for admins.
"""

from __future__ import annotations

import enum
import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message
from telegram.ext import BaseHandler

from care import staff as staff_members
from care.models import StaffMember, StaffRole
from handlers import staff_menu
from handlers.context import CareContext
from handlers.i18n import N_
from handlers.i18n import gettext as _
from handlers.staff_access import (
    After,
    Answer,
    Reply,
    StaffRequest,
    staff_command,
    staff_places,
)
from handlers.staff_names import staff_name

log = logging.getLogger(__name__)

TELEGRAM_ID = re.compile(r"^\d{1,18}$")

ROLE_LABELS = {
    StaffRole.AGENT: N_("agent"),
    StaffRole.SUPERVISOR: N_("supervisor"),
    StaffRole.ADMIN: N_("admin"),
}


def is_value(kind: type[enum.StrEnum], value: str) -> bool:
    """Whether ``value`` is one of the enum's values (``in`` raises on Python 3.11)."""
    return value in {member.value for member in kind}


def role_label(role: str) -> str:
    return _(ROLE_LABELS[StaffRole(role)]) if is_value(StaffRole, role) else role


async def staff_by_handle(session: AsyncSession, handle: str) -> StaffMember | None:
    """The active staff member called ``@username`` or with that Telegram user id."""
    if TELEGRAM_ID.match(handle):
        return await staff_members.find_staff(session, int(handle))
    if handle.startswith("@") and len(handle) > 1:
        wanted = handle[1:].lower()
        for member in await staff_members.list_staff(session):
            if member.username and member.username.lower() == wanted:
                return member
    return None


async def team_of(session: AsyncSession) -> dict[int, StaffMember]:
    """Every staff member by record id, former ones too (they are named in histories)."""
    return {member.id: member for member in await staff_members.everyone(session)}


async def manage_staff(request: StaffRequest) -> Reply:
    """/staff list | add <id> <role> [name] | remove <@username or id>: who the care staff
    are."""
    session, services = request.session, request.services
    usage = _(
        "Usage: /staff list · /staff add <Telegram user id> <agent|supervisor|admin> [name] · "
        "/staff remove <@username or Telegram user id>"
    )
    verb, *rest = request.arguments.split(maxsplit=1) or [""]
    arguments = rest[0] if rest else ""
    if verb == "list" and not arguments:
        lines = [_("Care staff:")]
        for member in await staff_members.list_staff(session):
            line = _("{name} · {role}").format(
                name=staff_name(member), role=role_label(member.role)
            )
            if member.username is None and staff_members.signature(member):
                # No @username to name them by in /staff remove or /assign.
                line += " · " + _("id {id}").format(id=member.telegram_user_id)
            lines.append(line)
        return Reply("\n".join(lines))
    if verb not in ("add", "remove"):
        raise Answer(usage)
    request.require(StaffRole.ADMIN, N_("Only admins can add or remove staff members."))
    if verb == "add":
        parts = arguments.split(maxsplit=2)
        if len(parts) < 2 or not TELEGRAM_ID.match(parts[0]) or not is_value(StaffRole, parts[1]):
            raise Answer(usage)
        member = await staff_members.add_staff(
            session, int(parts[0]), StaffRole(parts[1]), services.clock.now(),
            name=parts[2].strip() if len(parts) > 2 else None,
        )  # fmt: skip
        services.staff_directory.forget()
        return Reply(
            _("{name} is now care staff: {role}.").format(
                name=staff_name(member), role=role_label(member.role)
            ),
            after=menu_refreshed(member.telegram_user_id),
        )
    handle = arguments.strip()
    removed = await staff_by_handle(session, handle) if handle else None
    if removed is None:
        if not TELEGRAM_ID.match(handle) and not handle.startswith("@"):
            raise Answer(usage)
        raise Answer(_("{who} is not a member of the care staff.").format(who=handle))
    if removed.telegram_user_id == request.member.telegram_user_id:
        raise Answer(_("You cannot remove yourself; ask another admin."))
    await staff_members.remove_staff(session, removed.telegram_user_id)
    services.staff_directory.forget()
    return Reply(
        _("{name} is no longer care staff.").format(name=staff_name(removed)),
        after=menu_refreshed(removed.telegram_user_id),
    )


def menu_refreshed(telegram_user_id: int) -> After:
    """After the commit: their private chat's command menu as their role now has it."""

    async def after(context: CareContext, _sent: Message | None) -> None:
        await staff_menu.refresh_member_menu(context.bot, context.services, telegram_user_id)

    return after


def roster_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """/staff, in private chats and the staff group."""
    return [staff_command("staff", manage_staff, where=staff_places(staff_chat_id))]
