"""The planner's schedule: repeating, first run one interval after start-up, never two
runs at once."""

from __future__ import annotations

from datetime import timedelta

from telegram.ext import Application

from bot import jobs
from handlers.campaigns import plan_care


def test_the_planner_repeats_and_never_overlaps() -> None:
    application = Application.builder().token("123456:ABC-test").build()
    jobs.schedule_jobs(application, 30.0, planner_check_seconds=120.0)
    assert application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name("planner")
    assert job.callback is plan_care
    assert job.job.trigger.interval == timedelta(seconds=120)
    assert (job.job.max_instances, job.job.coalesce) == (1, True)
