"""Being written: staff commands for the care engine (occasions)."""

from __future__ import annotations

from telegram.ext import BaseHandler


def occasions_handlers() -> list[BaseHandler]:
    """Handlers for the staff group and staff members' private chats."""
    return []
