"""The conversation channel of a report over a known small history: every figure worked
out by hand here, then compared with what the database computes (on SQLite and on
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from care.conversation_models import (
    Conversation,
    ConversationEvent,
    ConversationEventType,
    ConversationStatus,
)
from care.models import Customer, StaffMember
from care.reports import Period, PeriodKind, ReportSettings, build_report

ZONE = "Asia/Shanghai"
SHANGHAI = ZoneInfo(ZONE)
SEPTEMBER = Period.of(PeriodKind.MONTH, date(2026, 9, 15), ZONE)
NOW = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
E = ConversationEventType


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


async def _history(session: AsyncSession) -> None:
    """Six conversations (five opened in September), answered by Li and Wu or nobody.
    Each has a first response due an hour after it opened and a resolve deadline a day
    after."""
    anna = Customer(first_name="Anna", created_at=local(2026, 8, 1))
    li = StaffMember(telegram_user_id=11, name="Li", created_at=NOW)
    wu = StaffMember(telegram_user_id=12, name="Wu", created_at=NOW)
    session.add_all([anna, li, wu])
    await session.flush()

    async def conversation(
        opened: datetime, answered: datetime | None = None, assignee: StaffMember | None = None
    ) -> Conversation:
        row = Conversation(
            customer_id=anna.id, status=ConversationStatus.OPEN.value, opened_at=opened,
            updated_at=opened, first_response_due_at=opened + HOUR, first_response_at=answered,
            resolve_due_at=opened + 24 * HOUR, assignee_id=assignee.id if assignee else None,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        return row

    def answer(row: Conversation, who: StaffMember, at: datetime) -> None:
        session.add(ConversationEvent(conversation_id=row.id, at=at, type=E.STAFF_ANSWER.value,
                                      staff_id=who.id))  # fmt: skip

    def close(row: Conversation, at: datetime) -> None:
        row.status, row.closed_at = ConversationStatus.CLOSED.value, at
        session.add(
            ConversationEvent(
                conversation_id=row.id, at=at, type=E.STATUS.value,
                to_status=ConversationStatus.CLOSED.value,
            )
        )  # fmt: skip

    # Opened in August, answered by Li on 1 September: his answer counts, it does not.
    c0 = await conversation(local(2026, 8, 31, 20), local(2026, 9, 1, 9), assignee=li)
    answer(c0, li, local(2026, 9, 1, 9))
    # Li's: answered in 30 minutes (on time), closed after 5 hours (on time).
    c1 = await conversation(local(2026, 9, 2, 10), local(2026, 9, 2, 10, 30), assignee=li)
    answer(c1, li, local(2026, 9, 2, 10, 30))
    close(c1, local(2026, 9, 2, 15))
    # Nobody took it; Wu answered first after 2 hours (late), closed after 30 hours
    # (late), answered again (open again) and closed again: the first closing counts.
    c2 = await conversation(local(2026, 9, 5, 12), local(2026, 9, 5, 14))
    answer(c2, wu, local(2026, 9, 5, 14))
    close(c2, local(2026, 9, 6, 18))
    answer(c2, wu, local(2026, 9, 8, 10))
    close(c2, local(2026, 9, 9, 10))
    # A "thank you" closed after 20 minutes without an answer: no first response was
    # owed; closed on time.
    c4 = await conversation(local(2026, 9, 10, 9))
    close(c4, local(2026, 9, 10, 9, 20))
    # Never answered; closed by carebot exactly at its resolve deadline: the first
    # response is a breach, the resolution on time.
    c6 = await conversation(local(2026, 9, 12, 9))
    close(c6, local(2026, 9, 13, 9))
    # Opened at 23:59 on 30 September, never answered, still open: both deadlines have
    # passed by the report's time.
    await conversation(local(2026, 9, 30, 23, 59))
    # Half a minute into October: not September's.
    await conversation(local(2026, 10, 1, 0, 0, 30))
    await session.flush()


async def test_the_conversation_channel_matches_the_hand_count(session: AsyncSession) -> None:
    await _history(session)

    figures = (await build_report(session, SEPTEMBER, NOW, ReportSettings())).as_dict()

    talks = figures["conversations"]
    assert talks["conversations"] == 5
    # First response deadlines: C1 on time; C2 late; C6 and the 30th's never answered
    # while open past the deadline; C4 closed before its deadline, not counted.
    assert (talks["ack_deadlines"], talks["acknowledged_on_time"]) == (4, 1)
    assert talks["ack_breaches"] == 3
    assert talks["ack_on_time_rate"] == pytest.approx(1 / 4)
    # Resolve deadlines: C1, C4 and C6 (closed at the deadline) on time; C2 closed late;
    # the 30th's open past its deadline.
    assert (talks["resolve_deadlines"], talks["resolved_on_time"]) == (5, 3)
    assert talks["resolve_breaches"] == 2
    assert talks["resolve_on_time_rate"] == pytest.approx(3 / 5)
    assert talks["closed"] == 4
    # Answers given in September: Li's two (one to August's conversation), Wu's two.
    assert talks["staff_answers"] == 4
    # First responses: 30 minutes and 2 hours.
    assert talks["first_responses"] == 2
    assert talks["first_response_median_s"] == pytest.approx(4500)
    assert talks["first_response_p90_s"] == pytest.approx(7200)
    assert talks["first_response_distribution"] == {
        "0-1h": 1, "1-4h": 1, "4-8h": 0, "8-24h": 0, ">24h": 0,
    }  # fmt: skip
    # Resolutions (first closings): 20 min, 5 h, 24 h, 30 h.
    resolutions = [1200, 5 * 3600, 24 * 3600, 30 * 3600]
    assert talks["resolutions"] == 4
    assert talks["resolution_median_s"] == pytest.approx((5 + 24) * 3600 / 2)
    assert talks["resolution_p90_s"] == pytest.approx(30 * 3600)
    assert talks["resolution_mean_s"] == pytest.approx(sum(resolutions) / 4)

    staff = {row["key"]: row for row in talks["by_staff"]}
    assert [row["key"] for row in talks["by_staff"]] == ["Li", "Wu", "-"]
    assert staff["Li"]["conversations"] == 1 and staff["Li"]["staff_answers"] == 2
    assert staff["Li"]["ack_on_time_rate"] == pytest.approx(1.0)
    assert staff["Li"]["first_response_median_s"] == pytest.approx(1800)
    # Wu did not take C2 but answered it first: it is his.
    assert staff["Wu"]["conversations"] == 1 and staff["Wu"]["staff_answers"] == 2
    assert staff["Wu"]["ack_on_time_rate"] == pytest.approx(0.0)
    assert staff["Wu"]["resolution_median_s"] == pytest.approx(30 * 3600)
    assert staff["-"]["conversations"] == 3
    assert (staff["-"]["ack_deadlines"], staff["-"]["acknowledged_on_time"]) == (2, 0)
    assert (staff["-"]["resolve_deadlines"], staff["-"]["resolved_on_time"]) == (3, 2)

    channels = {row["key"]: row for row in figures["by"]["channel"]}
    assert list(channels) == ["complaint", "conversation"]
    assert channels["conversation"]["conversations"] == 5
    assert channels["conversation"]["ack_on_time_rate"] == pytest.approx(1 / 4)
    assert channels["complaint"]["complaints"] == 0

    opened = {day["date"]: day["conversations"] for day in figures["days"] if day["conversations"]}
    assert opened == {
        "2026-09-02": 1, "2026-09-05": 1, "2026-09-10": 1, "2026-09-12": 1, "2026-09-30": 1,
    }  # fmt: skip


async def test_a_period_without_conversations_measures_nothing(session: AsyncSession) -> None:
    await _history(session)
    empty = Period.of(PeriodKind.WEEK, date(2025, 1, 8), ZONE)

    talks = (await build_report(session, empty, NOW, ReportSettings())).as_dict()["conversations"]

    assert talks["conversations"] == 0 and talks["by_staff"] == []
    for rate in ("ack_on_time_rate", "resolve_on_time_rate", "first_response_median_s",
                 "resolution_median_s"):  # fmt: skip
        assert talks[rate] is None, rate
