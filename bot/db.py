"""Engine, sessions and migrations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from care.models import Customer

MIGRATIONS = Path(__file__).parent / "migrations"

CustomersChanged = Callable[[set[int] | None], None]
"""Told after a commit which customers it changed (None: maybe any of them)."""

_ON_CUSTOMERS_CHANGED = "carebot.on_customers_changed"
_CHANGED = "carebot.customers_changed"  # this transaction's changes so far; None: any


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite database file (``var/`` on a fresh checkout)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


# SQLite connections are cheap to keep but not to open (a thread each under aiosqlite,
# the pragmas, the schema read again): keep as many as updates are handled at once
# (bot.app's PerChatUpdateProcessor(64)). With SQLAlchemy's default of 5 (+10 overflow)
# a busy bot opened and closed a connection every ~15 updates, and waited for one when
# handlers held them across a Bot API call.
SQLITE_POOL_SIZE = 64
SQLITE_MAX_OVERFLOW = 16  # jobs, the contact log's writer, start-up


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and foreign keys."""
    if make_url(url).get_backend_name() == "sqlite":
        ensure_sqlite_directory(url)
        if make_url(url).database not in (None, "", ":memory:") and "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", SQLITE_MAX_OVERFLOW)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


class CareSession(Session):
    """A session that can report the customers each committed transaction changed.

    It reports to the ``on_customers_changed`` given to :func:`make_sessionmaker`: the
    ids of ``Customer`` objects it flushed with changes or deletions, or None after an
    ORM-enabled UPDATE or DELETE statement on customers (``care.customers.
    mark_unreachable``, the importer), whose rows it cannot know. Core statements on the
    ``customer`` table itself, and other processes, go unreported.
    """


@event.listens_for(CareSession, "after_flush")
def _note_flushed_customers(session: Session, _flush: UOWTransaction) -> None:
    if _ON_CUSTOMERS_CHANGED not in session.info:
        return
    # The lists still show what was flushed; is_modified skips same-value assignments.
    changed = {
        instance.id
        for instance in (*session.dirty, *session.deleted)
        if isinstance(instance, Customer)
        and (instance in session.deleted or session.is_modified(instance))
    }
    if changed:
        _note_changed(session, changed)


@event.listens_for(CareSession, "do_orm_execute")
def _note_customer_statements(state: ORMExecuteState) -> None:
    if _ON_CUSTOMERS_CHANGED not in state.session.info:
        return
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is Customer for mapper in state.all_mappers
    ):
        _note_changed(state.session, None)


def _note_changed(session: Session, changed: set[int] | None) -> None:
    if _CHANGED not in session.info:
        session.info[_CHANGED] = changed
        return
    known = session.info[_CHANGED]
    session.info[_CHANGED] = None if known is None or changed is None else known | changed


@event.listens_for(CareSession, "after_commit")
def _report_changed_customers(session: Session) -> None:
    # Also fired when a SAVEPOINT is released; only the outermost commit counts.
    if _CHANGED in session.info and not session.in_nested_transaction():
        session.info[_ON_CUSTOMERS_CHANGED](session.info.pop(_CHANGED))


@event.listens_for(CareSession, "after_transaction_end")
def _forget_rolled_back_changes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost one: after a commit this is empty
        session.info.pop(_CHANGED, None)


def make_sessionmaker(
    engine: AsyncEngine, *, on_customers_changed: CustomersChanged | None = None
) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit.

    Args:
        engine: The engine they use.
        on_customers_changed: Called after each commit that changed customers, with
            their ids (None: maybe any customer); see :class:`CareSession`.
    """
    info = {} if on_customers_changed is None else {_ON_CUSTOMERS_CHANGED: on_customers_changed}
    return async_sessionmaker(
        engine, expire_on_commit=False, sync_session_class=CareSession, info=info
    )


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Apply migrations (blocking; call from a thread inside an event loop)."""
    ensure_sqlite_directory(url)
    command.upgrade(alembic_config(url), revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` without blocking the event loop."""
    await asyncio.to_thread(upgrade_sync, url, revision)
