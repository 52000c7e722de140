"""The outbox without Telegram: claiming, outcomes, recovery, progress, send-time words."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from care import contacts, customers, outbox, privacy
from care.clock import ManualClock
from care.engine import EngineConfig, FollowUpRules
from care.followups import plan_personal_and_followups
from care.models import (
    Campaign,
    CampaignStatus,
    Complaint,
    ComplaintStatus,
    ContactKind,
    Customer,
    Direction,
    Outbox,
    OutboxState,
)

BOOK = {
    "mid_autumn": {
        "zh_CN": "{name}，{company}祝您{occasion}快乐！",
        "en": "Happy {occasion}, {name}!",
    },
    "followup.after_purchase": {"zh_CN": "{name}，新买的东西还好用吗？", "en": "{name}, all well?"},
    "followup.after_resolution": {
        "zh_CN": "{name}，现在一切都好吗？",
        "en": "All right now, {name}?",
    },
    "followup.win_back": {"zh_CN": "{name}，好久不见！", "en": "We miss you, {name}!"},
}


def render(key: str, locale: str, values: Mapping[str, str]) -> str:
    """A stand-in for ``TemplateBook.render``: the key's text in the locale, filled in."""
    texts = BOOK[key]
    return texts.get(locale, texts["zh_CN"]).format(**values)


async def a_customer(
    session: AsyncSession,
    clock: ManualClock,
    user_id: int,
    *,
    name: str = "Ann",
    language: str | None = "en",
    consent: bool = True,
) -> Customer:
    who = customers.TelegramIdentity(user_id=user_id, chat_id=user_id, first_name=name)
    customer, _ = await customers.get_or_create_customer(session, who, clock.now())
    customer.language = language
    customers.set_consent(customer, consent, clock.now())
    await session.flush()
    return customer


