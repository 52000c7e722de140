"""Passive churn (被动流失: the company ended the relationship) next to active churn (the
customer left), over the hand-counted history of tests/care/test_reports.py, on SQLite
and PostgreSQL; and a customer the company let go is sent no more care."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from care import audiences, privacy
from care.models import Contact, Customer
from care.reports import ReportSettings, build_report
from tests.care.test_reports import NOW, SEPTEMBER, _history, local


async def test_the_company_ending_a_relationship_is_passive_churn(session: AsyncSession) -> None:
    await _history(session)

    def customer(name: str, **more: object) -> Customer:
        row = Customer(first_name=name, created_at=local(2026, 7, 1), **more)
        session.add(row)
        return row

    # Gus wrote on 1 September; the company ended it on 15 September: passive.
    gus = customer("Gus", ended_at=local(2026, 9, 15), ended_reason="debts")
    # Hal's relationship was ended in August: not served in September at all.
    hal = customer("Hal", ended_at=local(2026, 8, 20))
    # Ivy's was ended on 20 September, and she blocked the bot on the 21st: she left
    # first in the order the report counts (blocked), not passive as well.
    ivy = customer(
        "Ivy", ended_at=local(2026, 9, 20), reachable=False,
        unreachable_since=local(2026, 9, 21),
    )  # fmt: skip
    # Jo's was ended in October: still served, not lost in September.
    jo = customer("Jo", ended_at=local(2026, 10, 2))
    await session.flush()
    for who, at in ((gus, (2026, 9, 1)), (hal, (2026, 8, 10)), (ivy, (2026, 9, 2)),
                    (jo, (2026, 9, 3))):  # fmt: skip
        session.add(Contact(customer_id=who.id, direction="in", kind="text", created_at=local(*at)))
    await session.flush()

    figures = (await build_report(session, SEPTEMBER, NOW, ReportSettings(), views=())).as_dict()

    # The five of the base history, and Gus, Ivy and Jo.
    assert figures["customers_served"] == 8
    assert figures["churned_passive"] == 1  # Gus
    assert figures["churned_blocked"] == 2  # Dai, Ivy
    assert (figures["churned_forgotten"], figures["churned_quiet"]) == (1, 1)  # Bo, Chen
    assert figures["churned_active"] == 4
    assert figures["customers_lost"] == 5
    assert figures["churn_rate"] == pytest.approx(5 / 8)
    assert figures["retention_rate"] == pytest.approx(3 / 8)

    # Gus asks to be forgotten later: he still counts, anonymously, and his reason goes.
    await privacy.forget_customer(session, gus, local(2026, 10, 3))
    await session.flush()
    assert gus.ended_reason is None
    again = (await build_report(session, SEPTEMBER, NOW, ReportSettings(), views=())).as_dict()
    assert (again["customers_served"], again["churned_passive"]) == (8, 1)


async def test_a_customer_the_company_let_go_gets_no_care(session: AsyncSession) -> None:
    def customer(name: str, **more: object) -> Customer:
        row = Customer(
            first_name=name, created_at=local(2026, 7, 1), chat_id=len(name) * 1000,
            consent_care=True, **more,
        )  # fmt: skip
        session.add(row)
        return row

    kept, ended = customer("Kim"), customer("Lou", ended_at=local(2026, 9, 15))
    await session.flush()

    reached = await session.scalars(audiences.audience_query({"kind": "all"}, NOW))
    assert list(reached) == [kept.id], "the one let go is in no audience"
    assert await audiences.audience_size(session, {"kind": "all"}, NOW) == 1
    assert ended.ended_at is not None
