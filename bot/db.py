"""Engine, sessions and migrations."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

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

from bot import sqlite_driver
from bot.customer_cache import CustomerChanges
from care.models import Complaint, Customer, OwedMessage

MIGRATIONS = Path(__file__).parent / "migrations"


class CustomerWatcher(Protocol):
    """Told of every committed change to customers (``bot.customer_cache.CustomerCache``)."""

    def ticket(self) -> int:
        """A mark taken when a transaction begins, handed back in ``CustomerChanges``."""
        ...

    def committed(self, changes: CustomerChanges) -> None:
        """Called after each commit that changed customers or their complaints."""
        ...


_WATCHER = "carebot.customer_watcher"
_BEGUN = "carebot.transaction_begun"  # the watcher's ticket when the transaction began
_CHANGED = "carebot.customers_changed"  # this transaction's changed customers; None: any
_CURRENT = "carebot.customers_current"  # id -> the changed Customer objects
_COMPLAINTS = "carebot.complaints_changed"  # customers whose complaints changed; None: any
_DOORBELL = "carebot.owed_doorbell"  # rung after a commit that owed a message
_OWED = "carebot.owed_new"  # this transaction owed a message


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a SQLite database file (``var/`` on a fresh checkout)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def describe_database(url: str) -> str:
    """The database a URL names, for people: the URL without its password and, for a
    SQLite file, where the file is and whether it is yet to be made."""
    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).resolve()
        return f"{shown} (file {path}{'' if path.exists() else ', new'})"
    return shown


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
        # SQLite has its own pool sizes (below): one writer at a time, whatever is asked.
        kwargs.pop("pool_size", None)
        kwargs.pop("max_overflow", None)
        ensure_sqlite_directory(url)
        if make_url(url).database not in (None, "", ":memory:") and "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", SQLITE_POOL_SIZE)
            kwargs.setdefault("max_overflow", SQLITE_MAX_OVERFLOW)
        if make_url(url).get_driver_name() == "aiosqlite":
            kwargs.setdefault("module", sqlite_driver.dbapi())
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
    """A session that reports what each committed transaction changed of customers.

    It reports to the ``watcher`` given to :func:`make_sessionmaker`, as
    :class:`CustomerChanges`: the ``Customer`` objects it flushed with changes or
    deletions, and the customers whose ``Complaint`` objects it flushed. After an
    ORM-enabled UPDATE or DELETE statement on either table (``care.customers.
    mark_unreachable``, the importer, clearing old complaint drafts), whose rows it cannot
    know, it reports None: maybe any. Core statements on the tables themselves, and other
    processes, go unreported.
    """


@event.listens_for(CareSession, "after_begin")
def _note_begin(session: Session, transaction: SessionTransaction, _connection: Any) -> None:
    watcher = session.info.get(_WATCHER)
    if watcher is not None and _BEGUN not in session.info:
        session.info[_BEGUN] = watcher.ticket()


@event.listens_for(CareSession, "after_flush")
def _note_flushed_customers(session: Session, _flush: UOWTransaction) -> None:
    if _WATCHER not in session.info:
        return
    # The lists still show what was flushed; is_modified skips same-value assignments.
    changed: dict[int, Customer | None] = {}
    complaints_of: set[int] = set()
    for instance in (*session.new, *session.dirty, *session.deleted):
        if isinstance(instance, Complaint):
            complaints_of.add(instance.customer_id)
        elif isinstance(instance, Customer) and instance not in session.new:
            if instance in session.deleted:
                changed[instance.id] = None
            elif session.is_modified(instance):
                changed[instance.id] = instance
    if changed or complaints_of:
        _note_changed(session, changed, complaints_of)


@event.listens_for(CareSession, "do_orm_execute")
def _note_customer_statements(state: ORMExecuteState) -> None:
    if _WATCHER not in state.session.info or not (state.is_update or state.is_delete):
        return
    classes = {mapper.class_ for mapper in state.all_mappers}
    if Customer in classes:
        _note_changed(state.session, None, set())
    if Complaint in classes:
        _note_changed(state.session, {}, None)


def _note_changed(
    session: Session, changed: dict[int, Customer | None] | None, complaints_of: set[int] | None
) -> None:
    info = session.info
    if _CURRENT not in info:
        info[_CHANGED], info[_CURRENT], info[_COMPLAINTS] = set(), {}, set()
    if changed is None or info[_CHANGED] is None:
        info[_CHANGED] = None
    else:
        info[_CHANGED] |= changed.keys()
        for customer_id, customer in changed.items():
            if customer is None:
                info[_CURRENT].pop(customer_id, None)
            else:
                info[_CURRENT][customer_id] = customer
    if complaints_of is None or info[_COMPLAINTS] is None:
        info[_COMPLAINTS] = None
    else:
        info[_COMPLAINTS] |= complaints_of


@event.listens_for(CareSession, "after_commit")
def _report_changes(session: Session) -> None:
    # Also fired when a SAVEPOINT is released; only the outermost commit counts.
    info = session.info
    if _CURRENT in info and not session.in_nested_transaction():
        info[_WATCHER].committed(
            CustomerChanges(
                customers=info.pop(_CHANGED),
                current=info.pop(_CURRENT),
                complaints_of=info.pop(_COMPLAINTS),
                begun=info[_BEGUN],
            )
        )


@event.listens_for(CareSession, "after_transaction_end")
def _forget_rolled_back_changes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost one: after a commit this is empty
        for key in (_BEGUN, _CHANGED, _CURRENT, _COMPLAINTS):
            session.info.pop(key, None)


class Doorbell:
    """Rung after each commit that owed a message (``care.owed``), so that the sender of
    owed messages (``bot.owed_jobs``) sends it at once rather than at its next tick."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def connect(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def ring(self) -> None:
        for listener in self._listeners:
            listener()


@event.listens_for(CareSession, "after_flush")
def _note_owed(session: Session, _flush: UOWTransaction) -> None:
    if _DOORBELL in session.info and any(isinstance(i, OwedMessage) for i in session.new):
        session.info[_OWED] = True


@event.listens_for(CareSession, "after_commit")
def _ring_for_owed(session: Session) -> None:
    if session.info.pop(_OWED, False) and not session.in_nested_transaction():
        session.info[_DOORBELL].ring()


@event.listens_for(CareSession, "after_transaction_end")
def _forget_owed(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_OWED, None)


def make_sessionmaker(
    engine: AsyncEngine,
    *,
    watcher: CustomerWatcher | None = None,
    doorbell: Doorbell | None = None,
) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit.

    Args:
        engine: The engine they use.
        watcher: Told after each commit what it changed of customers and their
            complaints; see :class:`CareSession`.
        doorbell: Rung after each commit that owed a message.
    """
    info: dict[str, Any] = {} if watcher is None else {_WATCHER: watcher}
    if doorbell is not None:
        info[_DOORBELL] = doorbell
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
