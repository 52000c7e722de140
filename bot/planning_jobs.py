"""The planner job: automatic campaign drafts, birthdays, anniversaries, follow-ups."""

from __future__ import annotations

from telegram.ext import Application

from handlers.campaigns import plan_care


def schedule_planning(application: Application, check_seconds: float) -> None:
    """Register the planner on PTB's JobQueue, first run one interval after start-up.

    Planning is idempotent (every row has a dedupe key), so running it often costs only
    its queries; the first run waits an interval so that start-up stays quick.
    """
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("carebot needs PTB's job queue: install python-telegram-bot[job-queue]")
    job_queue.run_repeating(
        plan_care,
        interval=check_seconds,
        first=check_seconds,
        name="planner",
        # A run still planning when the next is due: skip it, never two at once.
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
