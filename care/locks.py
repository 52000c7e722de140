"""Advisory locks: how carebot processes sharing one PostgreSQL database keep out of
each other's way.

A lock is taken for the caller's transaction (``pg_try_advisory_xact_lock``) and let go
when it ends, or when the process holding it dies and PostgreSQL drops its connection:
a lock never outlives its holder. Each lock is a pair of keys, a kind (:data:`PLANNER`,
:data:`SENDER`) and a number within it.

On SQLite carebot is one process (the embedded default), so there is nobody to keep
out: :func:`try_hold` takes nothing and always succeeds.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["OWED_SENDER", "PLANNER", "SENDER", "number_of", "try_hold"]

# The kinds of lock (the first key); any 32-bit numbers no other application uses.
PLANNER = 0x63617201  # the planner job: one run at a time, across processes
SENDER = 0x63617202  # an outbox sender that may have rows in flight (number: its worker id)
OWED_SENDER = 0x63617203  # a sender of owed messages (care.owed) with rows in flight


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
