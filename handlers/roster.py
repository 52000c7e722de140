"""Who the care staff are: ``/staff list | add | remove``, and staff by name.

Anyone on staff may list the team; adding and removing members is for admins.
"""

from __future__ import annotations

import enum
import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import BaseHandler

from care import staff as staff_members
from care.models import StaffMember, StaffRole
from handlers.i18n import N_
from handlers.i18n import gettext as _
from handlers.staff_access import Answer, Reply, StaffRequest, staff_command, staff_places

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


def staff_name(member: StaffMember | None) -> str:
    if member is None:
        return _("nobody yet")
    return member.name or (
        f"@{member.username}" if member.username else str(member.telegram_user_id)
    )


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
    return {member.id: member for member in await staff_members.list_staff(session)}


async def manage_staff(request: StaffRequest) -> Reply:
    """/staff list | add <id> <role> [name] | remove <id>: who the care staff are."""
    session, services = request.session, request.services
    usage = _(
        "Usage: /staff list · /staff add <Telegram user id> <agent|supervisor|admin> [name] · "
        "/staff remove <Telegram user id>"
    )
    verb, *rest = request.arguments.split(maxsplit=1) or [""]
    arguments = rest[0] if rest else ""
    if verb == "list" and not arguments:
        lines = [_("Care staff:")]
        for member in await staff_members.list_staff(session):
            lines.append(
                _("{name} · {role} · id {id}").format(
                    name=staff_name(member),
                    role=role_label(member.role),
                    id=member.telegram_user_id,
                )
                + (f" · @{member.username}" if member.username else "")
            )
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
        return Reply(
            _("{name} (id {id}) is now care staff: {role}.").format(
                name=staff_name(member), id=member.telegram_user_id, role=role_label(member.role)
            )
        )
    if not TELEGRAM_ID.match(arguments):
        raise Answer(usage)
    user_id = int(arguments)
    if user_id == request.member.telegram_user_id:
        raise Answer(_("You cannot remove yourself; ask another admin."))
    if not await staff_members.remove_staff(session, user_id):
        raise Answer(_("{id} is not a member of the care staff.").format(id=user_id))
    return Reply(_("{id} is no longer care staff.").format(id=user_id))


def roster_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """/staff, in private chats and the staff group."""
    return [staff_command("staff", manage_staff, where=staff_places(staff_chat_id))]
