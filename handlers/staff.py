"""Staff side of complaints (being written): buttons on the card, commands, replies."""

from __future__ import annotations

from telegram.ext import BaseHandler


def staff_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """Handlers for the staff group and staff members' private chats."""
    return []
