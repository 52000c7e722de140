"""The jobs' schedules: repeating, and never two runs at once."""

from __future__ import annotations

from datetime import timedelta

from telegram.ext import Application

from bot import jobs
from bot.outbox_jobs import OUTBOX_JOB, outbox_sender
from handlers import deadlines, segments


def test_the_deadline_check_repeats_and_never_overlaps() -> None:
    application = Application.builder().token("123456:ABC-test").build()
    jobs.schedule_jobs(application, 30.0)
    assert application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name("deadlines")
    assert job.callback is deadlines.watch_deadlines
    assert job.job.trigger.interval == timedelta(seconds=30)
    assert (job.job.max_instances, job.job.coalesce) == (1, True)


def test_the_outbox_sender_is_started_by_a_tick_that_never_overlaps() -> None:
    application = Application.builder().token("123456:ABC-test").build()
    jobs.schedule_jobs(application, 30.0, outbox_check_seconds=2.0)
    assert application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name(OUTBOX_JOB)
    assert job.callback == outbox_sender(application).tick
    assert job.job.trigger.interval == timedelta(seconds=2)
    assert (job.job.max_instances, job.job.coalesce) == (1, True)


def test_the_segments_job_repeats_and_never_overlaps() -> None:
    application = Application.builder().token("123456:ABC-test").build()
    jobs.schedule_jobs(application, 30.0, segment_check_seconds=1800.0)
    assert application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name(jobs.SEGMENTS_JOB)
    assert job.callback is segments.refresh_segments
    assert job.job.trigger.interval == timedelta(seconds=1800)
    assert (job.job.max_instances, job.job.coalesce) == (1, True)
