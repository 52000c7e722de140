"""/report in Telegram: supervisors and admins get the measures in their language and
four charts; agents and customers are refused. The weekly report reaches supervisors
once a week, even when the job runs again after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.models import Complaint, ComplaintStatus, Contact, Customer, OwedMessage
from care.owed import Purpose
from handlers import reports
from handlers.context import CareContext
from tests.conftest import CareTeam
from tests.e2e.conftest import PersonFactory
from tests.helpers import RunningBot, StaffMember, en, wait_until, zh

CHARTS = 4


async def _a_week_of_complaints(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime
) -> None:
    """Two complaints filed this week (one acknowledged on time, one late), and the
    customers' messages."""
    async with sessionmaker.begin() as session:
        mei = Customer(first_name="美", created_at=now - timedelta(days=30))
        session.add(mei)
        await session.flush()
        session.add(Contact(customer_id=mei.id, direction="in", kind="text", created_at=now - HOUR))
        for n, on_time in enumerate((True, False)):
            filed = now - timedelta(days=1, hours=n)
            session.add(
                Complaint(
                    customer_id=mei.id, status=ComplaintStatus.ACKNOWLEDGED.value,
                    created_at=filed, filed_at=filed, updated_at=filed,
                    acknowledge_due_at=filed + HOUR, acknowledged_on_time=on_time,
                    acknowledged_at=filed + timedelta(minutes=30 if on_time else 90),
                )
            )  # fmt: skip


HOUR = timedelta(hours=1)


def _photos(after: int) -> object:
    def arrived(transcript: list[dict]) -> bool:
        return sum(1 for m in transcript if m["message_id"] > after and m.get("photo")) >= CHARTS

    return arrived


async def test_a_supervisor_gets_the_weeks_measures_and_charts_agents_are_refused(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    agent: StaffMember,
    supervisor: StaffMember,
    person: PersonFactory,
) -> None:
    await _a_week_of_complaints(sessionmaker, clock.now())

    # The staff group reads the default locale, zh_CN.
    sent = await supervisor.say("/report")
    summary = (await supervisor.room.answer_to(sent))["text"]
    lines = summary.splitlines()
    # 24 September 2026 is a Thursday: the week is 21 to 27 September.
    assert lines[0] == zh("📊 Report {first} – {last} ({timezone})").format(
        first="2026-09-21", last="2026-09-27", timezone="Asia/Shanghai"
    )
    assert (
        zh("Complaints: {count} · complaint rate: {rate}").format(count=2, rate="200.0%") in lines
    )
    # One acknowledged in 30 minutes (on time), one in 90 (late); no resolve deadlines.
    timeliness = zh(
        "Timeliness (及时率): acknowledged on time {ack} ({ack_ok}/{ack_all}) · resolved on "
        "time {resolve} ({resolve_ok}/{resolve_all}) · breaches: {breaches}"
    ).format(ack="50.0%", ack_ok=1, ack_all=2, resolve="—", resolve_ok=0, resolve_all=0, breaches=1)
    assert timeliness in lines
    # The conversation channel: none this week, nothing measured rather than a made-up 0 %.
    conversations = zh(
        "Conversations: {count} · answered on time {first} ({first_ok}/{first_all}) · "
        "closed on time {closed} ({closed_ok}/{closed_all}) · first answer: median "
        "{median} · closed: median {r_median} · staff answers: {answers}"
    ).format(count=0, first="—", first_ok=0, first_all=0, closed="—", closed_ok=0,
             closed_all=0, median="—", r_median="—", answers=0)  # fmt: skip
    assert conversations in lines
    await client.wait_for_transcript(
        care_team.group_id,
        _photos(sent["message_id"]),
        60,
        "the four charts",  # type: ignore[arg-type]
    )

    # In a private chat, in the supervisor's language; this month.
    private = await supervisor.command_in_private("/report month")
    assert private.splitlines()[0] == en("📊 Report {first} – {last} ({timezone})").format(
        first="2026-09-01", last="2026-09-30", timezone="Asia/Shanghai"
    )

    assert await agent.command("/report") == zh("Only supervisors and admins can see this.")
    assert "/report [today|week|month]" in await supervisor.command("/report forever")
    customer = await person("小明")
    assert await customer.command("/report") == zh("Only care staff can do this.")


async def test_the_weekly_report_is_owed_once_even_after_a_restart(
    sandbox: Sandbox,
    database_url: str,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    supervisor: StaffMember,
) -> None:
    # Thursday 24 September, 18:00 in Shanghai: Thursday 09:00's report is due.
    clock.set(datetime(2026, 9, 24, 10, 0, tzinfo=UTC))
    await _a_week_of_complaints(sessionmaker, clock.now() - timedelta(days=7))
    settings = {"staff_chat_id": care_team.group_id, "report_weekday": "thu", "report_hour": 9}
    running = RunningBot(sandbox, database_url, clock, **settings)
    built = await running.start()
    try:
        await supervisor.command_in_private("/help")  # the supervisor has a private chat
        last = max(m["message_id"] for m in await client.transcript(supervisor.id))
        context = CareContext(built.application)
        await reports.push_weekly_report(context)
        await reports.push_weekly_report(context)  # the next minute's run: nothing again
        await client.wait_for_transcript(
            supervisor.id,
            lambda t: any(
                m["message_id"] > last and "2026-09-14" in (m.get("text") or "") for m in t
            ),
            30,
            "the weekly summary",
        )
        await client.wait_for_transcript(supervisor.id, _photos(last), 60, "the charts")  # type: ignore[arg-type]
    finally:
        await running.stop()

    restarted = RunningBot(sandbox, database_url, clock, **settings)
    built = await restarted.start()
    try:
        await reports.push_weekly_report(CareContext(built.application))
    finally:
        await restarted.stop()

    async def owed_once() -> bool:
        async with sessionmaker() as session:
            kinds = (
                await session.execute(
                    select(OwedMessage.kind, func.count())
                    .where(OwedMessage.purpose == Purpose.REPORT.value)
                    .group_by(OwedMessage.kind)
                )
            ).all()
        return dict(kinds) == {"text": 1, "photo": CHARTS}  # the summary, then the charts

    await wait_until(owed_once, within=5)
    # The next week, the next report.
    clock.set(datetime(2026, 10, 1, 10, 0, tzinfo=UTC))
    again = RunningBot(sandbox, database_url, clock, **settings)
    built = await again.start()
    try:
        await reports.push_weekly_report(CareContext(built.application))
    finally:
        await again.stop()
    async with sessionmaker() as session:
        weeks = set(
            await session.scalars(
                select(OwedMessage.note).where(OwedMessage.purpose == Purpose.REPORT.value)
            )
        )
    assert weeks == {"weekly_report:2026-09-14", "weekly_report:2026-09-21"}
