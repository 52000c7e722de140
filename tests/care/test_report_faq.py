"""FAQ deflection in the report over a known small history, counted by hand here and
compared with what the database computes (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from care.faq import faq_stats
from care.faq_models import FaqEvent, FaqEventKind
from care.models import Contact, Customer
from care.reports import Period, PeriodKind, ReportSettings, build_report
from handlers.i18n import use_locale
from handlers.reports import summary_text
from tests.care.test_reports import NOW, SEPTEMBER, ZONE, local

K = FaqEventKind


async def _history(session: AsyncSession) -> None:
    a, b, c, d = (Customer(first_name=name, created_at=local(2026, 8, 1)) for name in "ABCD")
    session.add_all([a, b, c, d])
    await session.flush()

    def event(who: Customer, kind: FaqEventKind, entry: str | None, *at: int) -> None:
        session.add(FaqEvent(customer_id=who.id, kind=kind.value, entry_id=entry, at=local(*at)))

    def wrote(who: Customer, kind: str, *at: int) -> None:
        session.add(Contact(customer_id=who.id, direction="in", kind=kind, created_at=local(*at)))

    # A: answered, then "✅ That helped": deflected.
    event(a, K.ANSWERED, "ship", 2026, 9, 3, 10)
    event(a, K.HELPFUL, "ship", 2026, 9, 3, 10, 1)
    # A: answered, wrote again 5 minutes later: not deflected.
    event(a, K.ANSWERED, "ship", 2026, 9, 4, 10)
    wrote(a, "text", 2026, 9, 4, 10, 5)
    # B: pressed a suggestion (its answer), asked for a person 3 minutes later.
    event(b, K.PICKED, "pay", 2026, 9, 5, 10)
    event(b, K.ASKED_PERSON, "pay", 2026, 9, 5, 10, 3)
    # B: answered; a button press 2 minutes later and a message 20 minutes later do
    # not undo it: deflected.
    event(b, K.ANSWERED, "pay", 2026, 9, 6, 10)
    wrote(b, "button", 2026, 9, 6, 10, 2)
    wrote(b, "text", 2026, 9, 6, 10, 20)
    # C: answered, asked for a person 11 minutes later: deflected (the ask still counts).
    event(c, K.ANSWERED, "ship", 2026, 9, 7, 10)
    event(c, K.ASKED_PERSON, "ship", 2026, 9, 7, 10, 11)
    # C: a message no entry fitted, and one answered with two suggestions.
    event(c, K.HANDED_OFF, None, 2026, 9, 8, 10)
    event(c, K.SUGGESTED, "ship", 2026, 9, 9, 12)
    event(c, K.SUGGESTED, "pay", 2026, 9, 9, 12)
    # D: answered at 23:55 on the 30th, wrote at 00:03 on 1 October: not deflected.
    event(d, K.ANSWERED, "ship", 2026, 9, 30, 23, 55)
    wrote(d, "text", 2026, 10, 1, 0, 3)
    # October's: not September's.
    event(d, K.ANSWERED, "ship", 2026, 10, 1, 9)
    await session.flush()


async def test_faq_deflection_matches_the_hand_count(session: AsyncSession) -> None:
    await _history(session)

    figures = (await build_report(session, SEPTEMBER, NOW, ReportSettings(), views=())).as_dict()

    assert figures["faq_answers"] == 6
    assert figures["faq_deflected"] == 3  # A's first, B's second, C's
    assert figures["faq_deflection_rate"] == pytest.approx(3 / 6)
    assert figures["faq_helpful"] == 1
    assert figures["faq_helpful_rate"] == pytest.approx(1 / 6)
    assert (figures["faq_asked_person"], figures["faq_handed_off"]) == (2, 1)
    # Messages the FAQ saw: 6 answered, 1 handed off, 1 answered with suggestions.
    assert figures["faq_handoff_rate"] == pytest.approx((1 + 2) / 8)

    # The FAQ's own measures (care.faq.faq_stats, from 1 September on) agree but for
    # October's answer.
    stats = (await faq_stats(session, since=SEPTEMBER.start)).overall
    assert (stats.answered, stats.deflected) == (7, 4)


async def test_a_longer_quiet_time_deflects_fewer(session: AsyncSession) -> None:
    await _history(session)

    settings = ReportSettings(faq_quiet_after=timedelta(minutes=30))
    figures = (await build_report(session, SEPTEMBER, NOW, settings, views=())).as_dict()

    # B's message 20 minutes after and C's ask 11 minutes after now count.
    assert figures["faq_deflected"] == 1


async def test_no_faq_answers_measures_nothing(session: AsyncSession) -> None:
    await _history(session)
    empty = Period.of(PeriodKind.WEEK, date(2025, 1, 8), ZONE)

    figures = (await build_report(session, empty, NOW, ReportSettings(), views=())).as_dict()

    assert figures["faq_answers"] == 0
    for rate in ("faq_deflection_rate", "faq_helpful_rate", "faq_handoff_rate"):
        assert figures[rate] is None, rate


async def test_the_summary_has_an_faq_line_only_when_the_faq_worked(
    session: AsyncSession,
) -> None:
    await _history(session)
    empty = Period.of(PeriodKind.WEEK, date(2025, 1, 8), ZONE)

    with use_locale("en"):
        september = summary_text(await build_report(session, SEPTEMBER, NOW, ReportSettings()))
        quiet = summary_text(await build_report(session, empty, NOW, ReportSettings()))

    line = "FAQ: 6 answers · deflection 50.0% · helpful 16.7% · hand-offs 37.5%"
    assert line in september.splitlines()
    assert "FAQ:" not in quiet
