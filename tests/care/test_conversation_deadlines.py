"""A conversation's SLA alerts without Telegram: a warning before the first response and
the resolution are due, a breach after, each claimed once, none for what is done."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from care import conversations as cv
from care.clock import ManualClock
from care.conversation_deadlines import ConversationSlaStage, claim_sla_alerts
from care.models import ContactKind
from care.privacy import forget_customer
from care.sla import SlaPolicy
from tests.care.test_complaints import make_agent, make_customer

POLICY = SlaPolicy()  # first answer in 2 h, settled in 48 h; warned when a quarter is left
TEXT = ContactKind.TEXT.value
Stage = ConversationSlaStage


async def claimed(session: AsyncSession, clock: ManualClock) -> list[tuple[int, Stage]]:
    return [
        (a.conversation.id, a.stage) for a in await claim_sla_alerts(session, POLICY, clock.now())
    ]


async def test_each_deadline_is_warned_of_then_breached_once(
    session: AsyncSession, clock: ManualClock
) -> None:
    agent = await make_agent(session, clock)
    answered = (
        await cv.record_customer_message(
            session, await make_customer(session, clock), TEXT, "a", POLICY, clock.now()
        )
    ).change.conversation
    waiting = (
        await cv.record_customer_message(
            session, await make_customer(session, clock, user_id=2), TEXT, "b", POLICY, clock.now()
        )
    ).change.conversation
    await cv.record_staff_answer(session, answered, agent, TEXT, "done", clock.now())

    clock.advance(timedelta(hours=1, minutes=29))
    assert await claimed(session, clock) == [], "more than a quarter of 2 h left"
    clock.advance(timedelta(minutes=1))
    assert await claimed(session, clock) == [(waiting.id, Stage.FIRST_RESPONSE_WARNING)]
    assert await claimed(session, clock) == [], "once"
    clock.advance(timedelta(minutes=30))
    assert await claimed(session, clock) == [(waiting.id, Stage.FIRST_RESPONSE_BREACH)]
    assert await claimed(session, clock) == [], "once"

    clock.advance(timedelta(hours=34))  # 36 h in: a quarter of 48 h left
    assert await claimed(session, clock) == [
        (answered.id, Stage.RESOLVE_WARNING),
        (waiting.id, Stage.RESOLVE_WARNING),
    ]
    await cv.close(session, answered, agent, clock.now())
    clock.advance(timedelta(hours=12))
    assert await claimed(session, clock) == [(waiting.id, Stage.RESOLVE_BREACH)], "not closed ones"
    assert await claimed(session, clock) == []
    notes = [
        (e.type, e.note)
        for e in await cv.events_of(session, waiting.id)
        if e.type.startswith("sla")
    ]
    assert notes == [
        ("sla_warning", "first_response_warning"),
        ("sla_breach", "first_response_breach"),
        ("sla_warning", "resolve_warning"),
        ("sla_breach", "resolve_breach"),
    ]


async def test_a_deadline_passed_unwatched_gives_only_its_breach(
    session: AsyncSession, clock: ManualClock
) -> None:
    conversation = (
        await cv.record_customer_message(
            session, await make_customer(session, clock), TEXT, "hi", POLICY, clock.now()
        )
    ).change.conversation
    clock.advance(timedelta(hours=49))
    assert await claimed(session, clock) == [
        (conversation.id, Stage.FIRST_RESPONSE_BREACH),
        (conversation.id, Stage.RESOLVE_BREACH),
    ]
    assert conversation.first_response_warned_at == conversation.first_response_breached_at
    assert await claimed(session, clock) == []


async def test_forgetting_the_customer_keeps_the_alerts_stages_and_drops_their_words(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await make_customer(session, clock)
    conversation = (
        await cv.record_customer_message(
            session, customer, TEXT, "我的地址是…", POLICY, clock.now()
        )
    ).change.conversation
    clock.advance(timedelta(hours=3))
    assert len(await claimed(session, clock)) == 1
    await forget_customer(session, customer, clock.now())
    notes = [(e.type, e.note) for e in await cv.events_of(session, conversation.id)]
    assert ("sla_breach", "first_response_breach") in notes, "a code, kept for the figures"
    assert ("customer_message", None) in notes, "their words are gone"
