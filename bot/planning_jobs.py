"""The planner job (being written): automatic campaigns, birthdays, follow-ups."""

from __future__ import annotations

from telegram.ext import Application


def schedule_planning(application: Application, check_seconds: float) -> None:
    """Register the planner on PTB's JobQueue."""
