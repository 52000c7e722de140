"""care.owed without Telegram: per-chat order, coalesced card edits, recovery, pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care import owed
from care.models import OwedMessage, OwedState
from care.owed import Kind, Purpose

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


async def test_one_chat_in_order_other_chats_at_once(session: AsyncSession) -> None:
    first = owed.owe(session, now=NOW, purpose=Purpose.ALERT, chat_id=1, text="a")
    second = owed.owe(session, now=NOW, purpose=Purpose.ALERT, chat_id=1, text="b")
    other = owed.owe(session, now=NOW, purpose=Purpose.ALERT, chat_id=2, text="c")
    await session.flush()
    claimed = await owed.claim_due(session, NOW, 10, "me")
    assert [row.id for row in claimed] == [first.id, other.id], "b waits for a"
    # a fails for now: b still waits (it must not overtake a).
    await owed.retry_later(session, first.id, "500", NOW + timedelta(seconds=2))
    assert await owed.claim_due(session, NOW + timedelta(seconds=1), 10, "me") == []
    again = await owed.claim_due(session, NOW + timedelta(seconds=2), 10, "me")
    assert [row.id for row in again] == [first.id]
    await owed.mark_sent(session, first.id, 11, NOW)
    assert [row.id for row in await owed.claim_due(session, NOW, 10, "me")] == [second.id]


async def test_a_429_does_not_count_an_attempt(session: AsyncSession) -> None:
    row = owed.owe(session, now=NOW, purpose=Purpose.ALERT, chat_id=1, text="a")
    await session.flush()
    await owed.claim_due(session, NOW, 10, "me")
    retried = await owed.retry_later(session, row.id, "429", NOW, count=False)
    assert retried is not None and retried.attempts == 0


async def test_rows_of_a_dead_sender_are_sent_again(session: AsyncSession) -> None:
    row = owed.owe(session, now=NOW, purpose=Purpose.ALERT, chat_id=1, text="a")
    await session.flush()
    await owed.claim_due(session, NOW, 10, "dead")
    # On SQLite every other sender is a dead one.
    assert await owed.recover_in_flight(session, "me") == 1
    await session.refresh(row)
    assert row.state == OwedState.PENDING.value
    # An outcome that comes after the recovery changes nothing.
    assert await owed.mark_sent(session, row.id, 5, NOW) is None


async def test_settled_rows_are_pruned_after_a_while(session: AsyncSession) -> None:
    old = owed.owe(session, now=NOW - timedelta(days=8), purpose=Purpose.ALERT, chat_id=1)
    waiting = owed.owe(session, now=NOW - timedelta(days=8), purpose=Purpose.ALERT, chat_id=2)
    recent = owed.owe(session, now=NOW, purpose=Purpose.ALERT, chat_id=3)
    await session.flush()
    old.state, recent.state = OwedState.SENT.value, OwedState.SENT.value
    await session.flush()
    assert await owed.prune(session, NOW - timedelta(days=7)) == 1
    left = (await session.scalars(select(OwedMessage.id).order_by(OwedMessage.id))).all()
    assert left == [waiting.id, recent.id], "never a row still owed"


async def test_kinds_are_plain_values(session: AsyncSession) -> None:
    row = owed.owe(
        session, now=NOW, purpose=Purpose.RELAY, kind=Kind.COPY, chat_id=-100, source=(7, 8),
        buttons=[[owed.Button("OK", "x:1")]],
    )  # fmt: skip
    await session.flush()
    assert (row.kind, row.source_chat_id, row.buttons) == ("copy", 7, [[["OK", "x:1"]]])


async def test_a_pass_that_failed_midway_gives_its_rows_back(session: AsyncSession) -> None:
    row = owed.owe(session, now=NOW, purpose=Purpose.ALERT, chat_id=1, text="a")
    await session.flush()
    await owed.claim_due(session, NOW, 10, "me")
    assert await owed.recover_in_flight(session, "me") == 0, "a sender's own rows are alive"
    assert await owed.recover_in_flight(session, "me", own=True) == 1
    await session.refresh(row)
    assert row.state == OwedState.PENDING.value


async def test_a_look_still_waiting_to_be_shown_needs_no_second_row(
    session: AsyncSession,
) -> None:
    """Topic looks and card edits are rendered when sent: while one waits, another of the
    same conversation adds nothing (it would be Telegram's "message is not modified")."""
    card = owed.owe(session, now=NOW, purpose=Purpose.CONVERSATION, chat_id=-5,
                    kind=Kind.CONVERSATION_CARD, customer_id=None)  # fmt: skip
    await session.flush()
    card.conversation_id = None  # no conversation row here: compare by chat and kind only
    await session.flush()
    assert await owed.still_pending(session, -5, Kind.CONVERSATION_CARD)
    assert not await owed.still_pending(session, -5, Kind.TOPIC), "another kind"
    assert not await owed.still_pending(session, -6, Kind.CONVERSATION_CARD), "another chat"
    assert not await owed.still_pending(
        session, -5, Kind.CONVERSATION_CARD, telegram_message_id=7
    ), "another row's columns"
    # Once a sender has claimed it, it may have been rendered already: it no longer counts.
    [claimed] = await owed.claim_due(session, NOW, 10, "me")
    assert claimed.id == card.id
    assert not await owed.still_pending(session, -5, Kind.CONVERSATION_CARD)
