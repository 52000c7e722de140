"""The FAQ knowledge base in the database: imports all or nothing, re-imports keep the
measures, the switches, and the measures themselves."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care import faq
from care.clock import ManualClock
from care.customers import TelegramIdentity, get_or_create_customer
from care.faq_files import FaqProblem, read_toml
from care.faq_models import FaqEntry, FaqEventKind
from care.models import Contact, ContactKind, Direction
from tests.helpers import utc

BASE = """
[[entry]]
id = "returns"
[entry.zh_CN]
questions = ["能退货吗？"]
answer = "可以，七天内。"
[entry.en]
questions = ["Can I return it?"]
answer = "Yes, within 7 days."

[[entry]]
id = "invoice"
related = ["returns"]
[entry.en]
questions = ["Can I get an invoice?"]
answer = "Yes, in My Orders."
"""

NOW = utc(2026, 12, 3, 10)


async def test_import_then_reimport_updates_by_id_and_keeps_the_counts(
    session: AsyncSession,
) -> None:
    first = await faq.import_entries(session, read_toml(BASE.encode()), NOW)
    assert (first.created, first.updated) == (("returns", "invoice"), ())
    await faq.record_event(session, FaqEventKind.ANSWERED, NOW, entry_id="returns")

    changed = BASE.replace("Yes, within 7 days.", "Yes, within seven days.")
    dry = await faq.import_entries(session, read_toml(changed.encode()), NOW, dry_run=True)
    assert (dry.created, dry.updated, dry.unchanged) == ((), ("returns",), ("invoice",))
    row = await session.get(FaqEntry, "returns")
    assert row is not None and row.texts["en"]["answer"] == "Yes, within 7 days."

    again = await faq.import_entries(session, read_toml(changed.encode()), NOW)
    assert again.updated == ("returns",)
    await session.refresh(row)
    assert row.texts["en"]["answer"] == "Yes, within seven days."
    stats = await faq.faq_stats(session)
    assert [(s.entry_id, s.answered) for s in stats.entries] == [("returns", 1)]


async def test_a_file_with_any_problem_changes_nothing(session: AsyncSession) -> None:
    await faq.import_entries(session, read_toml(BASE.encode()), NOW)
    broken = BASE.replace('related = ["returns"]', 'related = ["nowhere"]') + (
        '\n[[entry]]\nid = "new-one"\n[entry.en]\nquestions = ["x"]\nanswer = "y"\n'
    )

    outcome = await faq.import_entries(session, read_toml(broken.encode()), NOW)

    assert not outcome.ok
    assert [(e.where, e.problem) for e in outcome.errors] == [
        ("invoice", FaqProblem.UNKNOWN_RELATED)
    ]
    ids = (await session.scalars(select(FaqEntry.id).order_by(FaqEntry.id))).all()
    assert ids == ["invoice", "returns"]


async def test_switches_change_the_version_the_bot_rebuilds_on(session: AsyncSession) -> None:
    await faq.import_entries(session, read_toml(BASE.encode()), NOW)
    shelf = faq.FaqShelf()
    book = await shelf.book(session)
    assert set(book.entries) == {"returns", "invoice"} and book.enabled
    assert await shelf.book(session) is book, "unchanged base: the same book"

    assert await faq.set_entry_enabled(session, "invoice", False, NOW + timedelta(seconds=1))
    assert set((await shelf.book(session)).entries) == {"returns"}
    await faq.set_faq_enabled(session, False, NOW + timedelta(seconds=2))
    assert not (await shelf.book(session)).enabled
    assert not await faq.set_entry_enabled(session, "nowhere", True, NOW)


async def test_deflection_helpful_and_handoff_rates(session: AsyncSession) -> None:
    clock = ManualClock(NOW)
    await faq.import_entries(session, read_toml(BASE.encode()), NOW)
    people = []
    for n in range(4):
        customer, _created = await get_or_create_customer(
            session, TelegramIdentity(user_id=100 + n, chat_id=100 + n, first_name=f"P{n}"), NOW
        )
        people.append(customer.id)
    quiet, helped, asked, wrote = people
    for customer_id in people:
        await faq.record_event(
            session, FaqEventKind.ANSWERED, NOW, entry_id="returns", customer_id=customer_id
        )
    later = clock.advance(timedelta(minutes=2))
    await faq.record_event(
        session, FaqEventKind.HELPFUL, later, entry_id="returns", customer_id=helped
    )
    await faq.record_event(
        session, FaqEventKind.ASKED_PERSON, later, entry_id="returns", customer_id=asked
    )
    session.add_all(
        [
            Contact(
                customer_id=wrote,
                direction=Direction.INBOUND.value,
                kind=ContactKind.TEXT.value,
                text="that did not answer it",
                created_at=later,
            ),
            Contact(  # a button press is not a new message
                customer_id=helped,
                direction=Direction.INBOUND.value,
                kind=ContactKind.BUTTON.value,
                text="faq:ok:returns",
                created_at=later,
            ),
        ]
    )
    await faq.record_event(session, FaqEventKind.HANDED_OFF, later, customer_id=quiet)

    stats = await faq.faq_stats(session, quiet_after_answer=timedelta(minutes=10))

    [returns] = stats.entries
    assert (returns.answered, returns.helpful, returns.asked_person, returns.deflected) == (
        4,
        1,
        1,
        2,
    )
    assert returns.deflection_rate == 0.5 and returns.helpful_rate == 0.25
    overall = stats.overall
    assert (overall.handed_off, overall.answered) == (1, 4)
    assert overall.handoff_rate == 2 / 5  # one handed off, one asked, of five messages


async def test_the_same_answer_is_not_given_twice_in_a_row(session: AsyncSession) -> None:
    customer, _created = await get_or_create_customer(
        session, TelegramIdentity(user_id=7, chat_id=7, first_name="Q"), NOW
    )
    assert await faq.last_answer(session, customer.id) is None
    await faq.record_event(
        session, FaqEventKind.ANSWERED, NOW, entry_id="returns", customer_id=customer.id
    )
    assert await faq.last_answer(session, customer.id) == "returns"
    await faq.record_event(
        session, FaqEventKind.HANDED_OFF, NOW + timedelta(seconds=1), customer_id=customer.id
    )
    assert await faq.last_answer(session, customer.id) is None
