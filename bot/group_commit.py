"""Group commit: many callers' writes in one transaction, each caller back after the commit.

A caller hands over an item and waits. The first item finds no writer at work and starts
one (a task); items that come while it writes wait in a queue, and the writer takes all
of them in its next transaction. So an idle bot commits each item at once, as before,
while a busy one shares each transaction among as many callers as came meanwhile. When
the queue is empty the writer ends; nothing is held back in memory, and a caller is never
told "done" before its item is committed.

Used by the contact log (``bot.contact_log``) and by ``bot.persistence.SqlPersistence``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

Item = TypeVar("Item")

Write = Callable[[AsyncSession, Sequence[Item]], Awaitable[object]]

# Errors that say the database itself is failing (unreachable, locked, too slow): they
# would fail each item again, so they fail the batch. Any other error may be one item's
# (a constraint it breaks, a value the column or the driver refuses: SQLite's driver
# raises UnicodeEncodeError, asyncpg's a DBAPIError of its own), and fails that item's
# caller only: the batch is then written again item by item.
_DATABASE_ERRORS = (OperationalError, InterfaceError, OSError, TimeoutError)

Waiting = tuple[Item, "asyncio.Future[None]"]


class CommitFailed(Exception):
    """The transaction that should have committed the caller's item failed.

    The database's own error is the ``__cause__``.
    """


class GroupCommit(Generic[Item]):
    """Commit what callers submit in shared transactions, one writer at a time.

    Args:
        sessionmaker: Makes the writer's sessions.
        write: Writes a batch in the given session (which the writer commits); must not
            commit itself.
        name: Says what is written, for log messages ("contact log").
        max_batch: At most this many items go into one transaction.
        own_connection: Keep one connection of the engine for the writer, from
            :meth:`open` (or the first batch) until :meth:`close`. Callers that hold a
            pooled connection while they wait (a handler that sends a message inside its
            transaction) then cannot starve the writer of connections.
        committed: Called with what ``write`` returned, after its transaction committed
            (never for one that failed), before the callers are told.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        write: Write[Item],
        *,
        name: str,
        max_batch: int = 500,
        own_connection: bool = False,
        committed: Callable[[object], None] | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._committed = committed
        self._write = write
        self._name = name
        self._max_batch = max_batch
        self._own_connection = own_connection
        self._connection: AsyncConnection | None = None
        self._queue: deque[Waiting[Item]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False
        self.transactions = 0
        """How many transactions have committed (for tests and the curious)."""

    async def open(self) -> None:
        """Take the writer's own connection now, while the pool has one to spare.

        Without it the first batch takes it. Also undoes :meth:`close`.
        """
        self._closed = False
        if self._own_connection and self._connection is None:
            self._connection = await self._engine().connect()

    async def submit(self, item: Item) -> None:
        """Write ``item`` and return once it is committed.

        Raises:
            CommitFailed: The transaction failed; the item is not written.
        """
        if self._closed:
            # After close() (a message sent while shutting down): write it alone.
            await self._commit_alone(item)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_queue(), name=f"{self._name} writer")
        await future

    async def drain(self) -> None:
        """Wait until everything submitted so far is committed (or has failed)."""
        if self._writer is not None:
            await asyncio.shield(self._writer)

    async def close(self) -> None:
        """Wait until everything submitted is committed, then let go of the connection.

        Items submitted afterwards are still written, each in a transaction of its own.
        """
        self._closed = True
        await self.drain()
        await self._let_go()

    # --- the writer ----------------------------------------------------------------------

    async def _write_queue(self) -> None:
        batch: list[Waiting[Item]] = []
        try:
            while self._queue:
                size = min(len(self._queue), self._max_batch)
                batch = [self._queue.popleft() for _ in range(size)]
                await self._commit(batch)
                batch = []
        finally:
            self._writer = None
            # Only if the writer itself was cancelled (the loop is closing): tell whoever
            # still waits, rather than leave them waiting for ever.
            for _item, future in [*batch, *self._queue]:
                _fail(future, CommitFailed(f"the {self._name} writer was stopped"))
            self._queue.clear()

    async def _commit(self, batch: list[Waiting[Item]], retry: bool = True) -> None:
        try:
            async with self._transaction() as session:
                result = await self._write(session, [item for item, _future in batch])
        except Exception as error:
            if retry and self._own_connection and _lost_connection(error):
                # Our connection went stale while idle (a server restart, an idle
                # timeout): once more, on a fresh one.
                await self._commit(batch, retry=False)
            elif len(batch) > 1 and not isinstance(error, _DATABASE_ERRORS):
                log.warning(
                    "%s: a batch of %d failed (%s); writing it item by item",
                    self._name,
                    len(batch),
                    error,
                )
                for one in batch:
                    await self._commit([one])
            else:
                # The callers raise too; this says it once, even if they were cancelled.
                log.error("%s: could not write %d item(s)", self._name, len(batch), exc_info=True)
                for _item, future in batch:
                    failed = CommitFailed(f"{self._name}: the transaction failed: {error}")
                    _fail(future, failed, cause=error)
            return
        self.transactions += 1
        if self._committed is not None:
            self._committed(result)
        for _item, future in batch:
            if not future.done():  # its caller may have been cancelled meanwhile
                future.set_result(None)

    async def _commit_alone(self, item: Item) -> None:
        try:
            async with self._sessionmaker.begin() as session:
                result = await self._write(session, [item])
        except Exception as error:
            raise CommitFailed(f"{self._name}: the transaction failed: {error}") from error
        self.transactions += 1
        if self._committed is not None:
            self._committed(result)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        if not self._own_connection:
            async with self._sessionmaker.begin() as session:
                yield session
            return
        if self._connection is None:
            self._connection = await self._engine().connect()
        try:
            # A session on a connection outside any transaction begins one and owns it.
            async with self._sessionmaker(bind=self._connection) as session, session.begin():
                yield session
        except Exception as error:
            if _lost_connection(error) or self._connection.invalidated:
                await self._let_go()
            raise

    def _engine(self) -> AsyncEngine:
        engine = self._sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine):
            raise TypeError("own_connection needs a sessionmaker bound to an engine")
        return engine

    async def _let_go(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.close()


def _lost_connection(error: Exception) -> bool:
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _fail(
    future: asyncio.Future[None], error: Exception, cause: BaseException | None = None
) -> None:
    if future.done():
        return
    error.__cause__ = cause
    future.set_exception(error)
