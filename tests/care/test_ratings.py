"""Every rating of every resolution is kept, for the reports (issue 9, item 15)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from care import complaints as c
from care import ratings
from care.clock import ManualClock
from tests.care.test_complaints import POLICY, file, make_agent, make_customer


async def test_a_reopening_never_erases_a_rating_and_each_resolution_has_its_own(
    session: AsyncSession, clock: ManualClock
) -> None:
    complaint = await file(session, await make_customer(session, clock), clock)
    agent = await make_agent(session, clock)
    first_resolved = clock.advance(timedelta(hours=1))
    await c.resolve(session, complaint, agent, "replaced the kettle", clock.now())
    first_rated = clock.advance(timedelta(minutes=5))
    await c.rate(session, complaint, 2, clock.now())
    assert not ratings.is_kept_comment(complaint, "the new one leaks too")
    assert await c.add_rating_comment(session, complaint, "  the new one leaks too  ")
    assert ratings.is_kept_comment(complaint, "the new one leaks too "), "handled again"

    clock.advance(timedelta(minutes=5))
    await c.reopen(session, complaint, POLICY, clock.now(), by_customer=True)
    assert (complaint.rating, complaint.rating_comment) == (2, "the new one leaks too")
    assert not await c.add_rating_comment(session, complaint, "still broken"), (
        "while it is open again, a text is no comment on the old rating"
    )

    second_resolved = clock.advance(timedelta(days=1))
    await c.resolve(session, complaint, agent, "refunded", clock.now())
    assert await ratings.rating_in_force(session, complaint) is None, "not rated yet"
    second_rated = clock.advance(timedelta(minutes=1))
    assert await c.rate(session, complaint, 2, clock.now()) is not None, "the same score anew"
    assert await c.rate(session, complaint, 2, clock.now()) is None, "a repeat"
    assert (complaint.rating, complaint.rating_comment) == (2, None), "the latest rating"
    assert not ratings.is_kept_comment(complaint, "the new one leaks too"), "a new rating's"
    changed = clock.advance(timedelta(minutes=1))
    assert await c.rate(session, complaint, 5, clock.now()) is not None, "changed its mind"
    assert await c.add_rating_comment(session, complaint, "thank you")

    rows = [
        (r.resolution, r.resolved_at, r.score, r.comment, r.rated_at)
        for r in await ratings.ratings_of(session, complaint.id)
    ]
    assert rows == [
        (1, first_resolved, 2, "the new one leaks too", first_rated),
        (2, second_resolved, 5, "thank you", changed),
    ]
    assert second_rated < changed
    assert (complaint.rating, complaint.rating_comment) == (5, "thank you")
    events = [e.note for e in await c.history(session, complaint.id) if e.type == "rating"]
    assert events == ["2", "2", "5"], "every press stays an event"


async def test_reports_read_every_rating_in_a_period(
    session: AsyncSession, clock: ManualClock
) -> None:
    agent = await make_agent(session, clock)
    start = clock.now()
    for user_id, score in ((1, 4), (2, 1), (3, 5)):
        complaint = await file(session, await make_customer(session, clock, user_id), clock)
        await c.resolve(session, complaint, agent, "done", clock.now())
        await c.rate(session, complaint, score, clock.now())
        clock.advance(timedelta(days=1))
    assert [r.score for r in await ratings.ratings(session)] == [4, 1, 5]
    window = await ratings.ratings(session, start + timedelta(hours=1), start + timedelta(days=2))
    assert [r.score for r in window] == [1]
