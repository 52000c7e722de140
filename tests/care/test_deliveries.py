"""The report of follow-ups and personal greetings (rows of no campaign), by rule."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from care import deliveries
from care.clock import ManualClock
from care.models import Campaign, CampaignStatus, Customer, Outbox, OutboxState


async def test_counts_by_rule_and_state_within_the_window_and_names_the_unconfirmed(
    session: AsyncSession, clock: ManualClock
) -> None:
    now = clock.now()
    anna = Customer(first_name="Anna", last_name="Li", created_at=now)
    bo = Customer(first_name="Bo", created_at=now)
    campaign = Campaign(
        name="x", texts={"en": "x"}, audience={"kind": "all"}, send_on=now.date(),
        status=CampaignStatus.APPROVED.value, created_at=now,
    )  # fmt: skip
    session.add_all([anna, bo, campaign])
    await session.flush()
    rows = [
        # rule, state, reason, due (days from now), customer
        ("after_resolution", OutboxState.SENT, None, -1, anna),
        ("after_resolution", OutboxState.SKIPPED, "no_longer_applies", -2, bo),
        ("win_back", OutboxState.SKIPPED, "opted_out", -3, anna),
        ("win_back", OutboxState.PENDING, None, 2, bo),
        ("birthday", OutboxState.UNCONFIRMED, "in flight when the sender stopped", -1, anna),
        ("birthday", OutboxState.SENT, None, -30, bo),  # before the window
        ("after_purchase", OutboxState.PENDING, None, 30, anna),  # after it
    ]
    for n, (rule, state, reason, days, customer) in enumerate(rows):
        session.add(
            Outbox(
                customer_id=customer.id, rule=rule, template=f"followup.{rule}",
                dedupe_key=f"{rule}:{n}", due_at=now + timedelta(days=days),
                state=state.value, last_error=reason,
            )
        )  # fmt: skip
    session.add(  # a campaign's row is the campaign's, not counted here
        Outbox(
            customer_id=bo.id, campaign_id=campaign.id, dedupe_key="campaign:1",
            due_at=now, state=OutboxState.UNCONFIRMED.value,
        )
    )  # fmt: skip
    await session.flush()

    found = await deliveries.report(session, now - timedelta(days=7), now + timedelta(days=7))

    assert found.counts == {
        "after_resolution": {"sent": 1, "skipped": 1},
        "birthday": {"unconfirmed": 1},
        "win_back": {"pending": 1, "skipped": 1},
    }
    assert found.total(OutboxState.SKIPPED) == 2
    assert found.skipped_because == {"no_longer_applies": 1, "opted_out": 1}
    [unconfirmed] = found.unconfirmed
    assert (unconfirmed.name, unconfirmed.customer_id, unconfirmed.rule) == (
        "Anna Li",
        anna.id,
        "birthday",
    )
    assert unconfirmed.due_at == now - timedelta(days=1)


async def test_an_empty_window_says_nothing(session: AsyncSession, clock: ManualClock) -> None:
    now = clock.now()
    found = await deliveries.report(session, now, now + timedelta(days=1))
    assert (found.counts, found.skipped_because, found.unconfirmed) == ({}, {}, [])


async def test_customers_the_planner_could_not_plan_for_are_named_apart(
    session: AsyncSession, clock: ManualClock
) -> None:
    # Issue 9, item 4: care.followups records a rule it could not plan for a customer as
    # a skipped row with the reason not_planned, one a day; /followups names them.
    now = clock.now()
    anna = Customer(first_name="Anna", last_name="Li", created_at=now)
    bo = Customer(first_name="Bo", created_at=now)
    session.add_all([anna, bo])
    await session.flush()
    for n, (customer, rule, state, reason, days) in enumerate(
        (
            (anna, "birthday", OutboxState.SKIPPED, "not_planned", -2),
            (anna, "birthday", OutboxState.SKIPPED, "not_planned", -1),
            (bo, "win_back", OutboxState.SKIPPED, "not_planned", 0),
            (bo, "birthday", OutboxState.SKIPPED, "opted_out", -1),
            (bo, "birthday", OutboxState.SENT, None, -3),
        )
    ):
        session.add(
            Outbox(
                customer_id=customer.id, rule=rule, dedupe_key=f"{rule}:{n}",
                due_at=now + timedelta(days=days), state=state.value, last_error=reason,
            )
        )  # fmt: skip
    await session.flush()

    found = await deliveries.report(session, now - timedelta(days=7), now + timedelta(days=7))

    # Not messages: neither counted nor among the reasons for skipping one.
    assert found.counts == {"birthday": {"sent": 1, "skipped": 1}}
    assert found.skipped_because == {"opted_out": 1}
    assert found.not_planned == [
        deliveries.NotPlanned(bo.id, "Bo", "win_back", now, 1),
        deliveries.NotPlanned(anna.id, "Anna Li", "birthday", now - timedelta(days=1), 2),
    ]
