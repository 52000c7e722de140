"""The contact log's writer: shared transactions, callers back only after the commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.contact_log import CommitFailed, ContactLog
from bot.db import make_engine, make_sessionmaker
from care import contacts, customers
from care.clock import ManualClock
from care.contacts import ContactEntry
from care.models import Contact, ContactKind, Customer, Direction
from care.segments import SegmentRules


async def new_customers(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, count: int
) -> list[int]:
    ids = []
    async with sessionmaker.begin() as session:
        for n in range(count):
            who = customers.TelegramIdentity(user_id=5000 + n, chat_id=5000 + n, first_name="客户")
            customer, _ = await customers.get_or_create_customer(session, who, clock.now())
            ids.append(customer.id)
    return ids


def inbound(customer_id: int, text: str, clock: ManualClock) -> ContactEntry:
    return ContactEntry(
        Direction.INBOUND, ContactKind.TEXT, clock.now(), customer_id=customer_id, text=text
    )


async def logged_texts(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str | None]:
    """Every contact's text, in the order of the rows, read in a fresh session."""
    async with sessionmaker() as session:
        return list((await session.scalars(select(Contact.text).order_by(Contact.id))).all())


@pytest.fixture
async def log(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[ContactLog]:
    contact_log = ContactLog(sessionmaker)
    await contact_log.open()
    yield contact_log
    await contact_log.close()


async def test_a_record_is_committed_when_record_returns(
    log: ContactLog, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    [anna] = await new_customers(sessionmaker, clock, 1)
    clock.advance(timedelta(minutes=3))

    await log.record(inbound(anna, "我的快递到哪了？", clock))

    assert await logged_texts(sessionmaker) == ["我的快递到哪了？"]
    async with sessionmaker() as session:
        customer = await session.get_one(Customer, anna)
        assert customer.last_contact_at == customer.last_seen_at == clock.now()


async def test_concurrent_records_share_a_transaction_and_each_waits_for_it(
    log: ContactLog, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    ids = await new_customers(sessionmaker, clock, 20)
    seen_after_return: list[bool] = []

    async def record_and_look(customer_id: int, text: str) -> None:
        await log.record(inbound(customer_id, text, clock))
        # What a caller finds right after record() returns: its row, committed.
        async with sessionmaker() as session:
            found = await session.scalar(select(func.count()).where(Contact.text == text))
        seen_after_return.append(found == 1)

    texts = [f"message {n}" for n in range(200)]
    await asyncio.gather(
        *(record_and_look(ids[n % len(ids)], text) for n, text in enumerate(texts))
    )

    assert all(seen_after_return) and len(seen_after_return) == 200
    assert log.transactions <= 3, "200 records at once share a few transactions"
    assert await logged_texts(sessionmaker) == texts, "rows keep the order of the calls"


async def test_an_idle_log_commits_each_record_at_once(
    log: ContactLog, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    [anna] = await new_customers(sessionmaker, clock, 1)
    for n in range(3):
        await log.record(inbound(anna, f"one by one {n}", clock))
    assert log.transactions == 3


async def test_a_bad_entry_fails_only_its_own_caller(
    log: ContactLog, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    [anna] = await new_customers(sessionmaker, clock, 1)
    nobody = anna + 1000  # breaks the foreign key

    results = await asyncio.gather(
        log.record(inbound(anna, "before", clock)),
        log.record(inbound(nobody, "orphan", clock)),
        log.record(inbound(anna, "after", clock)),
        return_exceptions=True,
    )

    assert results[0] is None and results[2] is None
    assert isinstance(results[1], CommitFailed)
    assert await logged_texts(sessionmaker) == ["before", "after"]


@pytest.mark.parametrize(
    "refusal",
    [
        UnicodeEncodeError("utf-8", "\ud83d", 0, 1, "surrogates not allowed"),  # SQLite's
        DBAPIError("INSERT INTO contact", {}, Exception("invalid byte sequence")),  # asyncpg's
    ],
    ids=["UnicodeEncodeError", "DBAPIError"],
)
async def test_a_row_the_driver_refuses_fails_only_its_own_caller(
    log: ContactLog,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    refusal: Exception,
) -> None:
    ids = await new_customers(sessionmaker, clock, 40)
    write = contacts.record_contacts

    async def refusing(
        session: AsyncSession, entries: Sequence[ContactEntry], **kwargs: Any
    ) -> list[int | None]:
        if any(entry.text == "unstorable" for entry in entries):
            raise refusal
        return await write(session, entries)

    monkeypatch.setattr(contacts, "record_contacts", refusing)
    results = await asyncio.gather(
        *(log.record(inbound(anna, f"fine {n}", clock)) for n, anna in enumerate(ids[:20])),
        log.record(inbound(ids[20], "unstorable", clock)),
        *(log.record(inbound(anna, f"fine {n}", clock)) for n, anna in enumerate(ids[21:], 21)),
        return_exceptions=True,
    )

    assert isinstance(results[20], CommitFailed)
    assert [r for n, r in enumerate(results) if n != 20] == [None] * 39
    assert sorted(await logged_texts(sessionmaker), key=lambda t: int(str(t).split()[1])) == [
        f"fine {n}" for n in range(40) if n != 20
    ]


async def test_a_lone_surrogate_is_stored_as_a_replacement_character(
    log: ContactLog, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    [anna] = await new_customers(sessionmaker, clock, 1)
    await log.record(inbound(anna, "half an emoji \ud83d and a NUL \x00.", clock))
    assert await logged_texts(sessionmaker) == ["half an emoji \ufffd and a NUL ."]


async def test_a_failed_transaction_fails_its_callers_and_the_log_goes_on(
    log: ContactLog,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    [anna] = await new_customers(sessionmaker, clock, 1)

    async def locked(session: AsyncSession, entries: Sequence[ContactEntry], **kw: Any) -> None:
        raise OperationalError("INSERT INTO contact", {}, Exception("database is locked"))

    monkeypatch.setattr(contacts, "record_contacts", locked)
    results = await asyncio.gather(
        *(log.record(inbound(anna, f"lost {n}", clock)) for n in range(5)),
        return_exceptions=True,
    )
    assert all(isinstance(result, CommitFailed) for result in results)
    assert all(isinstance(result.__cause__, OperationalError) for result in results)
    assert "could not write 5 item(s)" in caplog.text

    monkeypatch.undo()
    await log.record(inbound(anna, "kept", clock))
    assert await logged_texts(sessionmaker) == ["kept"]


async def test_close_commits_what_is_queued_and_later_records_still_land(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    [anna] = await new_customers(sessionmaker, clock, 1)
    log = ContactLog(sessionmaker)
    await log.open()
    pending = [
        asyncio.create_task(log.record(inbound(anna, f"queued {n}", clock))) for n in range(50)
    ]
    await asyncio.sleep(0)  # all of them are queued now

    await log.close()

    assert all(task.done() and task.exception() is None for task in pending)
    assert len(await logged_texts(sessionmaker)) == 50
    await log.record(inbound(anna, "while shutting down", clock))
    assert (await logged_texts(sessionmaker))[-1] == "while shutting down"


async def test_a_chat_that_is_nobodys_is_not_logged(
    log: ContactLog, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    entry = ContactEntry(Direction.OUTBOUND, ContactKind.TEXT, clock.now(), chat_id=77, text="hi")
    await log.record(entry)
    assert await logged_texts(sessionmaker) == []


async def test_callers_holding_every_pooled_connection_do_not_starve_the_writer(
    engine: AsyncEngine, database_url: str, clock: ManualClock
) -> None:
    """Handlers that send inside their own session hold a connection while they wait."""
    small = make_engine(database_url, pool_size=3, max_overflow=0, pool_timeout=0.5)
    held: list[AsyncConnection] = []
    try:
        sessionmaker = make_sessionmaker(small)
        [anna] = await new_customers(sessionmaker, clock, 1)
        log = ContactLog(sessionmaker)
        await log.open()
        with pytest.raises(PoolTimeout):
            while True:  # the "handlers" take every connection the pool has left
                held.append(await small.connect())
        await asyncio.wait_for(log.record(inbound(anna, "sent meanwhile", clock)), 5)
        await log.close()
        assert held, "the handlers hold connections"
        assert await logged_texts(sessionmaker) == ["sent meanwhile"]
    finally:
        for connection in held:
            await connection.close()
        await small.dispose()


async def test_a_customers_first_message_of_a_day_classifies_them_again(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    [kim] = await new_customers(sessionmaker, clock, 1)
    async with sessionmaker.begin() as session:
        customer = await session.get_one(Customer, kim)
        customer.last_seen_at = clock.now() - timedelta(days=100)
        customer.churn_risk = "high"  # as the segments job left them: quiet 100 days
        customer.lifecycle_stage = "defence"
    contact_log = ContactLog(sessionmaker, SegmentRules())
    await contact_log.open()
    try:
        await contact_log.record(inbound(kim, "hello again", clock))

        async with sessionmaker() as session:
            customer = await session.get_one(Customer, kim)
            assert (customer.churn_risk, customer.lifecycle_stage) == ("low", "breakthrough")
            first = customer.segmented_at
        assert first == clock.now()

        # The next message of the same day changes no signal: not classified again (a
        # value planted meanwhile stays), until the first message of the next day.
        async with sessionmaker.begin() as session:
            (await session.get_one(Customer, kim)).value_segment = "planted"
        clock.advance(timedelta(minutes=5))
        await contact_log.record(inbound(kim, "and again", clock))
        async with sessionmaker() as session:
            customer = await session.get_one(Customer, kim)
            assert (customer.value_segment, customer.segmented_at) == ("planted", first)
        clock.advance(timedelta(days=1))
        await contact_log.record(inbound(kim, "a new day", clock))
        async with sessionmaker() as session:
            assert (await session.get_one(Customer, kim)).value_segment == "dog"
    finally:
        await contact_log.close()
