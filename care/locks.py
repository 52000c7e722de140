"""Advisory locks and claims: how carebot processes sharing one PostgreSQL database keep
out of each other's way.

A lock is taken for the caller's transaction (``pg_try_advisory_xact_lock``) and let go
when it ends, or when the process holding it dies and PostgreSQL drops its connection:
a lock never outlives its holder. Each lock is a pair of keys, a kind (:data:`PLANNER`,
:data:`SENDER`) and a number within it.

On SQLite carebot is one process (the embedded default), so there is nobody to keep
out: :func:`try_hold` takes nothing and always succeeds.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Insert, Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "INBOX_WORKER",
    "MIGRATIONS",
    "OWED_SENDER",
    "PLANNER",
    "REPORTS",
    "SEGMENTS",
    "SENDER",
    "WEBHOOK",
    "claim",
    "hold",
    "insert_once",
    "number_of",
    "try_hold",
]

# The kinds of lock (the first key); any 32-bit numbers no other application uses.
PLANNER = 0x63617201  # the planner job: one run at a time, across processes
SENDER = 0x63617202  # an outbox sender that may have rows in flight (number: its worker id)
OWED_SENDER = 0x63617203  # a sender of owed messages (care.owed) with rows in flight
REPORTS = 0x63617204  # the weekly report: owed by one process, once
INBOX_WORKER = 0x63617205  # a worker of the update inbox is alive (number: its worker id)
WEBHOOK = 0x63617206  # setting the webhook: one instance at a time (bot.webhook)
SEGMENTS = 0x63617207  # the segments job (care.segments): one run at a time
MIGRATIONS = 0x63617208  # the Alembic upgrade: one process at a time (bot/migrations/env.py)


def number_of(name: str) -> int:
    """A name (such as a sender's worker id) as a lock number: a signed 32-bit hash."""
    digest = hashlib.blake2b(name.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


async def try_hold(session: AsyncSession, kind: int, number: int = 0) -> bool:
    """Take the lock ``(kind, number)`` until the session's transaction ends, if free.

    Never waits. Call inside a transaction (``async with sessionmaker.begin()``).

    Returns:
        Whether the lock is now held by this transaction (always True on SQLite).
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    held = await session.scalar(select(func.pg_try_advisory_xact_lock(kind, number)))
    return bool(held)


Row = TypeVar("Row")


async def claim(
    session: AsyncSession,
    model: type[Row],
    due: Select[Any],
    *,
    sending: str,
    worker_id: str,
    now: datetime,
) -> list[Row]:
    """Claim the queue rows (the outbox's, the owed messages') whose ids ``due``
    selects (it should lock them ``SKIP LOCKED``): mark them ``sending`` by
    ``worker_id`` now, count the attempt, and return them (in no order: RETURNING keeps
    none). One statement, so two workers never claim a row twice, and a claim is
    committed before a request goes out."""
    table: Any = model
    claimed = await session.scalars(
        update(table)
        .where(table.id.in_(due.scalar_subquery()))
        .values(state=sending, claimed_by=worker_id, claimed_at=now, attempts=table.attempts + 1)
        .returning(table)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list(claimed.all())


async def hold(session: AsyncSession, kind: int, number: int = 0) -> None:
    """Take the lock ``(kind, number)`` until the session's transaction ends, waiting for
    whoever holds it. Call inside a transaction. Takes nothing on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return
    await session.execute(select(func.pg_advisory_xact_lock(kind, number)))


def insert_once(session: AsyncSession, table: Any, index_elements: list[Any]) -> Insert:
    """``INSERT … ON CONFLICT (index_elements) DO NOTHING`` in the session's dialect: a row
    that is there already (written by another process, or a repeat) is left as it is,
    in one statement and without a read first."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=index_elements)
