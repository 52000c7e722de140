"""Reports over a known small history: every figure worked out by hand here, then
compared with what the database computes (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import (
    Campaign,
    CampaignStatus,
    Complaint,
    ComplaintEvent,
    ComplaintEventType,
    ComplaintRating,
    ComplaintStatus,
    Contact,
    Customer,
    Outbox,
    OutboxState,
    StaffMember,
)
from care.reports import Dimension, Period, PeriodKind, ReportSettings, build_report
from care.sla import BusinessHours

ZONE = "Asia/Shanghai"
SHANGHAI = ZoneInfo(ZONE)
SEPTEMBER = Period.of(PeriodKind.MONTH, date(2026, 9, 15), ZONE)
NOW = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def local(*args: int) -> datetime:
    """A moment in Shanghai, as the database takes it."""
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


async def _history(session: AsyncSession) -> dict[str, int]:
    """Six customers, four complaints and a draft, ratings, and five care messages."""

    def customer(created: datetime, **more: object) -> Customer:
        row = Customer(created_at=created, **more)
        session.add(row)
        return row

    anna = customer(local(2026, 8, 1), first_name="Anna")
    # Asked to be forgotten on 20 September: an anonymous row remains, and counts.
    bo = customer(local(2026, 9, 10), erased_at=local(2026, 9, 20), reachable=False)
    chen = customer(local(2026, 5, 1), first_name="Chen")  # last wrote 15 June: quiet
    dai = customer(
        local(2026, 9, 5), first_name="Dai", reachable=False, unreachable_since=local(2026, 9, 25)
    )
    eve = customer(local(2026, 1, 1), first_name="Eve")  # last wrote in March: long gone
    fang = customer(local(2026, 9, 30, 23, 59), first_name="Fang")  # the month's last minute
    agent_one = StaffMember(telegram_user_id=1, name="Li", created_at=NOW)
    agent_two = StaffMember(telegram_user_id=2, name="Wu", created_at=NOW)
    session.add_all([agent_one, agent_two])
    await session.flush()

    def contact(who: Customer, at: datetime, direction: str = "in") -> None:
        session.add(Contact(customer_id=who.id, direction=direction, kind="text", created_at=at))

    contact(anna, local(2026, 8, 10))
    contact(anna, local(2026, 9, 2, 9))
    contact(anna, local(2026, 9, 3, 9), "out")
    contact(anna, local(2026, 9, 25, 12))  # answers the Mid-Autumn greeting
    contact(bo, local(2026, 9, 10, 8))
    contact(chen, local(2026, 6, 15, 12))
    contact(dai, local(2026, 9, 5, 11))
    contact(eve, local(2026, 3, 1))
    contact(fang, local(2026, 9, 30, 23, 59))

    def complaint(who: Customer, filed: datetime, **more: object) -> Complaint:
        row = Complaint(
            customer_id=who.id, created_at=filed, filed_at=filed, updated_at=filed, **more
        )
        session.add(row)
        return row

    k1 = complaint(
        anna, local(2026, 9, 2, 10), category="product", priority="normal",
        status=ComplaintStatus.CLOSED.value, assignee_id=agent_one.id,
        acknowledge_due_at=local(2026, 9, 2, 12), acknowledged_on_time=True,
        resolve_due_at=local(2026, 9, 4, 10), resolved_on_time=True, times_resolved=1,
    )  # fmt: skip
    k2 = complaint(
        dai, local(2026, 9, 5, 12), category="delivery", priority="high",
        status=ComplaintStatus.RESOLVED.value, assignee_id=agent_two.id,
        acknowledge_due_at=local(2026, 9, 5, 12, 30), acknowledged_on_time=False,
        resolve_due_at=local(2026, 9, 6, 12), resolved_on_time=False, times_resolved=2,
    )  # fmt: skip
    # Filed at 23:59 on 30 September (15:59 UTC): September's; never answered.
    k3 = complaint(
        fang, local(2026, 9, 30, 23, 59), status=ComplaintStatus.NEW.value,
        acknowledge_due_at=local(2026, 10, 1, 1, 59), resolve_due_at=local(2026, 10, 2, 23, 59),
    )  # fmt: skip
    # A minute into October: not September's.
    complaint(anna, local(2026, 10, 1, 0, 0, 30), status=ComplaintStatus.NEW.value)
    session.add(  # a draft never counts
        Complaint(customer_id=anna.id, created_at=local(2026, 9, 9), updated_at=local(2026, 9, 9))
    )
    await session.flush()

    def event(row: Complaint, at: datetime, from_status: str, to_status: str) -> None:
        session.add(
            ComplaintEvent(
                complaint_id=row.id, at=at, type=ComplaintEventType.STATUS.value,
                from_status=from_status, to_status=to_status, by_customer=False,
            )
        )  # fmt: skip

    event(k1, local(2026, 9, 2, 10, 30), "new", "acknowledged")  # 30 minutes
    event(k1, local(2026, 9, 2, 15), "acknowledged", "resolved")  # 5 hours
    event(k2, local(2026, 9, 5, 14), "new", "in_progress")  # 2 hours
    event(k2, local(2026, 9, 6, 18), "in_progress", "resolved")  # 30 hours
    event(k2, local(2026, 9, 8, 10), "resolved", "reopened")
    event(k2, local(2026, 9, 9, 10), "reopened", "resolved")

    def rating(row: Complaint, resolution: int, resolved: datetime, score: int, at: datetime):
        session.add(
            ComplaintRating(
                complaint_id=row.id, resolution=resolution, resolved_at=resolved,
                score=score, rated_at=at,
            )
        )  # fmt: skip

    rating(k1, 1, local(2026, 9, 2, 15), 5, local(2026, 9, 3, 9))
    rating(k2, 1, local(2026, 9, 6, 18), 2, local(2026, 9, 7, 9))  # low: reopened, recovered
    rating(k2, 2, local(2026, 9, 9, 10), 4, local(2026, 9, 9, 12))

    mid_autumn = Campaign(
        name="Mid-Autumn", texts={"en": "x"}, audience={"kind": "all"}, send_on=date(2026, 9, 24),
        status=CampaignStatus.DONE.value, created_at=local(2026, 9, 20),
    )  # fmt: skip
    session.add(mid_autumn)
    await session.flush()
    for n, (who, state, reason, campaign) in enumerate(
        (
            (anna, OutboxState.SENT, None, mid_autumn),
            (dai, OutboxState.SKIPPED, "unreachable", mid_autumn),
            (bo, OutboxState.SKIPPED, "forgotten", None),
            (chen, OutboxState.FAILED, "400", None),
            (fang, OutboxState.UNCONFIRMED, "in flight", None),
        )
    ):
        session.add(
            Outbox(
                customer_id=who.id, campaign_id=campaign.id if campaign else None,
                rule=None if campaign else "after_resolution", dedupe_key=f"k{n}",
                due_at=local(2026, 9, 24, 9),
                sent_at=local(2026, 9, 24, 9) if state is OutboxState.SENT else None,
                state=state.value, last_error=reason,
            )
        )  # fmt: skip
    await session.flush()
    return {"agent_one": agent_one.id, "k3": k3.id}


async def test_every_figure_of_a_month_matches_the_hand_count(session: AsyncSession) -> None:
    await _history(session)

    report = await build_report(session, SEPTEMBER, NOW, ReportSettings(churn_days=90))
    figures = report.as_dict()

    assert figures["period"] == {
        "kind": "month", "from": "2026-09-01", "to": "2026-09-30", "timezone": ZONE,
    }  # fmt: skip
    # Volumes: Bo, Dai and Fang came in September; five messages in, one out.
    assert figures["new_customers"] == 3
    assert figures["contacts_in"] == 5 and figures["contacts_out"] == 1
    assert figures["customers_contacting"] == 4  # Anna, Bo, Dai, Fang
    # Served: everyone who wrote since 3 June (90 days before 1 September) and was not
    # gone before September: Anna, Bo, Chen, Dai, Fang (not Eve, who wrote in March).
    assert figures["customers_served"] == 5
    # Lost: Bo asked to be forgotten, Dai blocked the bot, Chen's 90 days ran out on
    # 13 September.
    assert figures["churned_forgotten"] == 1
    assert figures["churned_blocked"] == 1
    assert figures["churned_quiet"] == 1
    assert figures["customers_lost"] == 3
    assert (figures["churned_active"], figures["churned_passive"]) == (3, 0)
    assert figures["churn_rate"] == pytest.approx(3 / 5)
    assert figures["retention_rate"] == pytest.approx(1 - 3 / 5)
    # Complaints: K1, K2 and K3 (23:59 on the 30th); not October's, not the draft.
    assert figures["complaints"] == 3
    assert figures["complaint_rate"] == pytest.approx(3 / 5)
    # Acknowledged on time: K1 only; K2 late, K3 never (its deadline has passed).
    assert (figures["ack_deadlines"], figures["acknowledged_on_time"]) == (3, 1)
    assert figures["ack_breaches"] == 2
    assert figures["ack_on_time_rate"] == pytest.approx(1 / 3)
    assert (figures["resolve_deadlines"], figures["resolved_on_time"]) == (3, 1)
    assert figures["resolve_on_time_rate"] == pytest.approx(1 / 3)
    # First responses: 30 minutes and 2 hours.
    assert figures["first_responses"] == 2
    assert figures["first_response_median_s"] == pytest.approx((1800 + 7200) / 2)
    assert figures["first_response_p90_s"] == pytest.approx(7200)
    assert figures["first_response_mean_s"] == pytest.approx(4500)
    assert figures["first_response_distribution"] == {
        "0-1h": 1, "1-4h": 1, "4-8h": 0, "8-24h": 0, ">24h": 0,
    }  # fmt: skip
    # Resolutions (the first of each): 5 hours and 30 hours.
    assert figures["resolution_median_s"] == pytest.approx((5 + 30) * 3600 / 2)
    assert figures["resolution_p90_s"] == pytest.approx(30 * 3600)
    assert figures["first_response_business_median_s"] is None  # no business hours set
    # Ratings given in September: 5, 2, 4.
    assert figures["ratings"] == 3
    assert figures["csat_score"] == pytest.approx(2 / 3 * 100, abs=0.01)
    assert figures["rating_average"] == pytest.approx(11 / 3, abs=0.001)
    # Three resolutions asked for a rating; all three were rated.
    assert figures["surveys_sent"] == 3
    assert figures["rating_response_rate"] == pytest.approx(1.0)
    # The 2 was followed by a reopening and a 4.
    assert (figures["low_ratings"], figures["low_ratings_reopened"]) == (1, 1)
    assert figures["low_ratings_recovered"] == 1
    # K1 and K2 were resolved; K2 was reopened.
    assert figures["reopen_rate"] == pytest.approx(1 / 2)
    # Of the four who wrote in September only Anna had written before.
    assert figures["repeat_contact_rate"] == pytest.approx(1 / 4)
    # Care: five rows due; the sent one was answered the next day.
    assert figures["care_planned"] == 5
    assert figures["care_sent"] == 1
    assert figures["care_skipped"] == 2
    assert figures["care_skipped_because"] == {"forgotten": 1, "unreachable": 1}
    assert (figures["care_failed"], figures["care_unconfirmed"]) == (1, 1)
    assert figures["care_replied"] == 1
    assert figures["care_reply_rate"] == pytest.approx(1.0)
    assert figures["campaigns"] == [
        {"campaign_id": figures["campaigns"][0]["campaign_id"], "name": "Mid-Autumn",
         "planned": 2, "sent": 1, "reach": 0.5}
    ]  # fmt: skip
    # Day by day: K3 is on the 30th in Shanghai (the 30th's 15:59 UTC).
    assert len(figures["days"]) == 30
    assert figures["days"][29]["complaints"] == 1
    assert figures["days"][1]["complaints"] == 1 and figures["days"][1]["contacts_in"] == 1
    assert figures["days"][2]["csat_score"] == pytest.approx(100.0)


async def test_breakdowns_by_category_staff_and_channel(session: AsyncSession) -> None:
    ids = await _history(session)

    report = await build_report(session, SEPTEMBER, NOW, ReportSettings(churn_days=90))

    by = report.as_dict()["by"]
    categories = {row["key"]: row for row in by["category"]}
    assert set(categories) == {"product", "delivery", "-"}
    assert categories["product"]["ack_on_time_rate"] == pytest.approx(1.0)
    assert categories["delivery"]["ack_on_time_rate"] == pytest.approx(0.0)
    assert categories["delivery"]["csat_score"] == pytest.approx(50.0)
    assert categories["-"]["first_response_median_s"] is None  # K3: never answered
    staff = {row["key"]: row for row in by["staff"]}
    assert staff["Li"]["complaints"] == 1 and staff["Li"]["resolution_median_s"] == 5 * 3600
    assert staff["Wu"]["low_ratings"] == 1
    priorities = {row["key"]: row["complaints"] for row in by["priority"]}
    assert priorities == {"high": 1, "normal": 2}
    assert [row["key"] for row in by["channel"]] == ["complaint", "conversation"]
    assert by["channel"][0]["complaints"] == 3
    assert report.view(Dimension.STAFF) is not None
    assert ids["agent_one"]


async def test_business_hours_variants_count_only_open_hours(session: AsyncSession) -> None:
    await _history(session)
    hours = BusinessHours.parse("mon-sun 09:00-18:00", ZONE)

    figures = (
        await build_report(session, SEPTEMBER, NOW, ReportSettings(business_hours=hours), views=())
    ).as_dict()

    # 10:00→10:30 and 12:00→14:00 are all in open hours; K2's resolution, 12:00 on the
    # 5th to 18:00 on the 6th, has 6 + 9 open hours.
    assert figures["first_response_business_median_s"] == pytest.approx((1800 + 7200) / 2)
    assert figures["resolution_business_median_s"] == pytest.approx((5 + 15) * 3600 / 2)
    assert figures["resolution_business_p90_s"] == pytest.approx(15 * 3600)


async def test_an_empty_period_measures_nothing_rather_than_zero(session: AsyncSession) -> None:
    await _history(session)
    empty = Period.of(PeriodKind.WEEK, date(2025, 1, 8), ZONE)

    figures = (await build_report(session, empty, NOW, ReportSettings())).as_dict()

    assert figures["complaints"] == 0 and figures["customers_served"] == 0
    for rate in (
        "ack_on_time_rate", "resolve_on_time_rate", "first_response_median_s",
        "resolution_median_s", "csat_score", "rating_average", "rating_response_rate",
        "churn_rate", "retention_rate", "complaint_rate", "reopen_rate",
        "repeat_contact_rate", "care_reply_rate",
    ):  # fmt: skip
        assert figures[rate] is None, rate
    assert [day["complaints"] for day in figures["days"]] == [0] * 7
    assert figures["by"]["category"] == []


async def test_a_complaint_at_one_minute_to_midnight_is_that_local_days(
    session: AsyncSession,
) -> None:
    await _history(session)

    last_day = Period.of(PeriodKind.DAY, date(2026, 9, 30), ZONE)
    first_of_october = Period.of(PeriodKind.DAY, date(2026, 10, 1), ZONE)

    assert (
        await build_report(session, last_day, NOW, ReportSettings(), views=())
    ).overall.complaints == 1
    october = await build_report(session, first_of_october, NOW, ReportSettings(), views=())
    assert october.overall.complaints == 1  # the one filed at 00:00:30
    assert october.volumes.new_customers == 0
