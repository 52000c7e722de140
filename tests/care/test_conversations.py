"""Conversations without Telegram: opening, the states, deadlines, out of hours, closing
after a quiet time, turning one into a complaint, topics (SLA alerts:
test_conversation_deadlines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from care import conversations as cv
from care.clock import ManualClock
from care.conversation_models import ConversationStatus
from care.models import ContactKind, Priority
from care.sla import BusinessHours, SlaPolicy
from care.triage import Triage
from tests.care.test_complaints import make_agent, make_customer

S = ConversationStatus
POLICY = SlaPolicy()
TEXT = ContactKind.TEXT.value


async def test_the_first_message_opens_a_conversation_and_the_next_continue_it(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await make_customer(session, clock)
    first = await cv.record_customer_message(
        session, customer, TEXT, "营业时间？", POLICY, clock.now()
    )
    assert first.opened and first.closed_until is None
    conversation = first.change.conversation
    assert conversation.status == S.OPEN.value
    assert conversation.first_response_due_at == clock.now() + timedelta(hours=2)
    assert conversation.resolve_due_at == clock.now() + timedelta(hours=48)
    clock.advance(timedelta(minutes=1))
    second = await cv.record_customer_message(session, customer, "photo", None, POLICY, clock.now())
    assert not second.opened and second.change.conversation.id == conversation.id
    kinds = [(e.type, e.message_kind) for e in await cv.events_of(session, conversation.id)]
    assert kinds == [("opened", None), ("customer_message", "text"), ("customer_message", "photo")]


async def test_answers_and_messages_move_it_between_us_and_the_customer(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await make_customer(session, clock)
    agent = await make_agent(session, clock)
    inbound = await cv.record_customer_message(session, customer, TEXT, "hi", POLICY, clock.now())
    conversation = inbound.change.conversation
    acknowledged = await cv.acknowledge(session, conversation, agent, clock.now())
    assert acknowledged is not None and acknowledged.to_status is S.WAITING_STAFF
    assert await cv.acknowledge(session, conversation, agent, clock.now()) is None, "idempotent"
    clock.advance(timedelta(minutes=5))
    answered = await cv.record_staff_answer(
        session, conversation, agent, TEXT, "hello", clock.now()
    )
    assert answered.to_status is S.WAITING_CUSTOMER
    assert conversation.first_response_at == clock.now()
    back = await cv.record_customer_message(session, customer, TEXT, "thanks", POLICY, clock.now())
    assert (
        back.change.from_status is S.WAITING_CUSTOMER and back.change.to_status is S.WAITING_STAFF
    )
    taken = await cv.take(session, conversation, agent, clock.now())
    assert taken is not None and conversation.assignee_id == agent.id
    assert await cv.take(session, conversation, agent, clock.now()) is None
    closed = await cv.close(session, conversation, agent, clock.now())
    assert closed is not None and conversation.closed_by == agent.id
    assert await cv.close(session, conversation, agent, clock.now()) is None
    again = await cv.record_customer_message(
        session, customer, TEXT, "one more", POLICY, clock.now()
    )
    assert again.opened and again.change.conversation.id != conversation.id


async def test_out_of_hours_the_customer_is_told_once_when_we_open(
    session: AsyncSession, clock: ManualClock
) -> None:
    hours = BusinessHours.parse("mon-fri 09:00-18:00", "Asia/Shanghai")
    policy = SlaPolicy(business_hours=hours)
    clock.set(datetime(2026, 9, 25, 12, 0, tzinfo=UTC))  # Friday 20:00 in Shanghai
    customer = await make_customer(session, clock)
    first = await cv.record_customer_message(session, customer, TEXT, "hi", policy, clock.now())
    monday = datetime(2026, 9, 28, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert first.closed_until == monday
    assert first.change.conversation.first_response_due_at == monday + timedelta(hours=2)
    second = await cv.record_customer_message(
        session, customer, TEXT, "hello?", policy, clock.now()
    )
    assert second.closed_until is None, "once per conversation"
    assert hours.is_open(monday) and not hours.is_open(clock.now())


async def test_quiet_conversations_close_but_never_one_waiting_for_us(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await make_customer(session, clock)
    other = await make_customer(session, clock, user_id=2)
    agent = await make_agent(session, clock)
    answered = (
        await cv.record_customer_message(session, customer, TEXT, "a", POLICY, clock.now())
    ).change.conversation
    waiting = (
        await cv.record_customer_message(session, other, TEXT, "b", POLICY, clock.now())
    ).change.conversation
    await cv.record_staff_answer(session, answered, agent, TEXT, "done", clock.now())
    clock.advance(timedelta(hours=3))
    assert await cv.close_quiet(session, timedelta(hours=24), clock.now()) == []
    clock.advance(timedelta(hours=21))
    [closed] = await cv.close_quiet(session, timedelta(hours=24), clock.now())
    assert closed.conversation.id == answered.id and answered.closed_by is None
    assert waiting.status == S.OPEN.value, "still waiting for us: never closed by the clock"


async def test_a_conversation_becomes_a_complaint_that_belongs_to_it(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await make_customer(session, clock)
    agent = await make_agent(session, clock)
    conversation = (
        await cv.record_customer_message(session, customer, TEXT, "水壶漏水", POLICY, clock.now())
    ).change.conversation
    await cv.record_customer_message(session, customer, TEXT, "底部在滴水", POLICY, clock.now())
    complaint = await cv.to_complaint(
        session, conversation, agent, "product", Priority.HIGH, POLICY, Triage(), clock.now(),
        "Asia/Shanghai",
    )  # fmt: skip
    assert complaint.conversation_id == conversation.id
    assert complaint.description == "水壶漏水\n底部在滴水"
    assert complaint.priority == "high"
    assert complaint.acknowledge_due_at == clock.now() + timedelta(minutes=30)
    assert (await cv.complaint_of(session, conversation.id)) is complaint


async def test_the_topic_row_is_made_once_per_customer_and_chat(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await make_customer(session, clock)
    topic, made = await cv.topic_row(session, customer.id, -100, clock.now())
    again, made_again = await cv.topic_row(session, customer.id, -100, clock.now())
    assert made and not made_again and again.id == topic.id
    await cv.record_topic(session, topic.id, thread_id=7, name="🟢 Anna · #1")
    found = await cv.topic_by_thread(session, -100, 7)
    assert found is not None and found.customer_id == customer.id
