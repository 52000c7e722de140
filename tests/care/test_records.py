"""The customer's record as plain data: export and finding a customer by reference."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from care.birthdays import Birthday
from care.clock import ManualClock
from care.contacts import ContactEntry, record_contacts
from care.customers import set_birthday
from care.models import BirthdayCalendar, ContactKind, Customer, Direction
from care.records import SCHEMA, CustomerNotFound, export_customer, find_customer_id


async def add_customer(session: AsyncSession, clock: ManualClock, **values: object) -> Customer:
    customer = Customer(created_at=clock.now(), **values)
    session.add(customer)
    await session.flush()
    return customer


async def test_export_holds_the_profile_and_every_contact(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await add_customer(
        session,
        clock,
        telegram_user_id=123456,
        chat_id=123456,
        first_name="小明",
        last_name="王",
        phone="+8613800138000",
        language="zh_CN",
        timezone="Asia/Shanghai",
        customer_type="regular",
    )
    set_birthday(customer, Birthday(BirthdayCalendar.LUNAR, 8, 15))
    asked = ContactEntry(
        Direction.INBOUND,
        ContactKind.TEXT,
        clock.now(),
        customer_id=customer.id,
        text="你好，我的订单呢？",
        telegram_message_id=10,
    )
    answered = ContactEntry(
        Direction.OUTBOUND,
        ContactKind.TEXT,
        clock.advance(timedelta(minutes=2)),
        chat_id=customer.chat_id,
        text="您好！马上为您查询。",
        telegram_message_id=11,
    )
    await record_contacts(session, [asked, answered])  # as the contact log writes them
    await session.refresh(customer)  # the log moves the last-contact times in SQL

    record = await export_customer(session, customer.id)

    assert record["schema"] == SCHEMA == "carebot.customer.v1"
    profile = record["customer"]
    assert profile["id"] == customer.id
    assert profile["telegram_user_id"] == 123456
    assert (profile["first_name"], profile["last_name"]) == ("小明", "王")
    assert profile["birthday"] == {
        "calendar": "lunar",
        "year": None,
        "month": 8,
        "day": 15,
        "leap_month": False,
    }
    assert profile["created_at"] == "2026-09-24T10:00:00+00:00"
    assert profile["last_contact_at"] == "2026-09-24T10:02:00+00:00"
    assert profile["last_seen_at"] == "2026-09-24T10:00:00+00:00", "when they last wrote"
    assert profile["erased_at"] is None
    assert record["contacts"] == [
        {
            "direction": "in",
            "kind": "text",
            "text": "你好，我的订单呢？",
            "telegram_message_id": 10,
            "created_at": "2026-09-24T10:00:00+00:00",
        },
        {
            "direction": "out",
            "kind": "text",
            "text": "您好！马上为您查询。",
            "telegram_message_id": 11,
            "created_at": "2026-09-24T10:02:00+00:00",
        },
    ]
    assert json.loads(json.dumps(record, ensure_ascii=False)) == record


async def test_every_customer_column_is_exported(session: AsyncSession, clock: ManualClock) -> None:
    customer = await add_customer(session, clock, telegram_user_id=1)

    profile = (await export_customer(session, customer.id))["customer"]

    columns = {a.key for a in inspect(Customer).column_attrs}
    birthday_columns = {c for c in columns if c.startswith("birthday_")}
    assert set(profile) == columns - birthday_columns | {"birthday"}
    assert profile["birthday"] is None


async def test_a_customer_without_contacts_exports_an_empty_history(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await add_customer(session, clock, telegram_user_id=2)

    record = await export_customer(session, customer.id)

    assert record["contacts"] == []


async def test_exporting_an_unknown_customer_raises(session: AsyncSession) -> None:
    with pytest.raises(CustomerNotFound) as caught:
        await export_customer(session, 999)

    assert caught.value.customer_id == 999


async def test_find_customer_by_our_id_or_telegram_id(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await add_customer(session, clock, telegram_user_id=123456)

    assert await find_customer_id(session, str(customer.id)) == customer.id
    assert await find_customer_id(session, f" {customer.id} ") == customer.id
    assert await find_customer_id(session, "tg:123456") == customer.id
    assert await find_customer_id(session, "TG: 123456") == customer.id
    assert await find_customer_id(session, str(customer.id + 1)) is None
    assert await find_customer_id(session, "tg:654321") is None


@pytest.mark.parametrize("ref", ["", "abc", "-3", "tg:", "tg:abc", "１２"])
async def test_a_malformed_reference_is_refused(session: AsyncSession, ref: str) -> None:
    with pytest.raises(ValueError, match="expected 17 or tg:123456"):
        await find_customer_id(session, ref)
