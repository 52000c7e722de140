"""The complaint lifecycle without Telegram: filing, transitions, audit, SLA, ratings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care import complaints as c
from care import customers, deadlines, staff
from care.clock import ManualClock
from care.models import (
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Customer,
    Priority,
    StaffMember,
    StaffRole,
)
from care.sla import BusinessHours, SlaPolicy
from care.triage import Triage

S = ComplaintStatus
POLICY = SlaPolicy()
TRIAGE = Triage()
TZ = "Asia/Shanghai"


async def make_customer(session: AsyncSession, clock: ManualClock, user_id: int = 1) -> Customer:
    who = customers.TelegramIdentity(user_id=user_id, chat_id=user_id, first_name="Anna")
    customer, _ = await customers.get_or_create_customer(session, who, clock.now())
    return customer


async def make_agent(session: AsyncSession, clock: ManualClock, user_id: int = 900) -> StaffMember:
    return await staff.add_staff(session, user_id, StaffRole.AGENT, clock.now(), name="王丽")


async def file(
    session: AsyncSession, customer: Customer, clock: ManualClock, text: str = "快递三天还没到"
) -> Complaint:
    draft = await c.start_draft(session, customer, clock.now())
    c.set_category(draft, "delivery")
    c.set_description(draft, text)
    return await c.file_complaint(session, draft, POLICY, TRIAGE, clock.now(), TZ)


async def test_filing_gives_a_number_deadlines_and_an_event(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await make_customer(session, clock)
    complaint = await file(session, customer, clock)
    assert complaint.number == f"C-2026-{complaint.id:06d}"
    assert c.status_of(complaint) is S.NEW and c.priority_of(complaint) is Priority.NORMAL
    assert complaint.acknowledge_due_at == clock.now() + timedelta(hours=2)
    assert complaint.resolve_due_at == clock.now() + timedelta(hours=48)
    [event] = await c.history(session, complaint.id)
    assert (event.type, event.by_customer, event.to_status) == ("filed", True, "new")
    assert await c.find_by_number(session, complaint.number.lower(), customer.id) is complaint
    other = await make_customer(session, clock, user_id=2)
    assert await c.find_by_number(session, complaint.number, other.id) is None


@pytest.mark.parametrize(
    ("text", "priority"),
    [
        ("快递还没到", Priority.NORMAL),
        ("你们太差了，快递还没到", Priority.HIGH),
        ("你们太差了！！！快递还没到", Priority.URGENT),
        ("WHERE IS MY PARCEL, IT IS TWO WEEKS LATE", Priority.HIGH),
        ("This is unacceptable!!!", Priority.URGENT),
    ],
)
async def test_upset_customers_get_a_higher_priority(
    session: AsyncSession, clock: ManualClock, text: str, priority: Priority
) -> None:
    complaint = await file(session, await make_customer(session, clock), clock, text)
    assert c.priority_of(complaint) is priority
    assert complaint.agitated is (priority is not Priority.NORMAL)


async def test_lifecycle_is_audited_and_repeats_change_nothing(
    session: AsyncSession, clock: ManualClock
) -> None:
    complaint = await file(session, await make_customer(session, clock), clock)
    agent = await make_agent(session, clock)
    clock.advance(timedelta(minutes=10))
    first = await c.acknowledge(session, complaint, agent, clock.now())
    assert first is not None and (first.from_status, first.to_status) == (S.NEW, S.ACKNOWLEDGED)
    assert await c.acknowledge(session, complaint, agent, clock.now()) is None
    assert complaint.acknowledged_on_time is True
    taken = await c.take(session, complaint, agent, clock.now())
    assert taken is not None and complaint.assignee_id == agent.id
    assert await c.take(session, complaint, agent, clock.now()) is None
    reply = await c.record_staff_reply(session, complaint, agent, "请提供订单号", clock.now())
    assert reply.to_status is S.WAITING_CUSTOMER
    back = await c.record_customer_message(session, complaint, "订单号 123", clock.now())
    assert (back.from_status, back.to_status) == (S.WAITING_CUSTOMER, S.IN_PROGRESS)
    await c.add_note(session, complaint, agent, "客户很着急", clock.now())
    resolved = await c.resolve(session, complaint, agent, "已补发", clock.now())
    assert resolved is not None and complaint.resolved_on_time is True
    assert await c.resolve(session, complaint, agent, "again", clock.now()) is None

    with pytest.raises(c.Refused) as refused:
        await c.acknowledge(session, complaint, agent, clock.now())
    assert refused.value.reason is c.Refusal.NOT_ALLOWED

    public = [(e.type, e.to_status) for e in await c.history(session, complaint.id)]
    assert ("note", None) not in public, "internal notes are not shown to the customer"
    everything = await c.history(session, complaint.id, internal=True)
    assert [e.type for e in everything].count("note") == 1
    ids = [e.id for e in everything]
    assert ids == sorted(ids)


async def test_reopen_gives_fresh_deadlines_and_late_stays_late(
    session: AsyncSession, clock: ManualClock
) -> None:
    complaint = await file(session, await make_customer(session, clock), clock)
    agent = await make_agent(session, clock)
    clock.advance(timedelta(hours=3))  # acknowledgement is late (2 h)
    await c.acknowledge(session, complaint, agent, clock.now())
    assert complaint.acknowledged_on_time is False
    await c.resolve(session, complaint, agent, "done", clock.now())
    change = await c.reopen(session, complaint, POLICY, clock.now(), by_customer=True)
    assert change is not None and change.to_status is S.REOPENED
    assert complaint.resolve_due_at == clock.now() + timedelta(hours=48)
    assert complaint.resolved_at is None
    await c.acknowledge(session, complaint, agent, clock.now())
    await c.resolve(session, complaint, agent, "done again", clock.now())
    assert deadlines.timeliness([complaint]) == 0.0


async def test_sla_alerts_come_once_per_deadline(session: AsyncSession, clock: ManualClock) -> None:
    complaint = await file(session, await make_customer(session, clock), clock)
    assert await deadlines.claim_sla_alerts(session, POLICY, clock.now()) == []
    clock.advance(timedelta(minutes=91))  # 29 min left of 120: under a quarter
    [warning] = await deadlines.claim_sla_alerts(session, POLICY, clock.now())
    assert warning.stage is deadlines.SlaStage.ACKNOWLEDGE_WARNING
    assert await deadlines.claim_sla_alerts(session, POLICY, clock.now()) == []
    clock.advance(timedelta(minutes=30))
    [breach] = await deadlines.claim_sla_alerts(session, POLICY, clock.now())
    assert breach.stage is deadlines.SlaStage.ACKNOWLEDGE_BREACH
    clock.advance(timedelta(minutes=30))
    assert await deadlines.claim_sla_alerts(session, POLICY, clock.now()) == []
    assert complaint.acknowledged_on_time is False
    kinds = [e.type for e in await c.history(session, complaint.id, internal=True)]
    assert kinds.count("sla_warning") == 1 and kinds.count("sla_breach") == 1


async def test_unanswered_resolved_complaints_close(
    session: AsyncSession, clock: ManualClock
) -> None:
    complaint = await file(session, await make_customer(session, clock), clock)
    await c.resolve(session, complaint, await make_agent(session, clock), "ok", clock.now())
    assert await deadlines.claim_unanswered_resolved(session, timedelta(days=7), clock.now()) == []
    clock.advance(timedelta(days=7, minutes=1))
    [change] = await deadlines.claim_unanswered_resolved(session, timedelta(days=7), clock.now())
    assert change.to_status is S.CLOSED and complaint.closed_at == clock.now()


async def test_ratings(session: AsyncSession, clock: ManualClock) -> None:
    complaint = await file(session, await make_customer(session, clock), clock)
    with pytest.raises(c.Refused):
        await c.rate(session, complaint, 4, clock.now())
    await c.resolve(session, complaint, await make_agent(session, clock), "ok", clock.now())
    with pytest.raises(c.Refused):
        await c.rate(session, complaint, 6, clock.now())
    assert await c.rate(session, complaint, 2, clock.now()) is not None
    assert await c.rate(session, complaint, 2, clock.now()) is None
    assert complaint.rating == 2


async def test_attachments_are_capped_at_ten(session: AsyncSession, clock: ManualClock) -> None:
    draft = await c.start_draft(session, await make_customer(session, clock), clock.now())
    for n in range(10):
        assert await c.add_attachment(session, draft, "photo", f"file-{n}", clock.now()) == n + 1
    with pytest.raises(c.Refused) as refused:
        await c.add_attachment(session, draft, "photo", "one-too-many", clock.now())
    assert refused.value.reason is c.Refusal.TOO_MANY_ATTACHMENTS
    # The same file again (its message handled a second time) is already there.
    assert await c.add_attachment(session, draft, "photo", "file-3", clock.now()) == 10


async def test_words_added_to_a_description_come_once(
    session: AsyncSession, clock: ManualClock
) -> None:
    draft = await c.start_draft(session, await make_customer(session, clock), clock.now())
    c.set_description(draft, "箱子压坏了")
    for words in ("盒子也湿了", "盒子也湿了 ", "", "箱子压坏了"):
        c.add_to_description(draft, words)
    assert draft.description == "箱子压坏了\n盒子也湿了\n箱子压坏了"


@pytest.mark.parametrize(
    ("existing", "new", "same"),
    [
        ("我的快递三天了还没到，订单号123", "快递三天还没到", True),
        ("快递三天还没到", "发票开错了，请重新开", False),
        ("My parcel has not arrived after three days", "parcel not arrived, three days", True),
        ("My parcel has not arrived", "The invoice amount is wrong", False),
    ],
)
async def test_duplicates_are_found_in_chinese_and_english(
    session: AsyncSession, clock: ManualClock, existing: str, new: str, same: bool
) -> None:
    customer = await make_customer(session, clock)
    open_one = await file(session, customer, clock, existing)
    found = await c.similar_open_complaint(session, customer.id, new, TRIAGE)
    assert (found is open_one) is same


async def test_merging_a_draft_adds_to_the_open_complaint(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await make_customer(session, clock)
    target = await file(session, customer, clock)
    draft = await c.start_draft(session, customer, clock.now())
    c.set_description(draft, "还是没到")
    await c.add_attachment(session, draft, "photo", "f1", clock.now())
    change = await c.merge_draft(session, draft, target, clock.now())
    assert change.event.note == "还是没到"
    assert [a.file_id for a in await c.attachments_of(session, target.id)] == ["f1"]
    assert await c.current_draft(session, customer.id) is None


def test_business_hours_skip_nights_and_weekends() -> None:
    hours = BusinessHours.parse("mon-fri 09:00-18:00", "Asia/Shanghai")
    # Friday 17:00 Shanghai + 2 business hours = Monday 10:00.
    friday = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    assert hours.add(friday, timedelta(hours=2)) == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    # Saturday night counts from Monday 09:00.
    saturday = datetime(2026, 11, 21, 14, 0, tzinfo=UTC)
    assert hours.add(saturday, timedelta(minutes=30)) == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        BusinessHours.parse("weekdays 9-5", "UTC")


async def test_events_are_never_rewritten(session: AsyncSession, clock: ManualClock) -> None:
    complaint = await file(session, await make_customer(session, clock), clock)
    agent = await make_agent(session, clock)
    before = [(e.id, e.type, e.at) for e in await c.history(session, complaint.id, internal=True)]
    await c.acknowledge(session, complaint, agent, clock.now())
    await c.take(session, complaint, agent, clock.now())
    after = (await session.scalars(select(ComplaintEvent).order_by(ComplaintEvent.id))).all()
    assert [(e.id, e.type, e.at) for e in after][: len(before)] == before


async def test_nul_characters_never_reach_the_database(
    session: AsyncSession, clock: ManualClock
) -> None:
    # PostgreSQL refuses NUL in text; people can still type one.
    customer = await make_customer(session, clock)
    complaint = await file(session, customer, clock, "broken\x00 vase")
    await session.flush()
    await session.refresh(complaint)
    assert complaint.description == "broken vase"


async def test_a_reopened_complaint_is_rated_afresh(
    session: AsyncSession, clock: ManualClock
) -> None:
    complaint = await file(session, await make_customer(session, clock), clock)
    agent = await make_agent(session, clock)
    await c.resolve(session, complaint, agent, "ok", clock.now())
    await c.rate(session, complaint, 2, clock.now())
    await c.reopen(session, complaint, POLICY, clock.now(), by_customer=True)
    assert complaint.rating == 2, "a reopening erases no rating (care.ratings keeps each)"
    await c.resolve(session, complaint, agent, "really ok", clock.now())
    assert await c.rate(session, complaint, 2, clock.now()) is not None, "a new rating"
    ratings = [e.note for e in await c.history(session, complaint.id) if e.type == "rating"]
    assert ratings == ["2", "2"]
