"""Engines as bot.db makes them, and the migrations it applies."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from alembic import command
from sqlalchemy import Table, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool, StaticPool

from bot.db import SQLITE_POOL_SIZE, alembic_config, make_engine, upgrade
from care.models import Contact, Customer
from tests.conftest import TEST_DB, _admin


async def test_a_sqlite_file_keeps_a_connection_per_update_handled_at_once(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'care.db'}")
    try:
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == SQLITE_POOL_SIZE == 64
    finally:
        await engine.dispose()


async def test_an_in_memory_sqlite_keeps_its_single_connection() -> None:
    engine = make_engine("sqlite+aiosqlite://")
    try:
        assert isinstance(engine.pool, StaticPool)
    finally:
        await engine.dispose()


# ----------------------------------------------------------------------------- migrations


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own, with no tables yet, on the suite's kind of database."""
    if TEST_DB == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
        return
    server = os.environ.get("CAREBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"carebot_migration_{uuid.uuid4().hex[:10]}"
    await _admin(server, f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(server)
            .set(drivername="postgresql+asyncpg", database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        await _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_0005_fills_last_seen_from_the_newest_inbound_contact_and_goes_back(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    await upgrade(url, "0004")
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    customer, contact = cast(Table, Customer.__table__), cast(Table, Contact.__table__)
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            # Only the columns revision 0004 has: the table as the model has it is newer.
            await connection.execute(
                insert(customer),
                [
                    {"id": n, "created_at": start, "erased_at": erased}
                    for n, erased in ((1, None), (2, None), (3, None), (4, start))
                ],
            )
            await connection.execute(
                insert(contact),
                [
                    {"customer_id": who, "direction": way, "kind": "text", "created_at": at}
                    for who, way, at in (
                        (1, "in", start + timedelta(days=1)),
                        (1, "in", start + timedelta(days=3)),  # the newest of hers
                        (1, "out", start + timedelta(days=9)),  # our greeting: not hers
                        (2, "out", start + timedelta(days=9)),  # never wrote, only got ours
                        (4, "in", start + timedelta(days=2)),  # forgotten since
                    )
                ],
            )
        await engine.dispose()

        await upgrade(url)

        async with engine.connect() as connection:
            found = dict(
                (await connection.execute(select(customer.c.id, customer.c.last_seen_at))).all()
            )
            indexes = await connection.run_sync(
                lambda sync: {i["name"] for i in sa_inspect(sync).get_indexes("customer")}
            )
            outbox_columns = await connection.run_sync(
                lambda sync: {c["name"] for c in sa_inspect(sync).get_columns("outbox")}
            )
        assert found == {
            1: start + timedelta(days=3),
            2: None,
            3: None,
            4: start + timedelta(days=2),
        }
        assert "ix_customer_last_seen_at" in indexes
        assert "event_at" in outbox_columns

        await asyncio.to_thread(command.downgrade, alembic_config(url), "0004")
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in sa_inspect(sync).get_columns("customer")}
            )
            outbox_columns = await connection.run_sync(
                lambda sync: {c["name"] for c in sa_inspect(sync).get_columns("outbox")}
            )
        assert "last_seen_at" not in columns and "last_contact_at" in columns
        assert "event_at" not in outbox_columns and "due_at" in outbox_columns
    finally:
        await engine.dispose()


async def test_the_migrations_build_what_the_models_describe(database_url: str) -> None:
    """Alembic at head and ``care.models`` agree: no table, column or index is missing on
    either side (a model change without its migration fails here)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from care.models import Base

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []
