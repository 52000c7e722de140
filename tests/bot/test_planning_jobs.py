"""The planner job: its schedule, and one planner at a time across processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application

from bot import jobs
from bot.app import Built, build_application
from bot.db import make_engine
from bot.jobs import plan_in_one_process
from bot.settings import Settings
from care import customers, locks
from care.clock import ManualClock
from care.models import Campaign, CampaignStatus, Outbox
from handlers.context import CareContext

CUSTOMERS = 20
Job = Callable[[CareContext], Awaitable[None]]


def test_the_planner_repeats_and_never_overlaps() -> None:
    application = Application.builder().token("123456:ABC-test").build()
    jobs.schedule_jobs(application, 30.0, planner_check_seconds=120.0)
    assert application.job_queue is not None
    [job] = application.job_queue.get_jobs_by_name("planner")
    assert job.callback is plan_in_one_process
    assert job.job.trigger.interval == timedelta(seconds=120)
    assert (job.job.max_instances, job.job.coalesce) == (1, True)


# --- two processes ----------------------------------------------------------------------


@pytest.fixture
async def two_processes(
    database_url: str, engine: AsyncEngine, clock: ManualClock
) -> AsyncIterator[list[tuple[Job, CareContext]]]:
    """Two carebot applications with engines (connection pools) of their own, as two
    processes have; each with its planner job and a context to run it in. Mid-Autumn
    (2026-09-25) is tomorrow and approved as soon as it is drafted."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite is the single-process embedded default: one planner per database")
    settings = Settings(
        token=SecretStr("7000000001:planner-test-token"),
        database_url=database_url,
        api_base_url="http://127.0.0.1:9/bot",  # never called: no staff group to post to
        auto_approve_occasions=["mid_autumn"],
    )
    built: list[Built] = []
    try:
        for _ in range(2):
            built.append(build_application(settings, clock=clock, engine=make_engine(database_url)))
        planners = []
        for one in built:
            assert one.application.job_queue is not None
            [job] = one.application.job_queue.get_jobs_by_name("planner")
            planners.append((job.callback, CareContext(one.application)))
        yield planners
    finally:
        for one in built:
            await one.engine.dispose()


async def customers_who_accept_care(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    async with sessionmaker.begin() as session:
        for n in range(CUSTOMERS):
            who = customers.TelegramIdentity(5000 + n, 5000 + n, first_name=f"Guest{n}")
            customer, _ = await customers.get_or_create_customer(session, who, clock.now())
            customers.set_consent(customer, True, clock.now())


async def planned(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[list[str], int]:
    """The campaigns (occasion and status) and how many outbox rows there are."""
    async with sessionmaker() as session:
        campaigns = await session.execute(select(Campaign.occasion, Campaign.status))
        rows = await session.scalar(select(func.count()).select_from(Outbox))
        return sorted(f"{occasion}:{status}" for occasion, status in campaigns), int(rows or 0)


async def test_two_processes_planning_at_once_plan_one_campaign_once(
    two_processes: list[tuple[Job, CareContext]],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await customers_who_accept_care(sessionmaker, clock)

    for _ in range(3):
        await asyncio.gather(*(job(context) for job, context in two_processes))

    # One Mid-Autumn campaign, approved: one greeting per customer, not two.
    assert await planned(sessionmaker) == ([f"mid_autumn:{CampaignStatus.APPROVED}"], CUSTOMERS)


async def test_a_planner_finding_another_at_work_leaves_the_run_to_it(
    two_processes: list[tuple[Job, CareContext]],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    await customers_who_accept_care(sessionmaker, clock)
    (job, context), _ = two_processes

    async with sessionmaker() as other, other.begin():  # another process is planning
        assert await locks.try_hold(other, locks.PLANNER)
        await job(context)
        assert await planned(sessionmaker) == ([], 0)

    await job(context)
    assert await planned(sessionmaker) == ([f"mid_autumn:{CampaignStatus.APPROVED}"], CUSTOMERS)
