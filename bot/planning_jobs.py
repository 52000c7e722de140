"""The planner job: automatic campaign drafts, birthdays, anniversaries, follow-ups."""

from __future__ import annotations

import logging

from telegram.ext import Application

from care import locks
from handlers.campaigns import plan_care
from handlers.context import CareContext

log = logging.getLogger(__name__)


async def plan_in_one_process(context: CareContext) -> None:
    """Job: plan care (:func:`handlers.campaigns.plan_care`), one process at a time.

    Two processes on one PostgreSQL database planning at once would both draft the
    same automatic campaign (drafts are found by a query, not by a unique key) and,
    for an occasion approved at once, plan its greeting twice, under two campaigns;
    both would post its card. So a run holds the planner's advisory lock from start to
    end, and a run that finds it taken leaves the work to the process holding it. On
    SQLite (one process) the lock is no lock at all.
    """
    async with context.services.sessionmaker() as session, session.begin():
        if not await locks.try_hold(session, locks.PLANNER):
            log.debug("planner: another process is planning; this run leaves it to that one")
            return
        await plan_care(context)


def schedule_planning(application: Application, check_seconds: float) -> None:
    """Register the planner on PTB's JobQueue, first run one interval after start-up.

    Planning is idempotent (every row has a dedupe key), so running it often costs only
    its queries; the first run waits an interval so that start-up stays quick.
    """
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("carebot needs PTB's job queue: install python-telegram-bot[job-queue]")
    job_queue.run_repeating(
        plan_in_one_process,
        interval=check_seconds,
        first=check_seconds,
        name="planner",
        # A run still planning when the next is due: skip it, never two at once (and
        # across processes, plan_in_one_process's lock).
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
