"""The outbox sender job (being written): claims due rows and sends them within limits."""

from __future__ import annotations

from telegram.ext import Application


def schedule_outbox(application: Application, check_seconds: float) -> None:
    """Register the sender on PTB's JobQueue."""
