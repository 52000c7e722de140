"""Campaigns without Telegram: audiences, planning into the outbox, cancelling, drafts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from care import audiences, messages
from care import campaigns as cp
from care.campaigns import CampaignError, CampaignProblem
from care.clock import ManualClock
from care.engine import EngineConfig, SendWindow
from care.models import (
    Campaign,
    CampaignStatus,
    Customer,
    CustomerTag,
    Outbox,
    OutboxState,
    StaffMember,
    StaffRole,
)
from care.planning import DueTimes
from care.staff import add_staff

TZ = "Asia/Shanghai"
MID_AUTUMN = date(2026, 9, 25)
WINDOW = SendWindow()  # 09:00, quiet 21:00–08:00


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def customer(
    session: AsyncSession,
    clock: ManualClock,
    name: str = "Anna",
    *,
    timezone: str | None = None,
    consent: bool = True,
    reachable: bool = True,
    erased: bool = False,
    language: str | None = None,
    **values: Any,
) -> Customer:
    """A customer who chatted with the bot (with a chat id)."""
    customer_count = len((await session.scalars(select(Customer.id))).all())
    record = Customer(
        telegram_user_id=1000 + customer_count,
        chat_id=values.pop("chat_id", 1000 + customer_count),
        first_name=name,
        timezone=timezone,
        consent_care=consent,
        reachable=reachable,
        erased_at=clock.now() if erased else None,
        language=language,
        created_at=values.pop("created_at", clock.now() - timedelta(days=400)),
        **values,
    )
    session.add(record)
    await session.flush()
    return record


async def admin(session: AsyncSession, clock: ManualClock) -> StaffMember:
    return await add_staff(session, 777, StaffRole.ADMIN, clock.now(), name="Ada")


async def mid_autumn(
    session: AsyncSession,
    clock: ManualClock,
    audience: Mapping[str, Any] | None = None,
    window: SendWindow = WINDOW,
    send_on: date = MID_AUTUMN,
) -> Campaign:
    return await cp.create_campaign(
        session,
        "Mid-Autumn 2026",
        "mid_autumn",
        None,
        audience or {"kind": "all"},
        send_on,
        window,
        clock.now(),
    )


async def planned(session: AsyncSession, campaign: Campaign) -> dict[int, Outbox]:
    rows = await session.scalars(select(Outbox).where(Outbox.campaign_id == campaign.id))
    return {row.customer_id: row for row in rows}


def fake_render(key: str, locale: str, values: Mapping[str, str]) -> str:
    return f"[{key}/{locale}] {values['name']} · {values['company']} · {values['occasion']}"


# ----------------------------------------------------------------------------- planning


async def test_mid_autumn_is_planned_at_nine_local_for_each_customer(
    session: AsyncSession, clock: ManualClock
) -> None:
    shanghai = await customer(session, clock, "小红", timezone="Asia/Shanghai")
    berlin = await customer(session, clock, "Emma", timezone="Europe/Berlin")
    default = await customer(session, clock, "无时区")
    opted_out = await customer(session, clock, "Opted out", consent=False)
    blocked = await customer(session, clock, "Blocked", reachable=False)
    forgotten = await customer(session, clock, "Forgotten", erased=True)
    never_chatted = await customer(session, clock, "Imported", chat_id=None)
    staff = await admin(session, clock)
    campaign = await mid_autumn(session, clock)
    assert campaign.status == CampaignStatus.DRAFT.value
    assert await audiences.audience_size(session, campaign.audience, clock.now()) == 3

    count = await cp.approve(session, campaign, staff, clock.now(), TZ)

    rows = await planned(session, campaign)
    assert count == 3 == campaign.planned_count
    assert rows[shanghai.id].due_at == utc(2026, 9, 25, 1, 0)
    assert rows[berlin.id].due_at == utc(2026, 9, 25, 7, 0)  # 09:00 CEST
    assert rows[default.id].due_at == utc(2026, 9, 25, 1, 0)
    for absent in (opted_out, blocked, forgotten, never_chatted):
        assert absent.id not in rows
    row = rows[shanghai.id]
    assert (row.state, row.dedupe_key, row.template) == ("pending", f"campaign:{campaign.id}", None)
    assert campaign.status == CampaignStatus.APPROVED.value
    assert campaign.approved_by == staff.id
    assert campaign.approved_at == clock.now()


@pytest.mark.parametrize("send_at", [time(22, 30), time(21, 0), time(0, 0), time(7, 59)])
async def test_a_send_time_in_quiet_hours_is_refused_with_the_reason(
    session: AsyncSession, clock: ManualClock, send_at: time
) -> None:
    """It used to move silently to 08:00, for an evening time the day after the occasion."""
    with pytest.raises(CampaignError) as refused:
        await mid_autumn(session, clock, window=SendWindow(send_at=send_at))
    assert refused.value.problem is CampaignProblem.IN_QUIET_HOURS
    assert refused.value.facts["time"] == send_at.strftime("%H:%M")
    assert (refused.value.facts["quiet_start"], refused.value.facts["quiet_end"]) == (
        "21:00",
        "08:00",
    )
    # An edit to such a time is refused too, and changes nothing.
    campaign = await mid_autumn(session, clock)
    with pytest.raises(CampaignError) as refused:
        await cp.edit_campaign(session, campaign, clock.now(), send_at=send_at, timezone=TZ)
    assert refused.value.problem is CampaignProblem.IN_QUIET_HOURS
    assert campaign.send_at_local == "09:00"
    # A draft made before such times were refused is not approved either.
    campaign.send_at_local = send_at.strftime("%H:%M")
    with pytest.raises(CampaignError) as refused:
        await cp.approve(session, campaign, None, clock.now(), TZ)
    assert refused.value.problem is CampaignProblem.IN_QUIET_HOURS
    assert campaign.status == CampaignStatus.DRAFT.value


@pytest.mark.parametrize("send_at", [time(8, 0), time(20, 59)])
async def test_send_times_out_of_quiet_hours_are_accepted(
    session: AsyncSession, clock: ManualClock, send_at: time
) -> None:
    campaign = await mid_autumn(session, clock, window=SendWindow(send_at=send_at))
    assert campaign.send_at_local == send_at.strftime("%H:%M")


async def test_approved_late_means_due_now_but_not_in_the_night(
    session: AsyncSession, clock: ManualClock
) -> None:
    shanghai = await customer(session, clock, timezone="Asia/Shanghai")
    berlin = await customer(session, clock, timezone="Europe/Berlin")
    campaign = await mid_autumn(session, clock)
    clock.set(utc(2026, 9, 25, 14, 0))  # 22:00 in Shanghai, 16:00 in Berlin

    await cp.approve(session, campaign, None, clock.now(), TZ)

    rows = await planned(session, campaign)
    assert rows[berlin.id].due_at == clock.now()
    # In Shanghai only quiet hours are left of the day: due now, for the sender to skip
    # as too late (care.timing), not at 08:00 the day after Mid-Autumn.
    assert rows[shanghai.id].due_at == clock.now()


async def test_a_day_over_in_the_companys_zone_is_refused_with_the_reason(
    session: AsyncSession, clock: ManualClock
) -> None:
    """It used to be accepted (and sent today) until the day was over everywhere."""
    clock.set(utc(2026, 9, 25, 16, 30))  # 00:30 on 26 September in Shanghai
    for send_on in (MID_AUTUMN, date(2026, 9, 20)):
        with pytest.raises(CampaignError) as refused:
            await cp.create_campaign(
                session, "Late", "mid_autumn", None, {"kind": "all"}, send_on, WINDOW,
                clock.now(), timezone=TZ,
            )  # fmt: skip
        assert refused.value.problem is CampaignProblem.IN_THE_PAST
        assert refused.value.facts["day"] == send_on.isoformat()
        assert refused.value.facts["today"] == "2026-09-26"
    today = await cp.create_campaign(
        session, "Today", "mid_autumn", None, {"kind": "all"}, date(2026, 9, 26), WINDOW,
        clock.now(), timezone=TZ,
    )  # fmt: skip
    assert today.send_on == date(2026, 9, 26)
    clock.set(utc(2026, 9, 26, 16, 0))  # the next day in Shanghai: it is too late to approve
    with pytest.raises(CampaignError) as refused:
        await cp.approve(session, today, None, clock.now(), TZ)
    assert refused.value.problem is CampaignProblem.IN_THE_PAST
    with pytest.raises(CampaignError) as refused:
        await cp.edit_campaign(session, today, clock.now(), audience={"kind": "all"}, timezone=TZ)
    assert refused.value.problem is CampaignProblem.IN_THE_PAST


async def test_a_day_over_everywhere_is_refused(session: AsyncSession, clock: ManualClock) -> None:
    with pytest.raises(CampaignError) as refused:
        await mid_autumn(session, clock, send_on=date(2026, 9, 20))
    assert refused.value.problem is CampaignProblem.IN_THE_PAST
    campaign = await mid_autumn(session, clock)
    clock.set(utc(2026, 9, 28))
    with pytest.raises(CampaignError) as refused:
        await cp.approve(session, campaign, None, clock.now(), TZ)
    assert refused.value.problem is CampaignProblem.IN_THE_PAST


async def test_planning_again_adds_only_new_customers(
    session: AsyncSession, clock: ManualClock
) -> None:
    first = await customer(session, clock)
    later = await customer(session, clock, consent=False)
    campaign = await mid_autumn(session, clock)
    assert await cp.approve(session, campaign, None, clock.now(), TZ) == 1
    due = (await planned(session, campaign))[first.id].due_at

    assert await cp.approve(session, campaign, None, clock.now(), TZ) == 1
    later.consent_care = True
    clock.advance(timedelta(hours=1))
    assert await cp.approve(session, campaign, None, clock.now(), TZ) == 2

    rows = await planned(session, campaign)
    assert set(rows) == {first.id, later.id}
    assert rows[first.id].due_at == due
    assert campaign.approved_at == clock.now() - timedelta(hours=1)  # the first approval


async def test_planning_reads_the_audience_in_pages(
    session: AsyncSession, clock: ManualClock
) -> None:
    people = [await customer(session, clock, f"c{n}") for n in range(7)]
    await customer(session, clock, "out", consent=False)
    campaign = await mid_autumn(session, clock)
    seen: list[tuple[int, int]] = []

    count = await cp.approve(
        session,
        campaign,
        None,
        clock.now(),
        TZ,
        chunk_size=3,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert count == 7
    assert set(await planned(session, campaign)) == {p.id for p in people}
    assert seen == [(3, 7), (6, 7), (7, 7)]


async def test_cancel_stops_pending_rows_only(session: AsyncSession, clock: ManualClock) -> None:
    sent, waiting = await customer(session, clock), await customer(session, clock)
    campaign = await mid_autumn(session, clock)
    await cp.approve(session, campaign, None, clock.now(), TZ)
    rows = await planned(session, campaign)
    rows[sent.id].state = OutboxState.SENT.value
    await session.flush()

    assert await cp.cancel(session, campaign) == 1

    await session.refresh(rows[waiting.id])
    assert rows[waiting.id].state == OutboxState.CANCELLED.value
    assert rows[sent.id].state == OutboxState.SENT.value
    assert campaign.status == CampaignStatus.CANCELLED.value
    with pytest.raises(CampaignError) as refused:
        await cp.approve(session, campaign, None, clock.now(), TZ)
    assert refused.value.problem is CampaignProblem.CANCELLED
    assert await cp.cancel(session, campaign) == 0


async def test_status_counts_rows_per_state(session: AsyncSession, clock: ManualClock) -> None:
    people = [await customer(session, clock) for _ in range(8)]
    campaign = await mid_autumn(session, clock)
    await cp.approve(session, campaign, None, clock.now(), TZ)
    rows = await planned(session, campaign)
    for person, state in zip(people, ("sent", "sent", "blocked", "unconfirmed"), strict=False):
        rows[person.id].state = state

    progress = await cp.status(session, campaign.id)

    assert progress is not None
    assert progress.planned == 8
    assert progress.count(OutboxState.SENT) == 2
    assert progress.count(OutboxState.PENDING) == 4
    assert progress.count(OutboxState.BLOCKED) == 1
    assert progress.count(OutboxState.UNCONFIRMED) == 1
    assert progress.count(OutboxState.FAILED) == 0
    assert progress.skipped_because == {}
    assert not progress.finished
    assert await cp.status(session, 9999) is None

    # Skipped at send time, each with its reason (care.outbox.SkipReason's values).
    for person, reason in zip(
        people[4:], ("opted_out", "unreachable", "opted_out", "no_longer_applies"), strict=True
    ):
        rows[person.id].state, rows[person.id].last_error = "skipped", reason
    progress = await cp.status(session, campaign.id)
    assert progress is not None and progress.count(OutboxState.SKIPPED) == 4
    assert list(progress.skipped_because.items()) == [
        ("opted_out", 2),
        ("no_longer_applies", 1),
        ("unreachable", 1),
    ]


async def test_finished_campaigns_are_marked_done(
    session: AsyncSession, clock: ManualClock
) -> None:
    person = await customer(session, clock)
    campaign = await mid_autumn(session, clock)
    await cp.approve(session, campaign, None, clock.now(), TZ)
    assert await cp.complete_finished(session) == []

    (await planned(session, campaign))[person.id].state = OutboxState.SENT.value
    await session.flush()

    assert await cp.complete_finished(session) == [campaign.id]
    await session.refresh(campaign)
    assert campaign.status == CampaignStatus.DONE.value
    with pytest.raises(CampaignError):
        await cp.cancel(session, campaign)


# ----------------------------------------------------------------------------- audiences


async def test_audiences_pick_their_customers(session: AsyncSession, clock: ManualClock) -> None:
    now = clock.now()
    vip = await customer(session, clock, "vip", last_seen_at=now - timedelta(days=1))
    session.add(CustomerTag(customer_id=vip.id, tag="vip"))
    regular = await customer(session, clock, "regular", customer_type="regular", last_seen_at=now)
    dormant = await customer(
        session, clock, "dormant", lifecycle_stage="dormant",
        last_seen_at=now - timedelta(days=120), last_contact_at=now - timedelta(days=120),
    )  # fmt: skip
    never = await customer(session, clock, "never", created_at=now - timedelta(days=100))
    # Quiet for 120 days, though we greeted them yesterday: our messages do not count.
    greeted = await customer(
        session, clock, "greeted",
        last_seen_at=now - timedelta(days=120), last_contact_at=now - timedelta(days=1),
    )  # fmt: skip
    # Never wrote; got our messages only.
    only_ours = await customer(
        session, clock, "only ours", created_at=now - timedelta(days=100),
        last_contact_at=now - timedelta(days=2),
    )  # fmt: skip
    new = await customer(session, clock, "new", created_at=now - timedelta(days=10))
    await session.flush()

    async def ids(text: str) -> set[int]:
        query = audiences.audience_query(audiences.parse_audience(text), now)
        return set((await session.scalars(query)).all())

    everyone = {vip.id, regular.id, dormant.id, never.id, greeted.id, only_ours.id, new.id}
    assert await ids("all") == everyone
    assert await ids("tag:vip") == {vip.id}
    assert await ids("type:regular") == {regular.id}
    assert await ids("stage:dormant") == {dormant.id}
    assert await ids("quiet:90") == {dormant.id, never.id, greeted.id, only_ours.id}
    assert await audiences.audience_size(session, audiences.parse_audience("quiet:90"), now) == 4
    assert await ids("tag:nobody") == set()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("everyone", CampaignProblem.UNKNOWN_AUDIENCE),
        ("type:banana", CampaignProblem.BAD_AUDIENCE_VALUE),
        ("stage:", CampaignProblem.BAD_AUDIENCE_VALUE),
        ("quiet:-3", CampaignProblem.BAD_AUDIENCE_VALUE),
        ("quiet:0", CampaignProblem.BAD_AUDIENCE_VALUE),
        ("tag:", CampaignProblem.BAD_AUDIENCE_VALUE),
        ("tag:two words", CampaignProblem.BAD_AUDIENCE_VALUE),
        ("all:x", CampaignProblem.BAD_AUDIENCE_VALUE),
    ],
)
def test_bad_audiences_are_refused(text: str, problem: CampaignProblem) -> None:
    with pytest.raises(CampaignError) as refused:
        audiences.parse_audience(text)
    assert refused.value.problem is problem


def test_audiences_read_and_write_the_same_way() -> None:
    for text in ("all", "tag:vip", "type:regular", "stage:dormant", "quiet:90"):
        assert audiences.audience_text(audiences.parse_audience(text)) == text
    assert audiences.parse_audience("Type:Regular") == {"kind": "customer_type", "value": "regular"}


async def test_a_campaign_needs_exactly_one_message(
    session: AsyncSession, clock: ManualClock
) -> None:
    def make(occasion: str | None, texts: dict[str, str] | None) -> Any:
        return cp.create_campaign(
            session, "x", occasion, texts, {"kind": "all"}, MID_AUTUMN, WINDOW, clock.now()
        )

    for occasion, texts, problem in (
        (None, None, CampaignProblem.NO_MESSAGE),
        (None, {"en": "  "}, CampaignProblem.NO_MESSAGE),
        ("mid_autumn", {"en": "Hi"}, CampaignProblem.BOTH_MESSAGES),
        (None, {"fr": "Salut"}, CampaignProblem.UNKNOWN_LOCALE),
        (None, {"en": "x" * 4097}, CampaignProblem.TEXT_TOO_LONG),
    ):
        with pytest.raises(CampaignError) as refused:
            await make(occasion, texts)
        assert refused.value.problem is problem
    free = await make(None, {"en": " Hello everyone! "})
    assert free.texts == {"zh_CN": "Hello everyone!", "en": "Hello everyone!"}


# ----------------------------------------------------------------------------- editing


async def test_a_draft_is_edited_and_approving_plans_the_edited_campaign(
    session: AsyncSession, clock: ManualClock
) -> None:
    vip = await customer(session, clock, "vip", timezone="Asia/Shanghai")
    session.add(CustomerTag(customer_id=vip.id, tag="vip"))
    await customer(session, clock, "other")
    staff = await admin(session, clock)
    campaign = await mid_autumn(session, clock)
    clock.advance(timedelta(minutes=5))

    edited = await cp.edit_campaign(
        session, campaign, clock.now(), edited_by=staff,
        audience=audiences.parse_audience("tag:vip"), send_on=date(2026, 9, 26),
        send_at=time(10, 30), texts={"en": " Dear VIP! "},
        name="VIP thanks",
    )  # fmt: skip

    assert edited is campaign
    assert campaign.status == CampaignStatus.DRAFT.value
    assert campaign.audience == {"kind": "tag", "tag": "vip"}
    assert (campaign.send_on, campaign.send_at_local) == (date(2026, 9, 26), "10:30")
    assert (campaign.quiet_start, campaign.quiet_end) == ("21:00", "08:00")  # kept
    assert campaign.occasion is None
    assert campaign.texts == {"zh_CN": "Dear VIP!", "en": "Dear VIP!"}
    assert campaign.name == "VIP thanks"
    assert (campaign.edited_by, campaign.edited_at) == (staff.id, clock.now())
    assert await audiences.audience_size(session, campaign.audience, clock.now()) == 1

    assert await cp.approve(session, campaign, staff, clock.now(), TZ) == 1
    rows = await planned(session, campaign)
    assert set(rows) == {vip.id}
    assert rows[vip.id].due_at == utc(2026, 9, 26, 2, 30)  # 10:30 in Shanghai


async def test_an_edit_changes_only_what_it_is_given(
    session: AsyncSession, clock: ManualClock
) -> None:
    free = await cp.create_campaign(
        session, "Sale", None, {"en": "Sale!", "zh_CN": "促销！"}, {"kind": "all"},
        MID_AUTUMN, WINDOW, clock.now(),
    )  # fmt: skip

    await cp.edit_campaign(session, free, clock.now(), send_at=time(11, 0))

    assert free.texts == {"en": "Sale!", "zh_CN": "促销！"}
    assert (free.name, free.audience, free.send_on) == ("Sale", {"kind": "all"}, MID_AUTUMN)
    assert free.send_at_local == "11:00"
    assert (free.edited_by, free.edited_at) == (None, clock.now())

    await cp.edit_campaign(session, free, clock.now(), occasion="national_day")
    assert (free.occasion, free.texts) == ("national_day", None)


async def test_only_drafts_are_edited(session: AsyncSession, clock: ManualClock) -> None:
    await customer(session, clock)
    approved = await mid_autumn(session, clock)
    await cp.approve(session, approved, None, clock.now(), TZ)
    cancelled = await mid_autumn(session, clock)
    await cp.cancel(session, cancelled)
    done = await mid_autumn(session, clock)
    done.status = CampaignStatus.DONE.value
    await session.flush()

    for campaign, problem in (
        (approved, CampaignProblem.NOT_A_DRAFT),
        (cancelled, CampaignProblem.CANCELLED),
        (done, CampaignProblem.DONE),
    ):
        with pytest.raises(CampaignError) as refused:
            await cp.edit_campaign(session, campaign, clock.now(), send_at=time(7, 0))
        assert refused.value.problem is problem
        assert campaign.send_at_local == "09:00"
        assert campaign.edited_at is None


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"audience": {"kind": "type", "value": "regular"}}, CampaignProblem.UNKNOWN_AUDIENCE),
        ({"audience": {"kind": "quiet", "days": 0}}, CampaignProblem.BAD_AUDIENCE_VALUE),
        ({"send_on": date(2026, 9, 20)}, CampaignProblem.IN_THE_PAST),
        ({"texts": {"en": "  "}}, CampaignProblem.NO_MESSAGE),
        ({"texts": {"fr": "Salut"}}, CampaignProblem.UNKNOWN_LOCALE),
        ({"texts": {"en": "x" * 4097}}, CampaignProblem.TEXT_TOO_LONG),
        ({"occasion": " "}, CampaignProblem.NO_MESSAGE),
        ({"occasion": "national_day", "texts": {"en": "Hi"}}, CampaignProblem.BOTH_MESSAGES),
    ],
)
async def test_a_bad_edit_changes_nothing(
    session: AsyncSession, clock: ManualClock, change: dict[str, Any], problem: CampaignProblem
) -> None:
    campaign = await mid_autumn(session, clock)

    with pytest.raises(CampaignError) as refused:
        await cp.edit_campaign(session, campaign, clock.now(), send_at=time(7, 0), **change)

    assert refused.value.problem is problem
    await session.refresh(campaign)
    assert (campaign.occasion, campaign.texts, campaign.audience) == (
        "mid_autumn", None, {"kind": "all"}
    )  # fmt: skip
    assert (campaign.send_on, campaign.send_at_local, campaign.edited_at) == (
        MID_AUTUMN, "09:00", None
    )  # fmt: skip


async def test_edits_and_approvals_read_the_campaign_as_last_committed(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    async with sessionmaker.begin() as session:
        vip = await customer(session, clock, "vip")
        session.add(CustomerTag(customer_id=vip.id, tag="vip"))
        await customer(session, clock, "other")
        first, second = await mid_autumn(session, clock), await mid_autumn(session, clock)
        first_id, second_id = first.id, second.id

    # An admin opens the first campaign to edit it; another approves it meanwhile.
    async with sessionmaker.begin() as editing:
        stale = await editing.get_one(Campaign, first_id)
        async with sessionmaker.begin() as approving:
            campaign = await approving.get_one(Campaign, first_id)
            await cp.approve(approving, campaign, None, clock.now(), TZ)
        with pytest.raises(CampaignError) as refused:
            await cp.edit_campaign(editing, stale, clock.now(), send_at=time(7, 0))
        assert refused.value.problem is CampaignProblem.NOT_A_DRAFT

    # An admin opens the second to approve it; another narrows its audience meanwhile.
    async with sessionmaker.begin() as approving:
        stale = await approving.get_one(Campaign, second_id)
        async with sessionmaker.begin() as editing:
            campaign = await editing.get_one(Campaign, second_id)
            await cp.edit_campaign(
                editing, campaign, clock.now(), audience={"kind": "tag", "tag": "vip"}
            )
        assert await cp.approve(approving, stale, None, clock.now(), TZ) == 1
        assert set(await planned(approving, stale)) == {vip.id}


async def test_a_draft_whose_day_passed_is_edited_to_a_day_to_come(
    session: AsyncSession, clock: ManualClock
) -> None:
    campaign = await mid_autumn(session, clock)
    clock.set(utc(2026, 9, 28))
    with pytest.raises(CampaignError) as refused:
        await cp.edit_campaign(session, campaign, clock.now(), audience={"kind": "all"})
    assert refused.value.problem is CampaignProblem.IN_THE_PAST

    await cp.edit_campaign(session, campaign, clock.now(), send_on=date(2026, 10, 1))
    assert campaign.send_on == date(2026, 10, 1)


# ----------------------------------------------------------------------------- words


async def test_preview_is_what_the_customer_gets(session: AsyncSession, clock: ManualClock) -> None:
    emma = await customer(session, clock, "Emma", language="en")
    xiaohong = await customer(session, clock, "小红")
    campaign = await mid_autumn(session, clock)

    async def preview(customer_id: int, campaign: Campaign = campaign) -> str | None:
        return await messages.preview(
            session, campaign, customer_id, fake_render, company="Acme", default_locale="zh_CN"
        )

    assert await preview(emma.id) == "[mid_autumn/en] Emma · Acme · Mid-Autumn Festival"
    assert await preview(xiaohong.id) == "[mid_autumn/zh_CN] 小红 · Acme · 中秋节"
    assert await preview(9999) is None
    free = await cp.create_campaign(
        session, "Sale", None, {"en": "Sale!", "zh_CN": "促销！"}, {"kind": "all"},
        MID_AUTUMN, WINDOW, clock.now(),
    )  # fmt: skip
    assert await preview(emma.id, free) == "Sale!"
    assert await preview(xiaohong.id, free) == "促销！"
    samples = messages.sample_texts(
        campaign, fake_render, company="Acme", default_locale="zh_CN", name=lambda loc: "NAME"
    )
    assert samples == {
        "zh_CN": "[mid_autumn/zh_CN] NAME · Acme · 中秋节",
        "en": "[mid_autumn/en] NAME · Acme · Mid-Autumn Festival",
    }


async def test_an_occasion_without_a_template_gets_the_general_greeting(
    session: AsyncSession, clock: ManualClock
) -> None:
    person = await customer(session, clock, "Emma", language="en")
    campaign = await cp.create_campaign(
        session, "Unity", "de_german_unity_day", None, {"kind": "all"}, date(2026, 10, 3),
        WINDOW, clock.now(),
    )  # fmt: skip

    def render(key: str, locale: str, values: Mapping[str, str]) -> str:
        if key != "greeting":
            raise KeyError(key)
        return fake_render(key, locale, values)

    text = await messages.preview(
        session, campaign, person.id, render, company="Acme", default_locale="zh_CN",
        countries=("DE",),
    )  # fmt: skip
    assert text == "[greeting/en] Emma · Acme · German Unity Day"


# ----------------------------------------------------------------------------- automatic


async def test_upcoming_occasions_are_drafted_once(
    session: AsyncSession, clock: ManualClock
) -> None:
    await customer(session, clock)
    config = EngineConfig(auto_campaign_days_before=3)
    today = date(2026, 9, 22)

    drafted = await cp.draft_upcoming(session, today, config, clock.now(), default_timezone=TZ)

    assert [(c.occasion, c.send_on, c.status) for c in drafted] == [
        ("mid_autumn", MID_AUTUMN, "draft")
    ]
    assert drafted[0].automatic and drafted[0].name == "Mid-Autumn Festival 2026"
    assert drafted[0].audience == {"kind": "all"}
    assert await cp.draft_upcoming(session, today, config, clock.now(), default_timezone=TZ) == []
    await cp.cancel(session, drafted[0])
    later = await cp.draft_upcoming(
        session, date(2026, 9, 24), config, clock.now(), default_timezone=TZ
    )
    assert later == []  # cancelled stays cancelled
    assert [c.id for c in await cp.unannounced(session, today)] == []


async def test_an_automatic_draft_moved_to_another_day_is_not_drafted_again(
    session: AsyncSession, clock: ManualClock
) -> None:
    config = EngineConfig(auto_campaign_days_before=3)
    [drafted] = await cp.draft_upcoming(
        session, date(2026, 9, 22), config, clock.now(), default_timezone=TZ
    )
    assert drafted.drafted_for == "mid_autumn:2026-09-25"

    await cp.edit_campaign(session, drafted, clock.now(), send_on=date(2026, 9, 24))
    again = await cp.draft_upcoming(
        session, date(2026, 9, 23), config, clock.now(), default_timezone=TZ
    )
    assert again == []
    await cp.edit_campaign(session, drafted, clock.now(), texts={"zh_CN": "中秋快乐"})
    again = await cp.draft_upcoming(
        session, date(2026, 9, 24), config, clock.now(), default_timezone=TZ
    )
    assert again == []


async def test_configured_occasions_are_approved_at_once(
    session: AsyncSession, clock: ManualClock
) -> None:
    person = await customer(session, clock, timezone="Europe/Berlin")
    config = EngineConfig(auto_campaign_days_before=10, auto_approve_occasions=("national_day",))

    drafted = await cp.draft_upcoming(
        session, date(2026, 9, 24), config, clock.now(), default_timezone=TZ
    )

    by_code = {c.occasion: c for c in drafted}
    assert set(by_code) == {"mid_autumn", "national_day"}
    assert by_code["mid_autumn"].status == CampaignStatus.DRAFT.value
    national_day = by_code["national_day"]
    assert national_day.status == CampaignStatus.APPROVED.value
    assert national_day.approved_by is None
    rows = await planned(session, national_day)
    assert rows[person.id].due_at == utc(2026, 10, 1, 7, 0)
    unannounced = await cp.unannounced(session, date(2026, 9, 24))
    assert [c.id for c in unannounced] == [c.id for c in drafted]


async def test_a_manual_campaign_for_the_occasion_is_not_drafted_again(
    session: AsyncSession, clock: ManualClock
) -> None:
    await mid_autumn(session, clock)
    drafted = await cp.draft_upcoming(
        session, date(2026, 9, 23), EngineConfig(), clock.now(), default_timezone=TZ
    )
    assert drafted == []


# ----------------------------------------------------------------------------- times


@pytest.mark.parametrize(
    ("send_at", "quiet", "zone", "expected"),
    [
        (time(9, 0), (time(21, 0), time(8, 0)), "Asia/Shanghai", utc(2026, 9, 25, 1, 0)),
        (time(7, 0), (time(21, 0), time(8, 0)), "Asia/Shanghai", utc(2026, 9, 25, 0, 0)),
        (time(22, 30), (time(21, 0), time(8, 0)), "Asia/Shanghai", utc(2026, 9, 26, 0, 0)),
        (time(21, 0), (time(21, 0), time(8, 0)), "Asia/Shanghai", utc(2026, 9, 26, 0, 0)),
        (time(8, 0), (time(21, 0), time(8, 0)), "Asia/Shanghai", utc(2026, 9, 25, 0, 0)),
        (time(13, 0), (time(12, 0), time(14, 0)), "Asia/Shanghai", utc(2026, 9, 25, 6, 0)),
        (time(3, 0), (time(0, 0), time(0, 0)), "Asia/Shanghai", utc(2026, 9, 24, 19, 0)),
        (time(9, 0), (time(21, 0), time(8, 0)), "America/New_York", utc(2026, 9, 25, 13, 0)),
        (time(9, 0), (time(21, 0), time(8, 0)), "Not/AZone", utc(2026, 9, 25, 1, 0)),
    ],
)
def test_due_times(send_at: time, quiet: tuple[time, time], zone: str, expected: datetime) -> None:
    times = DueTimes(SendWindow(send_at, *quiet), TZ, utc(2026, 9, 1))
    assert times.due(MID_AUTUMN, zone) == expected


def test_due_times_on_the_day_refuse_a_late_greeting() -> None:
    # 23:00 in Shanghai on the 25th: the quiet hours end on the 26th, too late.
    times = DueTimes(WINDOW, TZ, utc(2026, 9, 25, 15, 0))
    assert times.on_the_day(MID_AUTUMN, "Asia/Shanghai") is None
    assert times.on_the_day(MID_AUTUMN, "Europe/Berlin") == utc(2026, 9, 25, 15, 0)


@pytest.mark.parametrize(
    ("typed", "day", "expected"),
    [
        ("mid_autumn", None, ("mid_autumn", date(2026, 9, 25))),
        ("中秋节", None, ("mid_autumn", date(2026, 9, 25))),
        ("Mid-Autumn Festival", None, ("mid_autumn", date(2026, 9, 25))),
        ("dragon_boat", None, ("dragon_boat", date(2027, 6, 9))),  # 2026's has passed
        ("christmas", date(2026, 12, 24), ("christmas", date(2026, 12, 25))),
        ("xmas", None, None),
    ],
)
def test_occasions_are_found_by_code_or_name(
    typed: str, day: date | None, expected: tuple[str, date] | None
) -> None:
    found = cp.find_occasion(typed, day, date(2026, 9, 24), ("CN",))
    assert (None if found is None else (found.code, found.on)) == expected
