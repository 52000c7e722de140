"""How staff see a colleague: by name, never by a raw Telegram id."""

from __future__ import annotations

from care import staff as staff_members
from care.models import StaffMember
from handlers.i18n import gettext as _


def staff_name(member: StaffMember | None) -> str:
    """A colleague as staff see them: their name and @username ("王丽 @wangli"); an id
    only while Telegram has told us nothing about them (added, never seen)."""
    if member is None:
        return _("nobody yet")
    shown = staff_members.signature(member)
    handle = f"@{member.username}" if member.username else None
    if shown and handle:
        return f"{shown} {handle}"
    return (
        shown
        or handle
        or _("a colleague not seen yet (id {id})").format(id=member.telegram_user_id)
    )
