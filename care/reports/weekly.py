"""The weekly report: due once a week, owed to supervisors once, even across restarts.

On the configured day and hour (``CAREBOT_REPORT_WEEKDAY``/``_HOUR`` in
``CAREBOT_TIMEZONE``) the past week's report (Monday to Sunday) falls due. Its summary
and its charts (PNG images kept on the rows until sent) are owed (``care.owed``,
purpose ``report``) to every active supervisor in one transaction, with the week's key
as the rows' note, and delivered by the owed sender with retries (a 429 waits its
``retry_after``; a supervisor who blocked the bot refuses the summary, which is settled
as failed, and the week's charts to them are dropped). A row with that key is how
every later run, in this process or after a restart, knows the week was reported. A
bot that was down at that hour reports when it is back, still within the week.

Owed rows are pruned a week after they were made (``care.owed.prune``), by when the key
asked about is the next week's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import OwedMessage, StaffMember, StaffRole
from care.owed import Kind, Purpose, owe
from care.reports.period import Period, PeriodKind

__all__ = ["WeeklyReport", "due_week", "owe_weekly_report", "recipients", "week_key"]


@dataclass(frozen=True)
class WeeklyReport:
    """When the weekly report is due: ``weekday`` (0 = Monday) at ``hour``, local."""

    weekday: int
    hour: int


def due_week(schedule: WeeklyReport, now: datetime, timezone: str) -> Period | None:
    """The week whose report is due: once this week's day and hour have come, the week
    before the current one; before them, None (last week's report was due last week,
    and one not sent by the week's end is not sent a week late)."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    slot = datetime.combine(monday + timedelta(days=schedule.weekday), time(schedule.hour), zone)
    if now < slot:
        return None
    return Period.of(PeriodKind.WEEK, monday - timedelta(days=7), timezone)


def week_key(week: Period) -> str:
    return f"weekly_report:{week.first.isoformat()}"


async def already_owed(session: AsyncSession, week: Period) -> bool:
    """Whether the report of ``week`` was owed already (by any process, at any time)."""
    return bool(
        await session.scalar(
            select(
                exists().where(
                    OwedMessage.purpose == Purpose.REPORT.value,
                    OwedMessage.note == week_key(week),
                )
            )
        )
    )


async def recipients(session: AsyncSession) -> list[StaffMember]:
    """The active supervisors, who get the weekly report."""
    return list(
        await session.scalars(
            select(StaffMember)
            .where(StaffMember.active.is_(True), StaffMember.role == StaffRole.SUPERVISOR.value)
            .order_by(StaffMember.id)
        )
    )


def owe_weekly_report(
    session: AsyncSession,
    week: Period,
    chat_ids: list[int],
    text: str,
    charts: list[bytes],
    now: datetime,
) -> None:
    """Owe ``text`` (the week's summary) and then its ``charts`` (PNG images) to each of
    ``chat_ids``, each row marked with the week's key, in the caller's transaction. One
    chat's rows are sent in the order they were owed: the summary first."""
    for chat_id in chat_ids:
        row = owe(session, now=now, purpose=Purpose.REPORT, chat_id=chat_id, text=text)
        row.note = week_key(week)
    for png in charts:
        for chat_id in chat_ids:
            row = owe(session, now=now, purpose=Purpose.REPORT, kind=Kind.PHOTO, chat_id=chat_id,
                      data=png)  # fmt: skip
            row.note = week_key(week)
