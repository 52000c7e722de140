"""Alembic environment: runs migrations over the async engine."""

from __future__ import annotations

import asyncio
import logging

from alembic import context
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

import care.faq_models  # noqa: F401  (its tables are in Base.metadata)
from care import locks
from care.models import Base

log = logging.getLogger("carebot.migrations")

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _take_turn(connection: AsyncConnection) -> None:
    """Wait until no other process is migrating this PostgreSQL database, then hold the
    migrations' advisory lock on ``connection`` (for the session, not a transaction).

    Instances started together on a new database would otherwise all find it empty and
    all create the same tables (one fails on a duplicate). Taking turns, the first
    migrates and the others then find the schema at head and do nothing. SQLite is one
    process: nothing to wait for.
    """
    lock = select(func.pg_try_advisory_lock(locks.MIGRATIONS, 0))
    if not await connection.scalar(lock):
        log.info("another process is migrating the database: waiting for it to finish")
        await connection.execute(select(func.pg_advisory_lock(locks.MIGRATIONS, 0)))
    await connection.commit()  # the lock outlives it; Alembic begins its own transaction


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as connection:
        turns = connection.dialect.name == "postgresql"
        if turns:
            await _take_turn(connection)
        await connection.run_sync(_run)
        await connection.commit()
        if turns:
            # On failure the connection's end (NullPool closes it) lets go of the lock.
            await connection.execute(select(func.pg_advisory_unlock(locks.MIGRATIONS, 0)))
            await connection.commit()
    await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url
    asyncio.run(_run_async(url))
