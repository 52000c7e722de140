"""The customer record without Telegram: registration, consent, erasure, the contact log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from care import contacts, customers, privacy
from care.birthdays import Birthday
from care.clock import ManualClock
from care.contacts import ContactEntry
from care.locales import locale_for_language_code
from care.models import BirthdayCalendar, Contact, ContactKind, Direction

ANNA = customers.TelegramIdentity(user_id=1001, chat_id=1001, first_name="Anna", username="anna")


@pytest.mark.parametrize(
    ("code", "locale"),
    [
        ("zh-hans", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh-hant", "zh_CN"),
        ("zh", "zh_CN"),
        ("en-US", "en"),
        ("en", "en"),
        ("de", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_language_codes_map_to_our_locales(code: str | None, locale: str) -> None:
    assert locale_for_language_code(code, default="en") == locale


async def test_first_contact_creates_one_record(session: AsyncSession, clock: ManualClock) -> None:
    first, created = await customers.get_or_create_customer(session, ANNA, clock.now())
    again, created_again = await customers.get_or_create_customer(session, ANNA, clock.now())
    assert created and not created_again and first.id == again.id
    assert first.customer_type == "potential" and first.consent_care is False


async def test_contacts_move_last_contact_time(session: AsyncSession, clock: ManualClock) -> None:
    customer, _ = await customers.get_or_create_customer(session, ANNA, clock.now())
    hello = ContactEntry(
        Direction.INBOUND, ContactKind.TEXT, clock.now(), customer_id=customer.id, text="你好"
    )
    await contacts.record_contacts(session, [hello])
    later = clock.advance(timedelta(minutes=5))
    # What the bot sends is logged by chat (bot.delivery), the customer found by it.
    answer = ContactEntry(
        Direction.OUTBOUND, ContactKind.TEXT, later, chat_id=ANNA.chat_id, text="您好！",
        telegram_message_id=7,
    )  # fmt: skip
    assert await contacts.record_contacts(session, [answer]) == [customer.id]
    stranger = ContactEntry(
        Direction.OUTBOUND, ContactKind.TEXT, later, chat_id=999, text="nobody",
        telegram_message_id=8,
    )  # fmt: skip
    assert await contacts.record_contacts(session, [stranger]) == [None]
    await session.refresh(customer)
    assert customer.last_contact_at == later
    assert customer.last_seen_at == later - timedelta(minutes=5), "our reply is not theirs"
    history = await contacts.contact_history(session, customer.id)
    assert [(c.direction, c.text) for c in history] == [("in", "你好"), ("out", "您好！")]


async def test_blocked_customer_is_unreachable_until_they_write(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer, _ = await customers.get_or_create_customer(session, ANNA, clock.now())
    assert await customers.mark_unreachable(session, ANNA.chat_id, clock.now())
    assert not await customers.mark_unreachable(session, ANNA.chat_id, clock.now())
    await session.refresh(customer)
    assert customer.reachable is False and customer.unreachable_since == clock.now()
    await customers.get_or_create_customer(session, ANNA, clock.now())
    assert customer.reachable is True


@pytest.mark.parametrize(
    ("written", "region", "kept"),
    [
        ("+49 (151) 1234-5678", None, "+4915112345678"),
        ("13800138000", "CN", "+8613800138000"),
        ("138 0013 8000", "CN", "+8613800138000"),
        ("138-0013-8000", "CN", "+8613800138000"),
        ("１３８００１３８０００", "CN", "+8613800138000"),  # full-width digits
        ("008613800138000", "CN", "+8613800138000"),
        ("+86 138 0013 8000", "US", "+8613800138000"),
        ("(020) 8888 8888", "CN", "+862088888888"),  # a Guangzhou landline
        ("9123 4567", "HK", "+85291234567"),
        ("(650) 253-0000", "US", "+16502530000"),
    ],
)
def test_phone_numbers_are_checked_and_kept_in_e164(
    written: str, region: str | None, kept: str
) -> None:
    assert customers.normalize_phone(written, region) == kept


@pytest.mark.parametrize(
    ("written", "region"),
    [
        ("call me", "CN"),
        ("12345", "CN"),  # too short
        ("1380013800", "CN"),  # a digit missing
        ("138001380001", "CN"),  # one too many
        ("13800138000", None),  # no country code and no region to read it in
        ("+86 12345", None),
    ],
)
def test_invalid_phone_numbers_are_refused(written: str, region: str | None) -> None:
    with pytest.raises(ValueError):
        customers.normalize_phone(written, region)


def test_shared_contacts_are_international_without_plus() -> None:
    assert customers.shared_phone("8613800138000") == "+8613800138000"
    assert customers.shared_phone("+4915112345678") == "+4915112345678"
    assert customers.format_phone("+8613800138000") == "+86 138 0013 8000"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("13800138000", "13800138000"),
        ("+86 138-0013-8000", "+86 138-0013-8000"),
        ("电话：13800138000", "13800138000"),
        ("我的手机号是 138 0013 8000", "138 0013 8000"),
        ("My number is (650) 253-0000", "(650) 253-0000"),
        ("1380013800", "1380013800"),  # an attempt, though not a valid number
        ("快递三天还没到", None),
        ("我的订单12345还没发货", None),
        ("Order 12345 is late", None),
        ("1990-05-20 is my birthday", None),
        ("42", None),
    ],
)
def test_a_typed_phone_number_is_told_from_a_message(text: str, number: str | None) -> None:
    assert customers.typed_phone(text) == number


async def test_forget_keeps_counts_and_drops_the_person(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer, _ = await customers.get_or_create_customer(session, ANNA, clock.now())
    customers.set_phone(customer, "+8613800138000")
    await contacts.record_contacts(
        session,
        [
            ContactEntry(
                Direction.INBOUND,
                ContactKind.TEXT,
                clock.now(),
                customer_id=customer.id,
                text=text,
                telegram_message_id=5,
            )
            for text in ("我的订单", "谢谢")
        ],
    )
    await privacy.forget_customer(session, customer, clock.now())
    assert customer.telegram_user_id is None and customer.phone is None
    assert customer.first_name is None and customer.erased_at == clock.now()
    rows = (await session.execute(select(Contact.text, Contact.telegram_message_id))).all()
    assert rows == [(None, None), (None, None)]
    assert await customers.find_customer(session, ANNA.user_id) is None
    fresh, created = await customers.get_or_create_customer(session, ANNA, clock.now())
    assert created and fresh.id != customer.id


async def test_many_contacts_are_logged_at_once(session: AsyncSession, clock: ManualClock) -> None:
    anna, _ = await customers.get_or_create_customer(session, ANNA, clock.now())
    ben_identity = customers.TelegramIdentity(user_id=1002, chat_id=1002, first_name="Ben")
    ben, _ = await customers.get_or_create_customer(session, ben_identity, clock.now())
    start = clock.now()
    later = start + timedelta(minutes=1)
    entries = [
        contacts.ContactEntry(
            Direction.INBOUND, ContactKind.TEXT, later, customer_id=anna.id, text="你好"
        ),
        contacts.ContactEntry(
            Direction.OUTBOUND,
            ContactKind.TEXT,
            later,
            chat_id=ANNA.chat_id,
            text="您好！",
            telegram_message_id=7,
        ),
        # Logged out of order: Ben's last-contact time must not go back to the start.
        contacts.ContactEntry(Direction.INBOUND, ContactKind.BUTTON, later, customer_id=ben.id),
        contacts.ContactEntry(Direction.INBOUND, ContactKind.TEXT, start, customer_id=ben.id),
        contacts.ContactEntry(Direction.OUTBOUND, ContactKind.TEXT, later, chat_id=999, text="?"),
    ]

    logged = await contacts.record_contacts(session, entries)

    assert logged == [anna.id, anna.id, ben.id, ben.id, None], "chat 999 is nobody's"
    await session.refresh(anna)
    await session.refresh(ben)
    assert anna.last_contact_at == later and ben.last_contact_at == later
    history = await contacts.contact_history(session, anna.id)
    assert [(c.direction, c.text, c.telegram_message_id) for c in history] == [
        ("in", "你好", None),
        ("out", "您好！", 7),
    ]
    assert [c.kind for c in await contacts.contact_history(session, ben.id)] == ["button", "text"]
    assert await contacts.record_contacts(session, []) == []


async def test_logged_text_is_cut_to_the_limit(session: AsyncSession, clock: ManualClock) -> None:
    anna, _ = await customers.get_or_create_customer(session, ANNA, clock.now())
    long_text = "长" * (contacts.MAX_LOGGED_TEXT + 10)
    entry = contacts.ContactEntry(
        Direction.INBOUND, ContactKind.TEXT, clock.now(), customer_id=anna.id, text=long_text
    )
    await contacts.record_contacts(session, [entry])
    [logged] = await contacts.contact_history(session, anna.id)
    assert logged.text == long_text[: contacts.MAX_LOGGED_TEXT]


async def test_only_what_the_customer_sends_moves_their_last_seen_time(
    session: AsyncSession, clock: ManualClock
) -> None:
    anna, _ = await customers.get_or_create_customer(session, ANNA, clock.now())
    ben_identity = customers.TelegramIdentity(user_id=1002, chat_id=1002, first_name="Ben")
    ben, _ = await customers.get_or_create_customer(session, ben_identity, clock.now())
    cara_identity = customers.TelegramIdentity(user_id=1003, chat_id=1003, first_name="Cara")
    cara, _ = await customers.get_or_create_customer(session, cara_identity, clock.now())
    start = clock.now()
    later = start + timedelta(minutes=1)

    def entry(direction: Direction, at: Any, customer_id: int) -> contacts.ContactEntry:
        return contacts.ContactEntry(direction, ContactKind.TEXT, at, customer_id=customer_id)

    updates: list[str] = []

    def note(_connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE CUSTOMER"):
            updates.append(statement)

    sync_engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(sync_engine, "before_cursor_execute", note)
    try:
        await contacts.record_contacts(
            session,
            [
                entry(Direction.OUTBOUND, later, anna.id),  # only our greeting
                entry(Direction.OUTBOUND, later, ben.id),
                entry(Direction.INBOUND, start, ben.id),  # logged late, still theirs
                entry(Direction.INBOUND, start, cara.id),
                entry(Direction.INBOUND, later, cara.id),
                entry(Direction.OUTBOUND, start, cara.id),
            ],
        )
    finally:
        event.remove(sync_engine, "before_cursor_execute", note)

    assert len(updates) == 1, "one statement moves every customer's times"
    for person in (anna, ben, cara):
        await session.refresh(person)
    assert (anna.last_contact_at, anna.last_seen_at) == (later, None)
    assert (ben.last_contact_at, ben.last_seen_at) == (later, start)
    assert (cara.last_contact_at, cara.last_seen_at) == (later, later)

    # Never backwards: an older message logged late moves nothing.
    await contacts.record_contacts(session, [entry(Direction.INBOUND, start, cara.id)])
    await session.refresh(cara)
    assert (cara.last_contact_at, cara.last_seen_at) == (later, later)
    # A newer message from Ben moves both.
    latest = later + timedelta(minutes=1)
    await contacts.record_contacts(session, [entry(Direction.INBOUND, latest, ben.id)])
    await session.refresh(ben)
    assert (ben.last_contact_at, ben.last_seen_at) == (latest, latest)


async def test_a_paused_registration_resumes_at_the_first_question_not_answered(
    session: AsyncSession, clock: ManualClock
) -> None:
    customer, _ = await customers.get_or_create_customer(session, ANNA, clock.now(), "en")
    step = customers.RegistrationStep
    assert customers.registration_resumes_at(customer) is step.LANGUAGE
    customers.set_consent(customer, True, clock.now())
    assert customers.registration_resumes_at(customer) is step.PHONE
    customers.set_phone(customer, "+8613800138000")
    assert customers.registration_resumes_at(customer) is step.BIRTHDAY
    customers.set_birthday(customer, Birthday(BirthdayCalendar.SOLAR, 5, 20))
    assert customers.registration_resumes_at(customer) is None
    customers.set_phone(customer, None)
    customers.complete_onboarding(customer, clock.now())
    assert customers.registration_resumes_at(customer) is None, "registered: nothing to resume"
