"""bot.sqlite_driver: one trip to aiosqlite's thread per statement, same results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db import make_engine
from bot.sqlite_driver import OneTripConnection

METADATA = MetaData()
THINGS = Table(
    "things",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True, nullable=False),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'trips.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the calls made in aiosqlite's threads."""
    made: list[str] = []
    real = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(getattr(fn, "__name__", repr(fn)))
        return await real(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield made


async def test_the_engine_uses_the_one_trip_connection(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneTripConnection)


async def test_a_write_transaction_is_one_trip_per_statement_and_one_commit(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.begin() as connection:
        inserted = await connection.execute(
            insert(THINGS).values(name="kettle").returning(THINGS.c.id)
        )
        assert inserted.scalar_one() == 1
        changed = await connection.execute(
            update(THINGS).where(THINGS.c.name == "kettle").values(name="teapot")
        )
        assert changed.rowcount == 1
        names = (await connection.execute(select(THINGS.c.name))).scalars().all()
        assert names == ["teapot"]
    # three statements, one COMMIT; the pool's rollback at check-in finds nothing open
    assert trips == ["_run", "_run", "_run", "commit"]


async def test_a_read_only_transaction_ends_without_a_trip(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(THINGS).values(name="cup"))
    trips.clear()
    async with engine.begin() as connection:
        assert (await connection.execute(select(THINGS.c.name))).scalars().all() == ["cup"]
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM things"))).scalar() == 1
    assert trips == ["_run", "_run"]


async def test_rollback_undoes_the_writes(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(insert(THINGS).values(name="plate"))
        await connection.rollback()
        assert (await connection.execute(select(THINGS))).all() == []


async def test_executemany_and_lastrowid(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(THINGS), [{"name": "a"}, {"name": "b"}, {"name": "c"}])
        result = await connection.execute(insert(THINGS).values(name="d"))
        assert result.inserted_primary_key == (4,)
        names = (await connection.execute(select(THINGS.c.name).order_by(THINGS.c.id))).all()
        assert [name for (name,) in names] == ["a", "b", "c", "d"]


async def test_errors_are_sqlalchemy_errors_and_leave_the_connection_usable(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(THINGS).values(name="spoon"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(insert(THINGS).values(name="fork"))
            await connection.execute(insert(THINGS).values(name="spoon"))
    async with engine.connect() as connection:
        names = (await connection.execute(select(THINGS.c.name))).scalars().all()
    assert names == ["spoon"]  # the fork went with the failed transaction


async def test_streaming_still_works(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(THINGS), [{"name": f"n{i}"} for i in range(50)])
    async with engine.connect() as connection:
        result = await connection.stream(select(THINGS.c.id).order_by(THINGS.c.id))
        ids = [row.id async for row in result]
    assert ids == list(range(1, 51))
