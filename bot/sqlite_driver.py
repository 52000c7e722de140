"""SQLite under SQLAlchemy's asyncio engine at one thread hand-off per statement.

aiosqlite runs each SQLite connection in a thread of its own, and every call into it is a
round trip: the event loop queues the call, the thread runs it and wakes the loop
through its self-pipe. SQLAlchemy's aiosqlite adapter makes four such trips for one
statement (make a cursor, execute, fetch the rows, close the cursor) and one more for
each commit and each rollback, including the rollback the pool does on every check-in
and the ``COMMIT`` of a transaction that only read. Measured in bench/inbound.py, a
customer's free text cost carebot about 120 of these trips; this makes it about 40.
Measured back to back (docs/benchmarks.md), that saved a few per cent of carebot's CPU
per update: each trip is cheap next to SQLAlchemy's own work per statement.

This module keeps aiosqlite (its thread, its queue, its connection object) and
SQLAlchemy's aiosqlite dialect, and changes two things of the adapter:

- a statement is one trip: the cursor is made, executed, read and closed in the
  connection's thread in one call (:func:`_run`), and its description, row count, last
  row id and rows come back together;
- ``COMMIT`` and ``ROLLBACK`` are skipped when SQLite has no transaction open
  (``sqlite3.Connection.in_transaction``), which is what pysqlite does anyway once the
  call reaches it (a read-only transaction never began one: pysqlite begins before
  the first INSERT, UPDATE or DELETE).

Used by ``bot.db.make_engine`` for every ``sqlite+aiosqlite`` URL (through
``create_async_engine``'s ``module`` argument, so URLs stay as they are).
Server-side cursors (``stream()``) keep aiosqlite's own cursor.

Written here rather than taken from a library: none offers this for SQLAlchemy's asyncio
engine; it relies on aiosqlite's ``Connection._execute`` and ``_conn``, which
SQLAlchemy's own adapter also uses (its ``isolation_level`` setter).
``tests/bot/test_sqlite_driver.py`` checks the round trips and the results.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

_Ran = tuple[Any, int, int | None, list[Any]]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Ran:
    """One statement, in the connection's thread: what the cursor said, and its rows."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor with nothing open between statements: all it knows came back with its
    last statement."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")
    _awaitable_cursor_close = False  # nothing to close

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor is made (a trip of its own in the parent class).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._execute_async(operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            return await_(self._run_async(operation, seq_of_parameters, True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._run_async(operation, parameters, False)

    async def _run_async(self, operation: Any, parameters: Any, many: bool) -> None:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            ran: _Ran = await connection._execute(
                _run, connection._conn, operation, parameters, many
            )
        self._description, self._rowcount, self._lastrowid, rows = ran
        self._rows = collections.deque(rows)

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        self._rows.clear()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite's connection with :class:`OneTripCursor` and no trip to end a
    transaction SQLite does not have open."""

    __slots__ = ()
    _cursor_cls = OneTripCursor  # type: ignore[assignment]

    def _open(self) -> bool:
        raw: sqlite3.Connection | None = self._connection._connection
        return raw is not None and raw.in_transaction

    def commit(self) -> None:
        if self._open():
            super().commit()

    def rollback(self) -> None:
        if self._open():
            super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """SQLAlchemy's aiosqlite DBAPI shim, handing out :class:`OneTripConnection`."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def dbapi() -> OneTripDBAPI:
    """The module to give ``create_async_engine(module=...)`` for an aiosqlite URL."""
    return OneTripDBAPI(aiosqlite, sqlite3)
