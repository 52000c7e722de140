"""Engines as bot.db makes them, and the migrations it applies."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Table, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool, StaticPool

from bot.db import SQLITE_POOL_SIZE, alembic_config, make_engine, upgrade
from care.models import Contact, Customer, UTCDateTime
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


async def test_0007_counts_resolutions_and_names_old_follow_ups_after_theirs(
    empty_database_url: str,
) -> None:
    """Rows planned before 0007 have the complaint's key, whichever resolution they
    followed up; the n-th (n ≥ 2) resolution's get ``:<n>``, the key the planner gives
    them now, so that no resolution is followed up twice."""
    url = empty_database_url
    await upgrade(url, "0006")
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)

    def at(days: int) -> datetime:
        return start + timedelta(days=days)

    customer = cast(Table, Customer.__table__)
    # The tables as revision 0006 has them: the models are newer.
    complaint = sa.table(
        "complaint",
        *(sa.column(name) for name in ("id", "customer_id", "status", "priority", "agitated")),
        *(sa.column(name, UTCDateTime()) for name in ("created_at", "updated_at", "resolved_at")),
    )
    event = sa.table(
        "complaint_event",
        *(sa.column(name) for name in ("complaint_id", "type", "to_status", "by_customer")),
        sa.column("at", UTCDateTime()),
    )
    outbox = sa.table(
        "outbox",
        *(sa.column(name) for name in ("id", "customer_id", "rule", "dedupe_key", "state")),
        *(sa.column(name, UTCDateTime()) for name in ("event_at", "due_at")),
        sa.column("attempts"),
    )
    # Complaint 1: resolved once. 2: resolved, reopened, resolved again before the old
    # planner came (its row follows up the second). 3: its row followed up the first
    # resolution, sent, then reopened and resolved again. 4: like 2, a row without its
    # event's time (planned before 0005). 5: never resolved. 6: resolved by two people
    # at once (two events, one resolution: the one in force is the one followed up).
    resolved = {
        1: [at(0)],
        2: [at(0), at(2)],
        3: [at(0), at(6)],
        4: [at(0), at(2)],
        5: [],
        6: [at(0), at(0) + timedelta(seconds=1)],
    }
    in_force = {n: times[-1] if times else None for n, times in resolved.items()}
    in_force[6] = at(0)  # the earlier press committed last
    rows = [
        (1, "followup:resolution:1", at(0), at(3)),
        (2, "followup:resolution:2", at(2), at(5)),
        (3, "followup:resolution:3", at(0), at(3)),
        (4, "followup:resolution:4", None, at(5)),
        (6, "followup:resolution:6", at(0), at(3)),
    ]
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(customer), [{"id": 1, "created_at": start}])
            await connection.execute(
                insert(complaint),
                [
                    {"id": n, "customer_id": 1, "status": "resolved" if times else "new",
                     "priority": "normal", "agitated": False, "created_at": start,
                     "updated_at": start, "resolved_at": in_force[n]}
                    for n, times in resolved.items()
                ],
            )  # fmt: skip
            await connection.execute(
                insert(event),
                [
                    {"complaint_id": n, "type": "status", "to_status": status,
                     "by_customer": False, "at": when}
                    for n, times in resolved.items()
                    for status, when in [("new", start)]
                    + [("resolved", t) for t in times]
                    + [("reopened", t + timedelta(hours=1)) for t in times[:-1] if n != 6]
                ],
            )  # fmt: skip
            await connection.execute(
                insert(outbox),
                [
                    {"id": row_id, "customer_id": 1, "rule": "after_resolution",
                     "dedupe_key": key, "state": "sent", "event_at": event_at, "due_at": due,
                     "attempts": 1}
                    for row_id, key, event_at, due in rows
                ]
                + [{"id": 9, "customer_id": 1, "rule": "birthday", "dedupe_key": "birthday:2026",
                    "state": "pending", "event_at": None, "due_at": at(9), "attempts": 0}],
            )  # fmt: skip
        await engine.dispose()

        await upgrade(url)

        async with engine.connect() as connection:
            counted = sa.select(complaint.c.id, sa.column("times_resolved"))
            times_resolved = dict((await connection.execute(counted)).all())
            keyed = sa.select(outbox.c.id, outbox.c.dedupe_key)
            keys = dict((await connection.execute(keyed)).all())
        assert times_resolved == {1: 1, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2}
        assert keys == {
            1: "followup:resolution:1",
            2: "followup:resolution:2:2",
            3: "followup:resolution:3",
            4: "followup:resolution:4:2",
            6: "followup:resolution:6:2",
            9: "birthday:2026",
        }

        await asyncio.to_thread(command.downgrade, alembic_config(url), "0006")
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: {c["name"] for c in sa_inspect(sync).get_columns("complaint")}
            )
        assert "times_resolved" not in columns and "resolved_at" in columns
    finally:
        await engine.dispose()


async def test_0009_keeps_every_rating_so_far_one_per_resolution(
    empty_database_url: str,
) -> None:
    """Ratings that only events remembered (a reopening emptied the columns) and the one
    in the columns, with its comment, become rows; the last press for a resolution counts."""
    url = empty_database_url
    await upgrade(url, "0008")
    start = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)

    def at(hours: int) -> datetime:
        return start + timedelta(hours=hours)

    customer = cast(Table, Customer.__table__)
    complaint = sa.table(
        "complaint",
        *(sa.column(name) for name in ("id", "customer_id", "status", "priority", "agitated")),
        *(sa.column(name) for name in ("times_resolved", "rating", "rating_comment")),
        *(sa.column(name, UTCDateTime()) for name in ("created_at", "updated_at", "rated_at")),
    )
    event = sa.table(
        "complaint_event",
        *(sa.column(name) for name in ("complaint_id", "type", "to_status", "note")),
        sa.column("by_customer"),
        sa.column("at", UTCDateTime()),
    )
    rating = sa.table(
        "complaint_rating",
        *(sa.column(name) for name in ("complaint_id", "resolution", "score", "comment")),
        *(sa.column(name, UTCDateTime()) for name in ("resolved_at", "rated_at")),
    )
    # 1: resolved, rated 2, reopened (columns emptied), resolved, rated 3 then 4 with a
    # comment. 2: resolved, rated 5, reopened: only the event remembers. 3: never rated.
    complaints = [
        {"id": 1, "status": "resolved", "times_resolved": 2, "rating": 4,
         "rating_comment": "ok now", "rated_at": at(31)},
        {"id": 2, "status": "reopened", "times_resolved": 1, "rating": None,
         "rating_comment": None, "rated_at": None},
        {"id": 3, "status": "resolved", "times_resolved": 1, "rating": None,
         "rating_comment": None, "rated_at": None},
    ]  # fmt: skip
    events = [
        (1, "status", "resolved", None, at(1)),
        (1, "rating", None, "2", at(2)),
        (1, "status", "reopened", None, at(3)),
        (1, "status", "resolved", None, at(30)),
        (1, "rating", None, "3", at(30) + timedelta(minutes=1)),
        (1, "rating", None, "4", at(31)),
        (2, "status", "resolved", None, at(1)),
        (2, "rating", None, "5", at(2)),
        (2, "status", "reopened", None, at(3)),
        (3, "status", "resolved", None, at(1)),
    ]
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(customer), [{"id": 1, "created_at": start}])
            await connection.execute(
                insert(complaint),
                [
                    {**row, "customer_id": 1, "priority": "normal", "agitated": False,
                     "created_at": start, "updated_at": start}
                    for row in complaints
                ],
            )  # fmt: skip
            await connection.execute(
                insert(event),
                [
                    {"complaint_id": n, "type": kind, "to_status": to, "note": note,
                     "by_customer": kind == "rating", "at": when}
                    for n, kind, to, note, when in events
                ],
            )  # fmt: skip
        await engine.dispose()

        await upgrade(url)

        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    sa.select(
                        rating.c.complaint_id, rating.c.resolution, rating.c.resolved_at,
                        rating.c.score, rating.c.comment, rating.c.rated_at,
                    ).order_by(rating.c.complaint_id, rating.c.resolution)
                )
            ).all()  # fmt: skip
        assert [tuple(row) for row in rows] == [
            (1, 1, at(1), 2, None, at(2)),
            (1, 2, at(30), 4, "ok now", at(31)),
            (2, 1, at(1), 5, None, at(2)),
        ]

        await asyncio.to_thread(command.downgrade, alembic_config(url), "0008")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: sa_inspect(sync).get_table_names())
        assert "complaint_rating" not in tables and "complaint" in tables
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


# The three migrating processes load everything first, say so, and then wait for one line
# on stdin: the test lets them go at the same moment.
MIGRATE_ON_CUE = """
import sys
import care.faq_models, care.models, bot.migrations  # what the migration would load
from bot.db import upgrade_sync
print("ready", flush=True)
sys.stdin.readline()
upgrade_sync(sys.argv[1])
print("migrated", flush=True)
"""


@pytest.mark.timeout(120)
async def test_three_processes_migrating_an_empty_database_at_once_take_turns(
    empty_database_url: str,
) -> None:
    """Several instances started together on a new database all migrate it: on
    PostgreSQL they take turns (an advisory lock); the last ones find it at head."""
    if TEST_DB == "sqlite":
        pytest.skip("several processes share a database on PostgreSQL only")
    url = empty_database_url
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            MIGRATE_ON_CUE,
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert await asyncio.wait_for(process.stdout.readline(), 60) == b"ready\n"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
        await asyncio.gather(*(p.stdin.drain() for p in processes if p.stdin))
        said = [await asyncio.wait_for(p.communicate(), 60) for p in processes]
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
    for process, (out, err) in zip(processes, said, strict=True):
        assert process.returncode == 0, err.decode(errors="replace")[-3000:]
        assert out == b"migrated\n"

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from care.models import Base

    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            versions = (await connection.execute(sa.text("SELECT * FROM alembic_version"))).all()
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert [tuple(row) for row in versions] == [(head,)], "one schema, at head"
    assert differences == []


async def test_the_postgresql_pool_is_as_the_settings_say_and_sqlite_keeps_its_own(
    tmp_path: Path,
) -> None:
    from bot.settings import Settings

    settings = Settings(
        database_url="postgresql://carebot@127.0.0.1:5432/x",
        database_pool_size=3,
        database_max_overflow=1,
    )
    engine = make_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    pool = cast(QueuePool, engine.sync_engine.pool)
    assert (pool.size(), pool._max_overflow) == (3, 1)
    await engine.dispose()
    lite = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", pool_size=3, max_overflow=1)
    assert cast(QueuePool, lite.sync_engine.pool).size() == SQLITE_POOL_SIZE
    await lite.dispose()
