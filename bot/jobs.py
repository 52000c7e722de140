"""Scheduled work (being written): SLA warnings and breaches, closing unanswered surveys."""

from __future__ import annotations

from telegram.ext import Application


def schedule_jobs(application: Application, sla_check_seconds: float) -> None:
    """Register the repeating jobs on PTB's JobQueue."""
