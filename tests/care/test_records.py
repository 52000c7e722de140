"""The customer's record as plain data: export and finding a customer by reference."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from care import complaints, owed, purchases
from care.birthdays import Birthday
from care.clock import ManualClock
from care.contacts import ContactEntry, record_contacts
from care.customers import set_birthday
from care.models import (
    Base,
    BirthdayCalendar,
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintRating,
    ContactKind,
    Customer,
    CustomerTag,
    Direction,
    Outbox,
    OwedMessage,
    PersistenceEntry,
    Purchase,
)
from care.records import SCHEMA, SECTIONS, CustomerNotFound, export_customer, find_customer_id
from care.sla import SlaPolicy
from care.triage import Triage


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


def tables_about_customers() -> set[str]:
    """Every table that references ``customer``, directly or through such a table."""
    found = {"customer"}
    while True:
        more = {
            table.name
            for table in Base.metadata.sorted_tables
            if table.name not in found
            and any(key.column.table.name in found for key in table.foreign_keys)
        }
        if not more:
            return found - {"customer"}
        found |= more


def test_every_table_that_references_a_customer_is_in_the_export() -> None:
    covered = {table for section in SECTIONS for table in section.tables}

    about = tables_about_customers()

    assert {"complaint", "complaint_event", "outbox", "purchase"} <= about, "the search works"
    assert about - covered == set(), "add a section to care/records.py for these tables"
    assert "ptb_persistence" in covered, "dialogue states name the person by Telegram id"


def columns(model: type[Base], *leave_out: str) -> set[str]:
    return {a.key for a in inspect(model).column_attrs} - set(leave_out)


async def test_export_holds_complaints_purchases_tags_messages_and_conversations(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer = await add_customer(
        session, clock, telegram_user_id=555001, chat_id=555001, first_name="Lin",
        consent_care=True, consent_changed_at=clock.now(),
    )  # fmt: skip
    other = await add_customer(session, clock, telegram_user_id=555002, chat_id=555002)
    for owner, text in ((customer, "The lid is cracked"), (other, "Someone else's")):
        draft = await complaints.start_draft(session, owner, clock.now())
        complaints.set_category(draft, "product")
        complaints.set_description(draft, text)
        complaints.set_reference(draft, "A-77")
        await complaints.add_attachment(
            session, draft, "photo", "file-1", clock.now(), caption="the lid"
        )
        filed = await complaints.file_complaint(
            session, draft, SlaPolicy(), Triage(), clock.now(), "Asia/Shanghai"
        )
        await complaints.record_customer_message(session, filed, "Any news?", clock.now())
        await complaints.remember_message(session, filed.id, -100, filed.id, "alert", clock.now())
        owed.owe(
            session, now=clock.now(), purpose=owed.Purpose.RELAY, chat_id=-100,
            text=f"{text} (relayed)", customer_id=owner.id, complaint_id=filed.id,
        )  # fmt: skip
        await purchases.record_purchase(
            session, owner.id, clock.now(), "Kettle", "O-1", clock.now()
        )
        session.add(CustomerTag(customer_id=owner.id, tag="vip"))
        session.add(
            Outbox(
                customer_id=owner.id, rule="birthday", template="birthday",
                dedupe_key="birthday:2026", due_at=clock.now(), state="sent",
                sent_at=clock.now(), telegram_message_id=99,
            )
        )  # fmt: skip
        session.add(
            PersistenceEntry(
                kind="conversation", data="description", updated_at=clock.now(),
                key=f'["complaint",[{owner.chat_id},{owner.telegram_user_id}]]',
            )
        )  # fmt: skip
    await session.flush()
    [mine] = await complaints.complaints_of(session, customer.id)
    mine.status, mine.times_resolved, mine.resolved_at = "resolved", 1, clock.now()
    await complaints.rate(session, mine, 4, clock.now())
    assert await complaints.add_rating_comment(session, mine, "Quick and kind")
    await session.flush()

    record = await export_customer(session, customer.id)

    assert record["consents"] == {
        "care_messages": {"given": True, "changed_at": "2026-09-24T10:00:00+00:00"}
    }
    [complaint] = record["complaints"]
    assert set(complaint) == columns(Complaint, "customer_id") | {
        "events",
        "ratings",
        "attachments",
        "messages",
    }
    [rating] = complaint["ratings"]
    assert set(rating) == columns(ComplaintRating, "complaint_id")
    assert (rating["resolution"], rating["score"], rating["comment"]) == (1, 4, "Quick and kind")
    assert (complaint["description"], complaint["reference"]) == ("The lid is cracked", "A-77")
    assert (complaint["rating"], complaint["rating_comment"]) == (4, "Quick and kind")
    assert [e["type"] for e in complaint["events"]] == ["filed", "customer_message", "rating"]
    assert complaint["events"][1]["note"] == "Any news?"
    assert set(complaint["events"][0]) == columns(ComplaintEvent, "complaint_id")
    [attachment] = complaint["attachments"]
    assert set(attachment) == columns(ComplaintAttachment, "complaint_id")
    assert (attachment["file_id"], attachment["caption"]) == ("file-1", "the lid")
    assert [(m["chat_id"], m["purpose"]) for m in complaint["messages"]] == [(-100, "alert")]
    [purchase] = record["purchases"]
    assert set(purchase) == columns(Purchase, "customer_id")
    assert (purchase["product"], purchase["reference"]) == ("Kettle", "O-1")
    assert record["tags"] == ["vip"]
    [care] = record["care_messages"]
    assert set(care) == columns(Outbox, "customer_id")
    assert (care["template"], care["state"], care["telegram_message_id"]) == (
        "birthday",
        "sent",
        99,
    )
    [relayed] = record["owed_messages"]
    assert set(relayed) == columns(OwedMessage, "data")  # a chart's bytes: never a customer's
    assert (relayed["text"], relayed["state"]) == ("The lid is cracked (relayed)", "pending")
    [conversation] = record["conversations"]
    assert conversation["key"] == '["complaint",[555001,555001]]'
    assert conversation["data"] == "description"
    assert json.loads(json.dumps(record, ensure_ascii=False)) == record