async def a_campaign(
    session: AsyncSession,
    clock: ManualClock,
    *,
    occasion: str | None = None,
    texts: dict[str, str] | None = None,
    status: CampaignStatus = CampaignStatus.APPROVED,
) -> Campaign:
    campaign = Campaign(
        name="Mid-Autumn",
        occasion=occasion,
        texts=texts,
        audience={"kind": "all"},
        send_on=date(2026, 9, 25),
        status=status.value,
        created_at=clock.now(),
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def a_row(
    session: AsyncSession,
    customer: Customer,
    clock: ManualClock,
    *,
    due_in: timedelta = timedelta(0),
    campaign: Campaign | None = None,
    template: str | None = None,
    key: str | None = None,
    state: OutboxState = OutboxState.PENDING,
) -> Outbox:
    row = Outbox(
        customer_id=customer.id,
        campaign_id=campaign.id if campaign else None,
        template=template if campaign is None else None,
        rule=None if campaign else "followup.after_purchase",
        dedupe_key=key or f"test:{customer.id}:{due_in.total_seconds()}:{template}",
        due_at=clock.now() + due_in,
        state=state.value,
    )
    session.add(row)
    await session.flush()
    return row


async def state_of(session: AsyncSession, row_id: int) -> Outbox:
    found = await session.scalar(
        select(Outbox).where(Outbox.id == row_id).execution_options(populate_existing=True)
    )
    assert found is not None
    return found


# ----------------------------------------------------------------------------- claiming


async def test_claim_takes_due_pending_rows_oldest_first(
    session: AsyncSession, clock: ManualClock
) -> None:
    ann = await a_customer(session, clock, 1001)
    later = await a_row(session, ann, clock, due_in=timedelta(minutes=-1), template="a")
    oldest = await a_row(session, ann, clock, due_in=timedelta(minutes=-5), template="b")
    now = await a_row(session, ann, clock, template="c")
    await a_row(session, ann, clock, due_in=timedelta(seconds=1), template="future")
    await a_row(
        session, ann, clock, due_in=timedelta(hours=-1), template="x", state=OutboxState.SENT
    )

    claimed = await outbox.claim_due(session, clock.now(), 10, "worker-1")

    assert [row.id for row in claimed] == [oldest.id, later.id, now.id]
    for row in claimed:
        assert row.state == OutboxState.SENDING
        assert (row.claimed_by, row.claimed_at, row.attempts) == ("worker-1", clock.now(), 1)
    assert await outbox.claim_due(session, clock.now(), 10, "worker-1") == []


async def test_claim_respects_the_limit_and_the_next_claim_gets_the_rest(
    session: AsyncSession, clock: ManualClock
) -> None:
    ann = await a_customer(session, clock, 1001)
    rows = [
        await a_row(session, ann, clock, due_in=timedelta(seconds=-i), template=f"t{i}")
        for i in range(5)
    ]
    first = await outbox.claim_due(session, clock.now(), 3, "w")
    second = await outbox.claim_due(session, clock.now(), 3, "w")
    assert [r.id for r in first] == [rows[4].id, rows[3].id, rows[2].id]
    assert [r.id for r in second] == [rows[1].id, rows[0].id]
    assert await outbox.claim_due(session, clock.now(), 0, "w") == []


async def test_concurrent_claimers_never_share_a_row(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    async with sessionmaker.begin() as session:
        for n in range(8):
            customer = await a_customer(session, clock, 2000 + n)
            for k in range(5):
                await a_row(
                    session, customer, clock, due_in=timedelta(seconds=-k), template=f"t{k}"
                )

    async def claimer(worker: str) -> list[int]:
        taken: list[int] = []
        while True:
            async with sessionmaker.begin() as session:
                rows = await outbox.claim_due(session, clock.now(), 3, worker)
            if not rows:
                return taken
            taken += [row.id for row in rows]
            await asyncio.sleep(0)

    results = await asyncio.gather(*(claimer(f"w{n}") for n in range(4)))
    everything = [row_id for taken in results for row_id in taken]
    assert len(everything) == len(set(everything)) == 40


async def test_on_postgresql_a_claim_skips_rows_another_open_claim_holds(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has one writer at a time")
    async with sessionmaker.begin() as session:
        ann = await a_customer(session, clock, 1001)
        for k in range(6):
            await a_row(session, ann, clock, due_in=timedelta(seconds=-k), template=f"t{k}")

    async with sessionmaker() as first, sessionmaker() as second:
        async with first.begin():
            held = await outbox.claim_due(first, clock.now(), 4, "first")
            # The first transaction is still open: its rows are locked, not yet committed.
            async with second.begin():
                other = await asyncio.wait_for(
                    outbox.claim_due(second, clock.now(), 4, "second"), timeout=5
                )
    assert len(held) == 4 and len(other) == 2
    assert not {r.id for r in held} & {r.id for r in other}


# ----------------------------------------------------------------------------- outcomes


async def test_outcomes_change_only_rows_in_flight(
    session: AsyncSession, clock: ManualClock
) -> None:
    ann = await a_customer(session, clock, 1001)
    rows = [await a_row(session, ann, clock, template=f"t{k}") for k in range(5)]
    await outbox.claim_due(session, clock.now(), 5, "w")
    sent, blocked, failed, skipped, unconfirmed = (row.id for row in rows)

    assert await outbox.mark_sent(session, sent, 777, clock.now())
    assert await outbox.mark_blocked(session, blocked)
    assert await outbox.mark_failed(session, failed, "Bad Request: chat not found")
    assert await outbox.skip(session, skipped, outbox.SkipReason.OPTED_OUT)
    assert await outbox.mark_unconfirmed(session, unconfirmed, "Timed out")

    row = await state_of(session, sent)
    assert (row.state, row.telegram_message_id, row.sent_at) == ("sent", 777, clock.now())
    assert (await state_of(session, blocked)).state == OutboxState.BLOCKED
    row = await state_of(session, failed)
    assert (row.state, row.last_error) == ("failed", "Bad Request: chat not found")
    row = await state_of(session, skipped)
    assert (row.state, row.last_error) == ("skipped", "opted_out")
    assert (await state_of(session, unconfirmed)).state == OutboxState.UNCONFIRMED
    # Settled rows stay settled: a late outcome changes nothing.
    assert not await outbox.mark_sent(session, failed, 778, clock.now())
    assert not await outbox.mark_failed(session, sent, "late")
    assert await outbox.retry_later(session, sent, "late", clock.now()) is None
    assert (await state_of(session, sent)).state == OutboxState.SENT


async def test_retry_later_puts_a_row_back_until_its_attempts_are_spent(
    session: AsyncSession, clock: ManualClock
) -> None:
    ann = await a_customer(session, clock, 1001)
    row = await a_row(session, ann, clock, template="t")
    for attempt in (1, 2):
        [claimed] = await outbox.claim_due(session, clock.now(), 5, "w")
        assert claimed.attempts == attempt
        at = clock.now() + timedelta(seconds=2**attempt)
        state = await outbox.retry_later(
            session, row.id, "Internal Server Error", at, max_attempts=3
        )
        assert state == OutboxState.PENDING
        found = await state_of(session, row.id)
        assert (found.due_at, found.claimed_by, found.last_error) == (
            at,
            None,
            "Internal Server Error",
        )
        assert await outbox.claim_due(session, clock.now(), 5, "w") == []  # not due yet
        clock.set(at)
    [claimed] = await outbox.claim_due(session, clock.now(), 5, "w")
    assert claimed.attempts == 3
    state = await outbox.retry_later(session, row.id, "Bad Gateway", clock.now(), max_attempts=3)
    found = await state_of(session, row.id)
    assert state == OutboxState.FAILED
    assert (found.state, found.attempts, found.last_error) == ("failed", 3, "Bad Gateway")


async def test_a_retry_that_was_not_the_rows_fault_uses_up_no_attempt(
    session: AsyncSession, clock: ManualClock
) -> None:
    ann = await a_customer(session, clock, 1001)
    row = await a_row(session, ann, clock, template="t")
    for _ in range(5):
        await outbox.claim_due(session, clock.now(), 5, "w")
        state = await outbox.retry_later(
            session, row.id, "429", clock.now(), max_attempts=2, count_attempt=False
        )
        assert state == OutboxState.PENDING
    assert (await state_of(session, row.id)).attempts == 0


async def test_recovery_marks_rows_left_in_flight_by_another_sender_unconfirmed(
    session: AsyncSession, clock: ManualClock
) -> None:
    ann = await a_customer(session, clock, 1001)
    dead = [await a_row(session, ann, clock, template=f"dead{k}") for k in range(3)]
    await outbox.claim_due(session, clock.now(), 3, "dead-worker")
    mine = await a_row(session, ann, clock, template="mine")
    waiting = await a_row(session, ann, clock, due_in=timedelta(seconds=-1), template="waiting")
    await outbox.claim_due(session, clock.now(), 1, "me")  # "waiting" is older

    assert await outbox.recover_in_flight(session, clock.now(), "me") == 3

    for row in dead:
        found = await state_of(session, row.id)
        assert found.state == OutboxState.UNCONFIRMED
        assert found.last_error == outbox.IN_FLIGHT_AT_RESTART
    assert (await state_of(session, waiting.id)).state == OutboxState.SENDING
    assert (await state_of(session, mine.id)).state == OutboxState.PENDING
    assert await outbox.recover_in_flight(session, clock.now(), "me") == 0


async def test_on_postgresql_recovery_leaves_the_rows_of_a_sender_that_is_alive(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite is the single-process embedded default: every other sender is dead")
    async with sessionmaker.begin() as session:
        ann = await a_customer(session, clock, 1001)
        for k in range(4):
            await a_row(session, ann, clock, due_in=timedelta(seconds=-k), template=f"t{k}")
        alive_rows = await outbox.claim_due(session, clock.now(), 2, "alive")
        dead_rows = await outbox.claim_due(session, clock.now(), 2, "dead")

    async def states(rows: list[Outbox]) -> set[str]:
        async with sessionmaker() as session:
            return {(await state_of(session, row.id)).state for row in rows}

    async with sessionmaker() as alive, alive.begin():  # another process, sending
        assert await outbox.hold_sender_lock(alive, "alive")
        async with sessionmaker() as checker, checker.begin():
            assert await outbox.recover_in_flight(checker, clock.now(), "me") == 2
            # While the check holds the dead sender's lock, that sender cannot start
            # again (and claim) under the same name.
            async with sessionmaker() as dead, dead.begin():
                assert not await outbox.hold_sender_lock(dead, "dead")
        assert await states(dead_rows) == {OutboxState.UNCONFIRMED}
        assert await states(alive_rows) == {OutboxState.SENDING}
    # The sender let go of its lock (its pass ended, or its process died) with rows
    # still "sending": the next check takes them for left behind.
    async with sessionmaker.begin() as session:
        assert await outbox.recover_in_flight(session, clock.now(), "me") == 2
    assert await states(alive_rows) == {OutboxState.UNCONFIRMED}


async def test_progress_counts_a_campaigns_rows_by_state(
    session: AsyncSession, clock: ManualClock
) -> None:
    campaign = await a_campaign(session, clock, texts={"en": "Hi"})
    other = await a_campaign(session, clock, texts={"en": "Other"})
    people = [await a_customer(session, clock, 3000 + n) for n in range(5)]
    rows = [await a_row(session, p, clock, campaign=campaign, key="c") for p in people]
    await a_row(session, people[0], clock, campaign=other, key="o")
    await outbox.claim_due(session, clock.now(), 3, "w")
    await outbox.mark_sent(session, rows[0].id, 1, clock.now())
    await outbox.mark_blocked(session, rows[1].id)

    counts = await outbox.progress(session, campaign.id)

    assert counts == {
        "pending": 2,
        "sending": 1,
        "sent": 1,
        "failed": 0,
        "blocked": 1,
        "skipped": 0,
        "unconfirmed": 0,
        "cancelled": 0,
    }


# ----------------------------------------------------------------------------- words


async def test_a_campaign_row_is_rendered_in_the_customers_language_at_send_time(
    session: AsyncSession, clock: ManualClock
) -> None:
    campaign = await a_campaign(session, clock, occasion="mid_autumn")
    ann = await a_customer(session, clock, 1001, name="Ann", language="en")
    row = await a_row(session, ann, clock, campaign=campaign, key="c")

    message = await outbox.message_for(session, row, render, company="Acme", default_locale="zh_CN")
    assert message == outbox.Message(1001, "Happy Mid-Autumn Festival, Ann!", "en")

    ann.language = "zh_CN"  # she switched since the campaign was planned
    message = await outbox.message_for(session, row, render, company="Acme", default_locale="zh_CN")
    assert isinstance(message, outbox.Message)
    assert message.text == "Ann，Acme祝您中秋节快乐！" and message.locale == "zh_CN"


async def test_free_text_campaigns_fall_back_to_the_default_locale(
    session: AsyncSession, clock: ManualClock
) -> None:
    campaign = await a_campaign(session, clock, texts={"zh_CN": "中秋快乐", "en": "Happy"})
    only_chinese = await a_campaign(session, clock, texts={"zh_CN": "只有中文"})
    nobody = await a_customer(session, clock, 1001, language=None)
    english = await a_customer(session, clock, 1002, language="en")
    rows = [
        await a_row(session, nobody, clock, campaign=campaign, key="a"),
        await a_row(session, english, clock, campaign=campaign, key="a"),
        await a_row(session, english, clock, campaign=only_chinese, key="b"),
    ]
    found = await outbox.messages_for(session, rows, render, company="Acme", default_locale="zh_CN")
    assert found == [
        outbox.Message(1001, "中秋快乐", "zh_CN"),
        outbox.Message(1002, "Happy", "en"),
        outbox.Message(1002, "只有中文", "en"),
    ]


async def test_a_rule_row_says_its_template(session: AsyncSession, clock: ManualClock) -> None:
    ann = await a_customer(session, clock, 1001, name="Ann", language="en")
    row = await a_row(session, ann, clock, template="followup.after_purchase")
    message = await outbox.message_for(session, row, render, company="Acme", default_locale="zh_CN")
    assert message == outbox.Message(1001, "Ann, all well?", "en")


async def test_who_may_not_be_written_to_at_send_time_is_skipped(
    session: AsyncSession, clock: ManualClock
) -> None:
    campaign = await a_campaign(session, clock, texts={"en": "Hi"})
    cancelled = await a_campaign(session, clock, texts={"en": "Hi"})
    opted_out = await a_customer(session, clock, 1001)
    blocked = await a_customer(session, clock, 1002)
    forgotten = await a_customer(session, clock, 1003)
    fine = await a_customer(session, clock, 1004)
    rows = [
        await a_row(session, person, clock, campaign=campaign, key="c")
        for person in (opted_out, blocked, forgotten, fine)
    ]
    rows.append(await a_row(session, fine, clock, campaign=cancelled, key="x"))
    customers.set_consent(opted_out, False, clock.now())
    await customers.mark_unreachable(session, 1002, clock.now())
    await privacy.forget_customer(session, forgotten, clock.now())
    cancelled.status = CampaignStatus.CANCELLED.value
    await session.flush()

    found = await outbox.messages_for(session, rows, render, company="A", default_locale="en")

    assert found == [
        outbox.Skip(outbox.SkipReason.OPTED_OUT),
        outbox.Skip(outbox.SkipReason.UNREACHABLE),
        outbox.Skip(outbox.SkipReason.FORGOTTEN),
        outbox.Message(1004, "Hi", "en"),
        outbox.Skip(outbox.SkipReason.CANCELLED),
    ]


async def test_a_row_with_nothing_to_say_is_reported_not_raised(
    session: AsyncSession, clock: ManualClock
) -> None:
    ann = await a_customer(session, clock, 1001)
    nothing = await a_row(session, ann, clock, template=None)
    unknown = await a_row(session, ann, clock, template="no.such.template")
    with pytest.raises(outbox.NoText):
        await outbox.message_for(session, nothing, render, company="A", default_locale="en")
    found = await outbox.messages_for(
        session, [nothing, unknown], render, company="A", default_locale="en"
    )
    assert all(isinstance(entry, outbox.NoText) for entry in found)
    assert "no.such.template" in str(found[1])


# ----------------------------------------------------------------------------- follow-ups


def follow_ups(**rules: Any) -> EngineConfig:
    """The engine's configuration with only these follow-up rules on."""
    off: dict[str, Any] = {
        "after_resolution_days": None,
        "after_first_contact_days": None,
        "after_purchase_days": None,
        "win_back_quiet_days": None,
        "birthdays": False,
        "anniversaries": False,
    }
    return EngineConfig(followups=FollowUpRules(**{**off, **rules}))


async def planned_rows(
    session: AsyncSession, config: EngineConfig, clock: ManualClock
) -> list[Outbox]:
    """What the planner plans now, oldest customer first."""
    today = clock.now().date()
    await plan_personal_and_followups(session, today, config, clock.now(), "Asia/Shanghai")
    return list((await session.scalars(select(Outbox).order_by(Outbox.customer_id))).all())


@contextmanager
def statements(session: AsyncSession) -> Iterator[list[str]]:
    """The SQL statements the session sends meanwhile."""
    sent: list[str] = []

    def note(_connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        sent.append(statement)

    sync_engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(sync_engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(sync_engine, "before_cursor_execute", note)


async def test_a_follow_up_after_a_resolution_is_withdrawn_when_the_complaint_is_reopened(
    session: AsyncSession, clock: ManualClock
) -> None:
    people = [await a_customer(session, clock, 1001 + n, name=f"P{n}") for n in range(5)]
    complaints = []
    for n, person in enumerate(people):
        complaint = Complaint(
            customer_id=person.id,
            number=f"C-2026-{n:06d}",
            status=ComplaintStatus.RESOLVED.value,
            created_at=clock.now() - timedelta(days=4),
            updated_at=clock.now() - timedelta(days=3),
            resolved_at=clock.now() - timedelta(days=3),
            times_resolved=1,
        )
        session.add(complaint)
        complaints.append(complaint)
    await session.flush()
    rows = await planned_rows(session, follow_ups(after_resolution_days=3), clock)
    assert [row.dedupe_key for row in rows] == [
        f"followup:resolution:{complaint.id}" for complaint in complaints
    ]

    # After planning: one stays resolved, one is closed, one reopened, one back in
    # progress, one reopened and resolved again (its new resolution has its own row).
    for complaint, status in zip(
        complaints,
        (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED, ComplaintStatus.REOPENED,
         ComplaintStatus.IN_PROGRESS, ComplaintStatus.RESOLVED),
        strict=True,
    ):  # fmt: skip
        complaint.status = status.value
    complaints[4].times_resolved = 2
    await session.flush()
    campaign = await a_campaign(session, clock, texts={"en": "Hi"})
    rows.append(await a_row(session, people[0], clock, campaign=campaign, key="c"))

    with statements(session) as sent:
        found = await outbox.messages_for(session, rows, render, company="A", default_locale="en")

    gone = outbox.Skip(outbox.SkipReason.NO_LONGER_APPLIES)
    assert found == [
        outbox.Message(1001, "All right now, P0?", "en"),
        outbox.Message(1002, "All right now, P1?", "en"),
        gone,
        gone,
        gone,
        outbox.Message(1001, "Hi", "en"),
    ]
    assert len(sent) == 3, "customers, campaigns and complaints: one query each"
    # One row at a time says the same.
    assert (
        await outbox.message_for(session, rows[2], render, company="A", default_locale="en") == gone
    )


async def test_a_win_back_is_withdrawn_when_the_customer_writes_after_it_was_planned(
    session: AsyncSession, clock: ManualClock
) -> None:
    now = clock.now()
    clock.set(now - timedelta(days=90))
    ann = await a_customer(session, clock, 1001, name="Ann")
    ben = await a_customer(session, clock, 1002, name="Ben")
    await contacts.record_contacts(
        session,
        [
            contacts.ContactEntry(Direction.INBOUND, ContactKind.TEXT, clock.now(), customer_id=who)
            for who in (ann.id, ben.id)
        ],
    )
    clock.set(now - timedelta(hours=1))
    rows = await planned_rows(session, follow_ups(win_back_quiet_days=90), clock)
    assert [(row.customer_id, row.rule, row.event_at) for row in rows] == [
        (ann.id, "win_back", now - timedelta(days=90)),
        (ben.id, "win_back", now - timedelta(days=90)),
    ]

    # Ann writes to us; Ben only gets a message from us (which does not end his silence).
    clock.set(now)
    await contacts.record_contacts(
        session,
        [
            contacts.ContactEntry(Direction.INBOUND, ContactKind.TEXT, now, customer_id=ann.id),
            contacts.ContactEntry(Direction.OUTBOUND, ContactKind.TEXT, now, customer_id=ben.id),
        ],
    )

    found = await outbox.messages_for(session, rows, render, company="A", default_locale="en")

    assert found == [
        outbox.Skip(outbox.SkipReason.NO_LONGER_APPLIES),
        outbox.Message(1002, "We miss you, Ben!", "en"),
    ]


async def test_a_campaign_for_quiet_customers_skips_one_who_wrote_after_approval(
    session: AsyncSession, clock: ManualClock
) -> None:
    quiet = await a_campaign(session, clock, texts={"en": "We miss you!"})
    quiet.audience, quiet.approved_at = {"kind": "quiet", "days": 90}, clock.now()
    everyone = await a_campaign(session, clock, texts={"en": "Happy holidays!"})
    everyone.approved_at = clock.now()
    ann = await a_customer(session, clock, 1001, name="Ann")
    ben = await a_customer(session, clock, 1002, name="Ben")
    rows = [
        await a_row(session, who, clock, campaign=campaign, key=f"c{campaign.id}")
        for campaign in (quiet, everyone)
        for who in (ann, ben)
    ]
    # After approval, Ann writes to us; Ben only hears from us, which ends no silence.
    clock.advance(timedelta(hours=2))
    now = clock.now()
    await contacts.record_contacts(
        session,
        [
            contacts.ContactEntry(Direction.INBOUND, ContactKind.TEXT, now, customer_id=ann.id),
            contacts.ContactEntry(Direction.OUTBOUND, ContactKind.TEXT, now, customer_id=ben.id),
        ],
    )

    found = await outbox.messages_for(session, rows, render, company="A", default_locale="en")

    assert found == [
        outbox.Skip(outbox.SkipReason.NO_LONGER_APPLIES),  # Ann is not quiet any more
        outbox.Message(1002, "We miss you!", "en"),
        outbox.Message(1001, "Happy holidays!", "en"),  # not a campaign for the quiet
        outbox.Message(1002, "Happy holidays!", "en"),
    ]
