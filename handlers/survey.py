"""Satisfaction after resolution (being written): rating, comment, reopen offer."""

from __future__ import annotations

from telegram.ext import BaseHandler


def survey_handlers() -> list[BaseHandler]:
    """Handlers for rating buttons, the optional comment and the reopen offer."""
    return []
