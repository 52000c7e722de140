"""``carebot customer find|show|tag|segments`` and ``purchase add --amount``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from care.models import Customer, CustomerTag, Purchase
from tests.bot.test_cli import Carebot, carebot, table_rows

__all__ = ["carebot"]  # the fixture, shared with test_cli


async def add(sessionmaker: async_sessionmaker[AsyncSession], **values: object) -> int:
    async with sessionmaker.begin() as session:
        record = Customer(created_at=datetime.now(UTC) - timedelta(days=400), **values)
        session.add(record)
        await session.flush()
        return record.id


async def test_find_show_and_tag_a_customer(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    wang = await add(
        sessionmaker, first_name="王", last_name="小明", username="xm", phone="+8613800138000"
    )
    await add(sessionmaker, first_name="王", last_name="丽")

    found = await carebot("customer", "find", "王")
    assert found.exit_code == 0, found.output
    assert [row[1] for row in table_rows(found.stdout)] == ["王 小明", "王 丽"]

    several = await carebot("customer", "tag", "王", "add", "vip")
    assert several.exit_code == 1
    assert "Several customers match" in several.stderr

    tagged = await carebot("customer", "tag", "138 0013 8000", "add", "VIP")
    assert tagged.exit_code == 0, tagged.output
    assert f"Customer {wang} tagged; tags now: vip." in tagged.stdout
    bad = await carebot("customer", "tag", "@xm", "add", "no/slash")
    assert bad.exit_code == 1 and "a tag is one word" in bad.stderr
    async with sessionmaker() as session:
        assert (await session.scalars(select(CustomerTag.tag))).all() == ["vip"]

    amount = await carebot(
        "purchase", "add", str(wang), "--at", "2026-01-02", "--amount", "1,299.50"
    )
    assert amount.exit_code == 0, amount.output
    async with sessionmaker() as session:
        assert await session.scalar(select(Purchase.amount)) == Decimal("1299.50")
    not_amount = await carebot(
        "purchase", "add", str(wang), "--at", "2026-01-02", "--amount", "lots"
    )
    assert not_amount.exit_code == 2 and "is not an amount" in not_amount.output

    shown = await carebot("customer", "show", "@xm")
    assert shown.exit_code == 0, shown.output
    rows = dict((row[0], row[1]) for row in table_rows(shown.stdout) if len(row) == 2)
    assert rows["tags"] == "vip"
    assert rows["type"] == "one_time"  # the purchase made them more than potential
    assert rows["purchases"] == "1 worth 1299.50"
    assert "Segment changes (newest first):" in shown.stdout
    assert "customer type: potential -> one_time" in shown.stdout

    computed = await carebot("customer", "segments")
    assert computed.exit_code == 0, computed.output
    assert "2 customers classified" in computed.stdout

    nobody = await carebot("customer", "show", "nobody")
    assert nobody.exit_code == 1 and "No customer matches" in nobody.stderr


async def test_the_company_ends_a_relationship_and_takes_it_back(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    gus = await add(sessionmaker, first_name="Gus", username="gus")

    ended = await carebot("customer", "end", "@gus", "--reason", "unpaid invoices")
    assert ended.exit_code == 0, ended.output
    assert f"Customer {gus}: relationship ended." in ended.stdout
    again = await carebot("customer", "end", "@gus")
    assert "had been ended already" in again.stdout
    shown = await carebot("customer", "show", "@gus")
    rows = dict((row[0], row[1]) for row in table_rows(shown.stdout) if len(row) == 2)
    assert rows["relationship"].startswith("ended by us ")
    assert rows["relationship"].endswith(": unpaid invoices")
    async with sessionmaker() as session:
        customer = await session.get_one(Customer, gus)
        assert customer.ended_at is not None and customer.ended_reason == "unpaid invoices"

    undone = await carebot("customer", "end", "@gus", "--undo")
    assert f"Customer {gus}: relationship goes on." in undone.stdout
    async with sessionmaker() as session:
        customer = await session.get_one(Customer, gus)
        assert customer.ended_at is None and customer.ended_reason is None
