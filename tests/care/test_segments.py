"""Computed segments over a small known history, each worked out by hand (docs/segments.md).

Now is 2026-09-24 10:00 UTC; the rules are the defaults (window 365 days; regular at 4
purchases or 12 contact days, occasional at 2 or 4; high value at 1000 or 3 purchases;
strong at 2 points; quiet beyond twice the usual gap, at least 30 days, 60 without a
rhythm; a rating of 2 or less in 30 days; dormant at 180 days).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care import audiences, churn, directory, segments
from care.churn import Importance
from care.clock import ManualClock
from care.directory import DirectoryError, DirectoryProblem
from care.models import (
    Complaint,
    ComplaintRating,
    ComplaintStatus,
    Contact,
    ContactKind,
    Customer,
    CustomerTag,
    Direction,
    Outbox,
    OutboxState,
    Purchase,
)
from care.problems import CampaignError
from care.records import export_customer
from care.segments import ChurnReason, SegmentRules
from tests.care.test_campaigns import customer

RULES = SegmentRules()


def days_ago(clock: ManualClock, days: float) -> datetime:
    return clock.now() - timedelta(days=days)


async def wrote(session: AsyncSession, person: Customer, *moments: datetime) -> None:
    """The customer wrote to us at these moments (the last one is when we last saw them)."""
    for moment in moments:
        session.add(
            Contact(
                customer_id=person.id, direction=Direction.INBOUND.value,
                kind=ContactKind.TEXT.value, text="hi", created_at=moment,
            )
        )  # fmt: skip
    person.last_seen_at = max(moments)
    await session.flush()


async def bought(
    session: AsyncSession, person: Customer, at: datetime, amount: str | None = None
) -> None:
    session.add(
        Purchase(
            customer_id=person.id, purchased_at=at, created_at=at,
            amount=Decimal(amount) if amount else None,
        )
    )  # fmt: skip
    await session.flush()


async def complained(
    session: AsyncSession,
    person: Customer,
    at: datetime,
    status: ComplaintStatus,
    rating: tuple[int, datetime] | None = None,
) -> None:
    complaint = Complaint(
        customer_id=person.id, status=status.value, created_at=at, filed_at=at, updated_at=at
    )
    session.add(complaint)
    await session.flush()
    if rating is not None:
        score, rated_at = rating
        session.add(
            ComplaintRating(
                complaint_id=complaint.id, resolution=1, resolved_at=rated_at,
                score=score, rated_at=rated_at,
            )
        )  # fmt: skip
        await session.flush()


async def stored(session: AsyncSession, person: Customer) -> tuple[str | None, ...]:
    row = (
        await session.execute(
            select(
                Customer.customer_type, Customer.value_segment, Customer.lifecycle_stage,
                Customer.churn_risk, Customer.churn_reasons,
            ).where(Customer.id == person.id)
        )
    ).one()  # fmt: skip
    return tuple(row)


async def test_each_classification_over_a_known_history(
    session: AsyncSession, clock: ManualClock
) -> None:
    # Pia: ten days with us, wrote on 3 days, never bought nor complained.
    # potential · 0 points (3 contact days < 4, tenure 10 < 180) → dog · breakthrough;
    # usual gap (8 − 2) / 2 = 3 days → limit max(6, 30) = 30; quiet 2 days → low.
    pia = await customer(session, clock, "Pia", created_at=days_ago(clock, 10))
    await wrote(session, pia, days_ago(clock, 8), days_ago(clock, 5), days_ago(clock, 2))

    # Olga: bought once 100 days ago (worth 50) and has not written since.
    # one-time · 1 point (tenure) → dog · quiet 100 > 60 (no rhythm) → high (quiet)
    # · defence (risk high, not dormant: 100 < 180).
    olga = await customer(session, clock, "Olga")
    await bought(session, olga, days_ago(clock, 100), "50")
    await wrote(session, olga, days_ago(clock, 100))

    # Oscar: exactly 2 purchases worth exactly 1000 (boundaries), wrote on exactly 4 days.
    # occasional · high value · 2 points (4 contact days, tenure) → star · growth;
    # gap (35 − 5) / 3 = 10 days → limit max(20, 30) = 30; quiet 5 → low.
    oscar = await customer(session, clock, "Oscar")
    await bought(session, oscar, days_ago(clock, 30), "600")
    await bought(session, oscar, days_ago(clock, 20), "400")
    await wrote(
        session, oscar,
        days_ago(clock, 35), days_ago(clock, 25), days_ago(clock, 15), days_ago(clock, 5),
    )  # fmt: skip

    # Rita: 4 purchases without amounts, rated a resolution 2 ten days ago.
    # regular · high value (4 ≥ 3) · tenure 1 − poor average 1 = 0 points → question;
    # gap 30 days → limit 60; quiet 45 → not quiet; low rating → high · defence.
    rita = await customer(session, clock, "Rita")
    for days in (200, 150, 100, 50):
        await bought(session, rita, days_ago(clock, days))
    await wrote(session, rita, days_ago(clock, 75), days_ago(clock, 45))
    await complained(
        session, rita, days_ago(clock, 20), ComplaintStatus.RESOLVED, (2, days_ago(clock, 10))
    )

    # Quinn: an open complaint, last wrote exactly 60 days ago (no rhythm: limit 60).
    # one-time (complained) · dog · not quiet (60 is not more than 60) · medium
    # (open complaint only) · consolidation.
    quinn = await customer(session, clock, "Quinn")
    await complained(session, quinn, days_ago(clock, 60), ComplaintStatus.IN_PROGRESS)
    await wrote(session, quinn, days_ago(clock, 60))
    # Quentin: the same, a minute longer quiet: quiet → high · defence.
    quentin = await customer(session, clock, "Quentin")
    await complained(session, quentin, days_ago(clock, 60), ComplaintStatus.IN_PROGRESS)
    await wrote(session, quentin, days_ago(clock, 60) - timedelta(minutes=1))

    # Paula blocked the bot: paused, whatever else.
    paula = await customer(session, clock, "Paula", reachable=False)
    await wrote(session, paula, days_ago(clock, 3))

    # Dora last wrote exactly 180 days ago: dormant.
    dora = await customer(session, clock, "Dora")
    await bought(session, dora, days_ago(clock, 300))
    await wrote(session, dora, days_ago(clock, 180))

    # Carl bought 500 days ago (outside the window) and answered a care message the
    # next day: one-time · low value · tenure + response to care = 2 points → cash cow.
    carl = await customer(session, clock, "Carl", created_at=days_ago(clock, 600))
    await bought(session, carl, days_ago(clock, 500))
    session.add(
        Outbox(
            customer_id=carl.id, dedupe_key="campaign:1", due_at=days_ago(clock, 20),
            state=OutboxState.SENT.value, sent_at=days_ago(clock, 20),
        )
    )  # fmt: skip
    await wrote(session, carl, days_ago(clock, 19))
    # Cleo answered hers 4 days later: no response to care (3 days) → 1 point → dog.
    cleo = await customer(session, clock, "Cleo", created_at=days_ago(clock, 600))
    await bought(session, cleo, days_ago(clock, 500))
    session.add(
        Outbox(
            customer_id=cleo.id, dedupe_key="campaign:1", due_at=days_ago(clock, 20),
            state=OutboxState.SENT.value, sent_at=days_ago(clock, 20),
        )
    )  # fmt: skip
    await wrote(session, cleo, days_ago(clock, 16))

    result = await segments.refresh(session, RULES, clock.now(), batch_size=3)
    assert result.customers == 10

    assert await stored(session, pia) == ("potential", "dog", "breakthrough", "low", None)
    assert await stored(session, olga) == ("one_time", "dog", "defence", "high", "quiet")
    assert await stored(session, oscar) == ("occasional", "star", "growth", "low", None)
    assert await stored(session, rita) == ("regular", "question", "defence", "high", "low_rating")
    assert await stored(session, quinn) == (
        "one_time", "dog", "consolidation", "medium", "open_complaint",
    )  # fmt: skip
    assert await stored(session, quentin) == (
        "one_time", "dog", "defence", "high", "quiet,open_complaint",
    )  # fmt: skip
    assert (await stored(session, paula))[2] == "paused"
    assert (await stored(session, dora))[2] == "dormant"
    assert (await stored(session, carl))[:2] == ("one_time", "cash_cow")
    assert (await stored(session, cleo))[:2] == ("one_time", "dog")

    # Nothing happened since: a second run changes no row.
    again = await segments.refresh(session, RULES, clock.now())
    assert (again.customers, again.changed) == (10, 0)
    # The job's pass, a batch at a time, reads everyone once and finds the same.
    after, seen, batches = 0, 0, 0
    while True:
        done, after = await segments.refresh_after(session, RULES, clock.now(), after, batch_size=4)
        if not done.customers:
            break
        seen, batches = seen + done.customers, batches + 1
        assert done.changed == 0
    assert (seen, batches) == (10, 3)


async def test_thresholds_are_the_rules_and_a_declared_type_stays(
    session: AsyncSession, clock: ManualClock
) -> None:
    # One purchase worth 999.99: low value by default, high at a threshold of 500; a
    # relationship of 1 point (tenure) weak by default, strong at a threshold of 1.
    person = await customer(session, clock, "Vera", customer_type="signed")
    await wrote(session, person, days_ago(clock, 1))
    stricter = SegmentRules(high_value_amount=Decimal(500), strong_points=1)
    await segments.refresh(session, RULES, clock.now(), [person.id])
    # Never bought nor complained: computes as potential; the declared "signed" stays.
    assert (await stored(session, person))[0] == "signed"
    await bought(session, person, days_ago(clock, 1), "999.99")
    await segments.refresh(session, RULES, clock.now(), [person.id])
    assert (await stored(session, person))[:2] == ("one_time", "dog")  # tenure: 1 point of 2
    await segments.refresh(session, stricter, clock.now(), [person.id])
    assert (await stored(session, person))[1] == "star"


async def test_churn_risks_are_handled_once_by_importance(
    session: AsyncSession, clock: ManualClock
) -> None:
    star = await customer(session, clock, "Stella")
    for days in (300, 200, 100):
        await bought(session, star, days_ago(clock, days))
    await wrote(session, star, *(days_ago(clock, d) for d in (310, 260, 210, 160, 110)))
    tagged = await customer(session, clock, "Tom")
    session.add(CustomerTag(customer_id=tagged.id, tag="vip"))
    await bought(session, tagged, days_ago(clock, 200))
    await wrote(session, tagged, days_ago(clock, 100))
    normal = await customer(session, clock, "Nina")
    await bought(session, normal, days_ago(clock, 200))
    await wrote(session, normal, *(days_ago(clock, d) for d in (175, 150, 125, 100)))
    small = await customer(session, clock, "Sam")
    await bought(session, small, days_ago(clock, 200))
    await wrote(session, small, days_ago(clock, 100))

    await segments.refresh(session, RULES, clock.now())
    cases = {case.customer_id: case for case in await churn.unhandled_risks(session, RULES)}
    assert {cid: case.importance for cid, case in cases.items()} == {
        star.id: Importance.KEY,  # a star (3 purchases, 5 contact days + tenure)
        tagged.id: Importance.KEY,  # a dog, but tagged vip
        normal.id: Importance.NORMAL,  # a cash cow (4 contact days + tenure)
        small.id: Importance.SMALL,  # a dog
    }
    assert cases[star.id].reasons == (ChurnReason.QUIET,)
    assert cases[tagged.id].tags == ("vip",)

    await churn.mark_handled(session, list(cases), clock.now())
    assert await churn.unhandled_risks(session, RULES) == []
    await segments.refresh(session, RULES, clock.now())
    assert await churn.unhandled_risks(session, RULES) == []

    # Stella writes again: her risk falls and is no longer handled; quiet again, it is.
    await wrote(session, star, clock.now())
    await segments.refresh(session, RULES, clock.now(), [star.id])
    handled = await session.scalar(select(Customer.churn_handled_at).where(Customer.id == star.id))
    assert handled is None
    clock.advance(timedelta(days=200))
    await segments.refresh(session, RULES, clock.now(), [star.id])
    assert [case.customer_id for case in await churn.unhandled_risks(session, RULES)] == [star.id]


async def test_audiences_by_segment_risk_and_tags_together(
    session: AsyncSession, clock: ManualClock
) -> None:
    # Two stars (3 purchases, 4 contact days, tenure), one tagged vip; a dog tagged vip.
    stars = []
    for name in ("Ada", "Bo"):
        person = await customer(session, clock, name)
        for days in (90, 60, 30):
            await bought(session, person, days_ago(clock, days))
        await wrote(session, person, *(days_ago(clock, d) for d in (40, 30, 20, 10)))
        stars.append(person)
    dog = await customer(session, clock, "Cy")
    await wrote(session, dog, days_ago(clock, 100))
    await directory.add_tag(session, stars[0].id, "VIP")
    await directory.add_tag(session, dog.id, "vip")
    await segments.refresh(session, RULES, clock.now())

    async def who(text: str) -> set[int]:
        audience = audiences.parse_audience(text)
        assert audiences.audience_text(audience) == text
        found = await session.scalars(audiences.audience_query(audience, clock.now()))
        assert await audiences.audience_size(session, audience, clock.now()) == len(
            set(found.all())
        )
        return set((await session.scalars(audiences.audience_query(audience, clock.now()))).all())

    assert await who("segment:star") == {stars[0].id, stars[1].id}
    assert await who("segment:star tag:vip") == {stars[0].id}
    assert await who("risk:high") == {dog.id}
    assert await who("risk:high tag:vip") == {dog.id}
    assert await who("type:potential stage:breakthrough") == {dog.id}
    assert await who("type:regular segment:dog") == set()
    for bad in ("segment:gold", "risk:", "segment:star all", "segment:star tag:vip risk:low a:b c"):
        with pytest.raises(CampaignError):
            audiences.parse_audience(bad)


async def test_tags_and_finding_customers(session: AsyncSession, clock: ManualClock) -> None:
    anna = await customer(session, clock, "Anna", username="anna_w", phone="+8613800138000")
    await customer(session, clock, "Annabel")
    gone = await customer(session, clock, "Annika", erased=True)
    assert await directory.add_tag(session, anna.id, "#VIP") is True
    assert await directory.add_tag(session, anna.id, "vip") is False
    assert await directory.tags_of(session, anna.id) == ["vip"]
    assert await directory.remove_tag(session, anna.id, "vip") is True
    assert await directory.remove_tag(session, anna.id, "vip") is False
    for bad in ("", "two words", "x" * 33):
        with pytest.raises(DirectoryError) as refused:
            await directory.add_tag(session, anna.id, bad)
        assert refused.value.problem is DirectoryProblem.BAD_TAG
    with pytest.raises(DirectoryError):
        await directory.add_tag(session, gone.id, "vip")

    async def names(query: str) -> list[str]:
        return [match.name for match in await directory.find_customers(session, query)]

    assert await names("ann") == ["Anna", "Annabel"]  # never the forgotten Annika
    assert await names("@ANNA_W") == ["Anna"]
    assert await names("138 0013 8000") == ["Anna"]
    assert await names(str(anna.id)) == ["Anna"]
    assert await names(f"tg:{anna.telegram_user_id}") == ["Anna"]
    assert await names("100%") == []
    with pytest.raises(DirectoryError):
        await directory.find_customers(session, "a")
    complaint = Complaint(
        customer_id=anna.id, number="C-2026-000042", status="new",
        created_at=clock.now(), filed_at=clock.now(), updated_at=clock.now(),
    )  # fmt: skip
    session.add(complaint)
    await session.flush()
    assert await names("c-2026-42") == ["Anna"]
    card = await directory.customer_card(session, anna.id)
    assert [line.number for line in card.open_complaints] == ["C-2026-000042"]


async def test_the_export_carries_tags_segments_and_amounts(
    session: AsyncSession, clock: ManualClock
) -> None:
    person = await customer(session, clock, "Eve")
    await bought(session, person, days_ago(clock, 3), "1299.50")
    await directory.add_tag(session, person.id, "vip")
    await segments.refresh(session, RULES, clock.now())
    exported = json.loads(json.dumps(await export_customer(session, person.id)))
    assert exported["tags"] == ["vip"]
    assert exported["purchases"][0]["amount"] == "1299.50"
    assert exported["customer"]["value_segment"] == "question"  # 1299.50 ≥ 1000, 1 point
    assert exported["customer"]["customer_type"] == "one_time"
