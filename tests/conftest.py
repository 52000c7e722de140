"""Fixtures shared by the whole suite.

The database under test is chosen by ``CAREBOT_TEST_DB``: ``sqlite`` (default) or
``postgresql``. For PostgreSQL the suite creates a database of its own on the server at
``CAREBOT_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``), migrates
it once and empties every table between tests. A missing server fails, it never skips.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import care.faq_models  # noqa: F401  (its tables are in Base.metadata)
from bot.db import make_engine, make_sessionmaker, upgrade_sync
from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.client import SandboxClient
from care import staff as staff_members
from care.clock import ManualClock
from care.models import Base, StaffRole
from tests.helpers import RunningBot, StaffMember, StaffRoom

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ["no_proxy"] = os.environ["NO_PROXY"]

TEST_DB = os.environ.get("CAREBOT_TEST_DB", "sqlite")


async def _admin(url: str, statement: str) -> None:
    import asyncpg

    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=parsed.database or "test",
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for this test run."""
    if TEST_DB == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "carebot.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade_sync(url)
        yield url
        return
    if TEST_DB != "postgresql":
        raise pytest.UsageError(f"CAREBOT_TEST_DB must be sqlite or postgresql, not {TEST_DB}")
    server = os.environ.get("CAREBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"carebot_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    url = str(make_url(server).set(drivername="postgresql+asyncpg", database=name)).replace(
        "***", make_url(server).password or ""
    )
    try:
        upgrade_sync(url)
        yield url
    finally:
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def empty_tables(engine: AsyncEngine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database, emptied before the test."""
    engine = make_engine(database_url)
    await empty_tables(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose transaction the test owns (committed at the end of the test)."""
    async with sessionmaker.begin() as session:
        yield session


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 9, 24, 10, 0, tzinfo=UTC))


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A Bot API sandbox without rate limits, stopped after the test."""
    async with Sandbox(limits=RateLimits.off()) as running:
        yield running


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[SandboxClient]:
    """The sandbox's control API: create users, chat as them, read transcripts."""
    async with SandboxClient(sandbox.url) as control:
        yield control


@pytest.fixture
async def bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, engine: AsyncEngine
) -> AsyncIterator[RunningBot]:
    """carebot running against the sandbox on the (emptied) test database."""
    running = RunningBot(sandbox, database_url, clock)
    await running.start()
    yield running
    await running.stop()


@dataclass
class CareTeam:
    """A staff group in the sandbox with an agent, a supervisor and an admin in it."""

    group_id: int
    agent: dict[str, Any]
    supervisor: dict[str, Any]
    admin: dict[str, Any]


@pytest.fixture
async def care_team(
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> CareTeam:
    """Staff members in the database and a staff group they are in."""
    agent = await client.create_user("王丽", username="wangli", language_code="zh-hans")
    supervisor = await client.create_user("Sam", username="sam_sup", language_code="en")
    admin = await client.create_user("Ada", username="ada_admin", language_code="en")
    group = await client.create_group("Care staff", [agent["id"], supervisor["id"], admin["id"]])
    async with sessionmaker.begin() as session:
        for user, role in (
            (agent, StaffRole.AGENT),
            (supervisor, StaffRole.SUPERVISOR),
            (admin, StaffRole.ADMIN),
        ):
            member = await staff_members.add_staff(
                session, user["id"], role, clock.now(), name=user["first_name"]
            )
            member.username = user.get("username")
    return CareTeam(group["id"], agent, supervisor, admin)


@pytest.fixture
def room(client: SandboxClient, care_team: CareTeam) -> StaffRoom:
    """The care team's staff group; ``room.member(care_team.agent)`` acts in it."""
    return StaffRoom(client, care_team.group_id)


@pytest.fixture
def agent(room: StaffRoom, care_team: CareTeam) -> StaffMember:
    """王丽, an agent, in the staff group."""
    return room.member(care_team.agent)


@pytest.fixture
def supervisor(room: StaffRoom, care_team: CareTeam) -> StaffMember:
    """Sam, a supervisor (speaks English), in the staff group."""
    return room.member(care_team.supervisor)


@pytest.fixture
def admin(room: StaffRoom, care_team: CareTeam) -> StaffMember:
    """Ada, an admin (speaks English), in the staff group."""
    return room.member(care_team.admin)


@pytest.fixture
async def complaint_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, care_team: CareTeam
) -> AsyncIterator[RunningBot]:
    """carebot with a staff group and a fast SLA check, on the (emptied) test database."""
    running = RunningBot(
        sandbox, database_url, clock, staff_chat_id=care_team.group_id, sla_check_seconds=0.2
    )
    await running.start()
    yield running
    await running.stop()
