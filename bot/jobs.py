"""Scheduled work, all of it: what runs, how often, and in which process.

=============  ===========================================  =======================  =========
job            what it does                                 how often                first run
=============  ===========================================  =======================  =========
``deadlines``  ``handlers.deadlines.watch_deadlines``: SLA   ``CAREBOT_SLA_CHECK_     within
               warnings and breaches, surveys nobody         SECONDS``                1 s
               answered, stale complaint drafts
``outbox``     ``bot.outbox_jobs.OutboxSender.tick``:        ``CAREBOT_OUTBOX_CHECK_  within
               starts the care-message sender                SECONDS``                1 s
``owed``       ``bot.owed_jobs.OwedSender.tick``: owed       every second; a commit   within
               messages (cards, notices, relays, alerts)     that owes rings at once  0.5 s
``conversa-    ``handlers.conversation_deadlines.watch_     ``CAREBOT_SLA_CHECK_     within
tions``        conversations``: closes conversations quiet   SECONDS``                1 s
               after the last staff answer; SLA warnings
               and breaches (first response, resolve)
``planner``    :func:`plan_in_one_process`: automatic        ``CAREBOT_PLANNER_       after one
               campaign drafts and their cards, birthdays,   CHECK_SECONDS``          interval
               anniversaries, follow-ups, finished ones
``weekly_``    ``handlers.reports.push_weekly_report``:     every minute             after one
``report``     the past week's report to supervisors, once                           minute
               (``CAREBOT_REPORT_WEEKDAY``/``_HOUR``)
``segments``   ``handlers.segments.refresh_segments``:       ``CAREBOT_SEGMENT_       after one
               every customer's segments again, then        CHECK_SECONDS``          minute
               churn risks handled by importance
=============  ===========================================  =======================  =========

**In which process.** Every job runs in every carebot process: the one that polls
Telegram and each one started with ``carebot run --jobs-only`` (PostgreSQL only; it
does the same work and receives no updates). They share the work through the
database: the SLA watch claims each alert once, the senders claim rows with ``FOR
UPDATE SKIP LOCKED``, the planner and the segments job run in one process at a time (advisory locks,
:func:`plan_in_one_process`, ``handlers.segments.refresh_segments``).

**Never two at once.** Each job repeats with ``max_instances=1`` and ``coalesce``: a run
still going when the next is due is skipped, never run beside it.

The greeting templates the planner's cards and the outbox sender use are loaded once at
start-up (``Services.templates``, ``bot.app.build_application``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application

from bot.outbox_jobs import OUTBOX_JOB, install_outbox_sender, worker_id
from bot.owed_jobs import OWED_JOB, OwedSender, install_owed_sender
from care import locks
from handlers import conversation_deadlines, deadlines, reports, segments
from handlers.campaigns.planner import plan_care
from handlers.context import CareContext

log = logging.getLogger(__name__)

DEADLINES_JOB = "deadlines"
PLANNER_JOB = "planner"
WEEKLY_REPORT_JOB = "weekly_report"
# The weekly report's job looks this often whether its day and hour have come.
WEEKLY_REPORT_CHECK_SECONDS = 60.0
CONVERSATIONS_JOB = "conversations"
SEGMENTS_JOB = "segments"
# The segments job's first run waits this long (or one interval, if shorter): start-up
# stays quick, and a restart loop does not recompute everyone each time.
FIRST_SEGMENTS_SECONDS = 60.0
# The first check runs this soon after start-up (or after one interval, if shorter).
FIRST_CHECK_SECONDS = 1.0
FIRST_OWED_SECONDS = 0.5
# A run still going when the next is due: skip it, never run two at once.
NEVER_TWO_AT_ONCE = {"max_instances": 1, "coalesce": True}


@dataclass(frozen=True)
class Job:
    """One repeating job: its name, what it runs, every how many seconds, and when first."""

    name: str
    callback: Callable[[CareContext], Coroutine[Any, Any, None]]
    every: float
    first: float


def schedule_jobs(
    application: Application,
    sla_check_seconds: float,
    outbox_check_seconds: float = 1.0,
    planner_check_seconds: float = 300.0,
    *,
    owed_sender: OwedSender | None = None,
    owed_check_seconds: float = 1.0,
    segment_check_seconds: float = 3600.0,
) -> None:
    """Register every repeating job (the table above) on PTB's JobQueue."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("carebot needs PTB's job queue: install python-telegram-bot[job-queue]")
    outbox = install_outbox_sender(application)
    owed = owed_sender or OwedSender(worker_id())
    install_owed_sender(application, owed)
    for job in (
        Job(
            DEADLINES_JOB,
            deadlines.watch_deadlines,
            sla_check_seconds,
            first=min(FIRST_CHECK_SECONDS, sla_check_seconds),
        ),
        Job(
            OUTBOX_JOB,
            outbox.tick,
            outbox_check_seconds,
            first=min(FIRST_CHECK_SECONDS, outbox_check_seconds),
        ),
        Job(
            OWED_JOB,
            owed.tick,
            owed_check_seconds,
            first=min(FIRST_OWED_SECONDS, owed_check_seconds),
        ),
        Job(
            CONVERSATIONS_JOB,
            conversation_deadlines.watch_conversations,
            sla_check_seconds,
            first=min(FIRST_CHECK_SECONDS, sla_check_seconds),
        ),
        # Planning is idempotent (every row has a dedupe key), so running it often costs
        # only its queries; the first run waits an interval so that start-up stays quick.
        Job(PLANNER_JOB, plan_in_one_process, planner_check_seconds, first=planner_check_seconds),
        # Owed once a week (the owed rows remember it), by one process (an advisory lock).
        Job(
            WEEKLY_REPORT_JOB,
            reports.push_weekly_report,
            WEEKLY_REPORT_CHECK_SECONDS,
            first=WEEKLY_REPORT_CHECK_SECONDS,
        ),
        Job(
            SEGMENTS_JOB,
            segments.refresh_segments,
            segment_check_seconds,
            first=min(FIRST_SEGMENTS_SECONDS, segment_check_seconds),
        ),
    ):
        job_queue.run_repeating(
            job.callback,
            interval=job.every,
            first=job.first,
            name=job.name,
            job_kwargs=NEVER_TWO_AT_ONCE,
        )


async def plan_in_one_process(context: CareContext) -> None:
    """Job: plan care (:func:`handlers.campaigns.planner.plan_care`), one process at a time.

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
