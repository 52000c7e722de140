"""The deadline job's schedule: repeating, and never two runs at once."""

from __future__ import annotations

from datetime import timedelta

from telegram.ext import Application

from bot import jobs
from handlers import deadlines


def test_the_deadline_check_repeats_and_never_overlaps() -> None:
    application = Application.builder().token("123456:ABC-test").build()
    jobs.schedule_jobs(application, 30.0)
    assert application.job_queue is not None
    [job] = application.job_queue.jobs()
    assert job.name == "deadlines"
    assert job.callback is deadlines.watch_deadlines
    assert job.job.trigger.interval == timedelta(seconds=30)
    assert (job.job.max_instances, job.job.coalesce) == (1, True)
