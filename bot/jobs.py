"""Scheduled work: the deadline check (SLA warnings and breaches, unanswered surveys), the
senders of care messages (the outbox) and of owed messages, the planner."""

from __future__ import annotations

from telegram.ext import Application

from bot.outbox_jobs import schedule_outbox, worker_id
from bot.owed_jobs import OwedSender, schedule_owed
from bot.planning_jobs import schedule_planning
from handlers import deadlines

# The first check runs this soon after start-up (or after one interval, if shorter).
FIRST_CHECK_SECONDS = 1.0


def schedule_jobs(
    application: Application,
    sla_check_seconds: float,
    outbox_check_seconds: float = 1.0,
    planner_check_seconds: float = 300.0,
    *,
    owed_sender: OwedSender | None = None,
    owed_check_seconds: float = 1.0,
) -> None:
    """Register the repeating jobs on PTB's JobQueue."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("carebot needs PTB's job queue: install python-telegram-bot[job-queue]")
    job_queue.run_repeating(
        deadlines.watch_deadlines,
        interval=sla_check_seconds,
        first=min(FIRST_CHECK_SECONDS, sla_check_seconds),
        name="deadlines",
        # A run still sending alerts when the next is due: skip it, never run two at once.
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    schedule_outbox(application, outbox_check_seconds)
    schedule_owed(application, owed_check_seconds, owed_sender or OwedSender(worker_id()))
    schedule_planning(application, planner_check_seconds)
