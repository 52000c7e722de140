"""Customer side of complaints (being written): filing, /status, messages to staff."""

from __future__ import annotations

from telegram.ext import BaseHandler


def complaint_handlers() -> list[BaseHandler]:
    """The filing dialogue and /status."""
    return []


def relay_handlers() -> list[BaseHandler]:
    """A customer's messages that belong to an open complaint."""
    return []
