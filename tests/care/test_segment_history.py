"""Segment history: a customer's computed segments that change are recorded with the
time, in the refresh's transaction, and the card shows the last ones (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care import directory, segments
from care.clock import ManualClock
from care.records import export_customer
from care.segment_history import SegmentChange
from handlers.customers import card_text
from handlers.i18n import use_locale
from tests.care.test_campaigns import customer
from tests.care.test_segments import RULES, bought, days_ago, wrote


async def _changes(session: AsyncSession) -> list[tuple[str, str | None, str | None]]:
    rows = await session.execute(
        select(SegmentChange.field, SegmentChange.old_value, SegmentChange.new_value).order_by(
            SegmentChange.id
        )
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_changes_are_recorded_with_their_time_and_shown_on_the_card(
    session: AsyncSession, clock: ManualClock
) -> None:
    # Olga bought once 100 days ago and has not written since (test_segments: one-time,
    # dog, defence, churn risk high).
    olga = await customer(session, clock, "Olga")
    await bought(session, olga, days_ago(clock, 100), "50")
    await wrote(session, olga, days_ago(clock, 100))

    first = clock.now()
    await segments.refresh(session, RULES, first)
    # A first classification is no change, but for the type, which was "potential".
    assert await _changes(session) == [("customer_type", "potential", "one_time")]

    await segments.refresh(session, RULES, first + timedelta(minutes=5))
    assert len(await _changes(session)) == 1, "nothing changed: nothing recorded"

    # She writes again: no longer quiet.
    clock.advance(timedelta(hours=1))
    await wrote(session, olga, clock.now())
    await segments.refresh(session, RULES, clock.now())
    changes = await _changes(session)
    assert ("churn_risk", "high", "low") in changes
    assert ("lifecycle_stage", "defence", olga.lifecycle_stage) in changes
    at = await session.scalar(select(SegmentChange.at).where(SegmentChange.field == "churn_risk"))
    assert at == clock.now()

    card = await directory.customer_card(session, olga.id)
    assert [c.field for c in card.segment_changes][:1] in (["churn_risk"], ["lifecycle_stage"])
    assert card.segment_changes[-1].field == "customer_type", "newest first"
    with use_locale("en"):
        text = card_text(card, "Asia/Shanghai")
    assert "Segment changes:" in text
    assert "churn risk: high → low" in text

    # The customer's export holds them too (their right of access).
    record = await export_customer(session, olga.id)
    assert record["segment_changes"][0]["field"] == "customer_type"
    assert {"at", "field", "old_value", "new_value"} <= set(record["segment_changes"][0])
