"""The durable inbox: every update is in the database before Telegram hears it arrived.

Polling, Telegram confirms an update when the next ``getUpdates`` asks from a higher
offset; by webhook, when we answer 200. Before either, the update is written here
(``inbox_update``, unique on ``update_id``: a repeated delivery is a no-op). Workers then
claim each chat's oldest unhandled update (one chat's updates one at a time, in
``update_id`` order; different chats at once), hand it to the PTB application, and mark
it done. A process that dies loses nothing: its claims are given back (see below) and
another worker, or the same process started again, takes the update anew.

The transactions an update costs are few: the one that writes it also claims it when its
chat has nothing older waiting, and the one that marks it done also writes its contact
log entries (``bot.contact_log``, deferred while it was handled) and claims its chat's
next update. Between them, the handlers' own.

The one accepted exception to "handled once": the handlers commit their own work and
send their replies before the row is marked done (in the next group commit, a few
milliseconds later). A process killed in between handles that update again after the
restart, and its reply may reach the customer twice. Only one update per chat is ever in
flight, so at most one reply per chat can be doubled by a kill.

A handler that fails (an exception that reaches the error handler) is tried again with
backoff, ``max_attempts`` times in all; then the update is parked with its error, and
the chat's later updates go on. ``carebot inbox list|retry|drop`` shows and settles
parked updates. Handled updates are deleted after the retention period.

On PostgreSQL several processes share the inbox. ``FOR UPDATE SKIP LOCKED`` keeps two
from claiming the same update, and only a chat's oldest pending update can be claimed,
so the claim on it is the chat's lease: one worker per chat at a time. A worker says it
is alive by holding an advisory lock (``care.locks.INBOX_WORKER``, on a connection of
its own) for as long as it runs; PostgreSQL lets go of it the moment the process dies,
and the other workers then give its claims back (within ``RECOVER_EVERY_SECONDS``). No
lease runs out under a worker that is merely slow (a busy machine, a handler waiting
out a 429): that would let a second worker handle the same update. On SQLite carebot
is one process: rows a previous run left claimed are given back at start.

A chat also stays with one worker between its updates (``inbox_chat_owner``, PostgreSQL):
the first worker to claim one of its updates owns it for as long as it runs, and the
others leave its updates alone. python-telegram-bot keeps a chat's dialogue step (a
complaint being filed, registration) in the memory of the process that handled the last
update, and writes it to the database a second later; a registration whose steps went to
three processes in turn would fall apart. A worker that stops (``close``) or dies gives
its chats up, and the worker that takes one over reads its dialogue state from the
database before handling it (``refresh_chats``, ``bot.persistence.refresh_conversations``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from bot.contact_log import ContactLog
from bot.contact_log import Deferred as DeferredContacts
from bot.group_commit import GroupCommit
from bot.metrics import Metrics
from care import locks
from care.clock import Clock
from care.contacts import ContactEntry
from care.inbox_models import InboxChatOwner, InboxState, InboxUpdate

# Built once: an alias made per call costs its column proxies again on every claim.
_EARLIER = aliased(InboxUpdate, name="earlier")
log = logging.getLogger(__name__)

# Updates handled at once (different chats; one chat's updates one by one).
CONCURRENCY = 64
# How often an idle worker looks for updates it was not woken for: another process's,
# a retry whose backoff ended, a claim that ran out.
IDLE_LOOK_SECONDS = 0.5
PRUNE_EVERY_SECONDS = 600.0
RECOVER_EVERY_SECONDS = 1.0
BACKOFF_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 300.0
# A failed update keeps this much of its error.
ERROR_LENGTH = 2000


@dataclass(frozen=True)
class Arrival:
    """An update as it arrived: its id, its chat (or user) and the decoded JSON."""

    update_id: int
    chat_key: int | None
    payload: dict[str, Any]


def arrival_of(update: Update, payload: dict[str, Any]) -> Arrival:
    """The inbox row of ``update`` (parsed from ``payload``).

    A customer's chat with a Business account has their id as chat id, like their chat
    with the bot: the two share a chat key on purpose, so one person's updates are
    handled one at a time, in order (they share one customer record, and a dialogue
    state's hand-over goes by chat id), while each chat keeps its own dialogues
    (``handlers.business.ChatDialogue``).
    """
    chat_key: int | None = None
    if update.effective_chat is not None:
        chat_key = update.effective_chat.id
    elif update.effective_user is not None:
        chat_key = update.effective_user.id
    return Arrival(update.update_id, chat_key, payload)


class AlreadyInInbox(asyncio.Queue[object]):
    """PTB's update queue when the inbox has the updates: the updates PTB's updater puts
    in are dropped (the inbox hands them to the application); PTB's own signals pass."""

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            return
        await super().put(item)


# Telegram's errors do not make the update fail: the delivery layer (bot.delivery) has
# already retried what can be retried, the error handler has told the person, and
# handling the update again would redo the work the handler committed before its reply
# failed (a complaint filed twice). What is tried again is what fails before or inside
# the handler's transaction: the database, a bug.
_FINAL = (TelegramError,)


@dataclass(frozen=True)
class _Handled:
    """An update handled without error, and the contact log entries it deferred."""

    update_id: int
    contacts: Sequence[ContactEntry]


@dataclass(frozen=True)
class _Claimed:
    """What a transaction claimed, for :meth:`Inbox._launch` once it committed."""

    rows: Sequence[InboxUpdate]
    taken_over: Sequence[int]


@dataclass
class _Outcome:
    """What the error handler saw while this task's update was handled."""

    error: BaseException | None = None


_OUTCOME: contextvars.ContextVar[_Outcome | None] = contextvars.ContextVar(
    "carebot_inbox_outcome", default=None
)


@dataclass
class InboxCounts:
    """What the inbox has done since start (for /metrics and the benchmarks)."""

    received: int = 0
    handled: int = 0
    failed: int = 0
    parked: int = 0
    last_received: float | None = None  # time.monotonic() of the last new update


class Inbox:
    """Keep updates before they are acknowledged; hand each to the application once.

    Args:
        sessionmaker: Sessions for the inbox's own transactions.
        clock: Time for the rows (``received_at``, backoff).
        worker_id: This process's name on the rows it claims.
        max_attempts: Tries of a failing update before it is parked.
        retention: How long handled updates are kept.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        worker_id: str,
        *,
        max_attempts: int = 5,
        retention: timedelta = timedelta(hours=72),
        concurrency: int = CONCURRENCY,
        metrics: Metrics | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self.worker_id = worker_id
        self._alive: AsyncConnection | None = None
        self._max_attempts = max_attempts
        self._retention = retention
        self._concurrency = concurrency
        self._arrivals: GroupCommit[Arrival] = GroupCommit(
            sessionmaker,
            self._insert,
            name="inbox",
            own_connection=True,
            committed=self._launch_claimed,
        )
        self._done: GroupCommit[_Handled] = GroupCommit(
            sessionmaker,
            self._mark_done,
            name="inbox done",
            own_connection=True,
            committed=self._launch_claimed,
        )
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        # Claimed by a transaction that committed, not yet in _in_flight (see _launch).
        self._launching = 0
        self._launches: set[asyncio.Task[None]] = set()
        self._context = contextvars.copy_context()
        # Where the handlers' contact log entries are deferred to (set by ``bot.app``).
        self.contact_log: ContactLog | None = None
        self._wake = asyncio.Event()
        self._application: Application | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._stopping = False
        # PostgreSQL, several processes: a chat stays with one worker (see the module).
        self._owners = False
        # Reads the dialogue state of chats this worker takes over (set by ``bot.app``).
        self.refresh_chats: Callable[[Sequence[int]], Awaitable[None]] | None = None
        self.counts = InboxCounts()
        self.metrics = metrics or Metrics()

    # --- arriving --------------------------------------------------------------------

    async def accept(self, arrivals: Sequence[Arrival]) -> None:
        """Write ``arrivals`` (a repeat of a known update is a no-op); back once committed.

        Raises:
            CommitFailed: The database did not take them: do not acknowledge them.
        """
        if not arrivals:
            return
        await asyncio.gather(*(self._arrivals.submit(arrival) for arrival in arrivals))
        self.counts.received += len(arrivals)
        self.metrics.updates_received.inc(len(arrivals))
        self.counts.last_received = time.monotonic()
        if self._application is None:
            self._wake.set()  # not started: nothing was claimed with them

    async def _insert(self, session: AsyncSession, arrivals: Sequence[Arrival]) -> _Claimed:
        now = self._clock.now()
        rows = {
            arrival.update_id: {
                "update_id": arrival.update_id,
                "chat_key": arrival.chat_key,
                "payload": arrival.payload,
                "state": InboxState.PENDING.value,
                "attempts": 0,
                "received_at": now,
                "available_at": now,
            }
            for arrival in arrivals
        }
        statement = locks.insert_once(session, InboxUpdate, ["update_id"])
        await session.execute(statement, list(rows.values()))
        # Claimed at once where their chats have nothing older waiting: no transaction
        # of the dispatcher's for them.
        return await self._claim_more(session)

    async def _claim_more(self, session: AsyncSession) -> _Claimed:
        """Claim what there is room for, in the caller's transaction (nothing before
        :meth:`start`, nothing once stopping)."""
        free = self._concurrency - len(self._in_flight) - self._launching
        if self._application is None or self._stopping or free <= 0:
            return _Claimed((), ())
        claimed = await self._claim(session, free)
        taken_over = await self._own(session, claimed)
        return _Claimed(claimed, taken_over)

    def _launch_claimed(self, claimed: object) -> None:
        """After a commit that claimed updates: hand them to the application.

        Called in the task of whoever committed (a handler's, through the group
        commit): the launch starts from the inbox's own context, not that task's (its
        locale, its Business chat, its deferred contacts).
        """
        if isinstance(claimed, _Claimed) and claimed.rows:
            self._launching += len(claimed.rows)
            launch = asyncio.create_task(
                self._launch(claimed), name="inbox launch", context=self._context.copy()
            )
            self._launches.add(launch)
            launch.add_done_callback(self._launches.discard)

    async def _launch(self, claimed: _Claimed) -> None:
        """Read the dialogue state of chats taken over, then start each update's task
        (the caller has counted them in ``_launching``)."""
        try:
            if claimed.taken_over and self.refresh_chats is not None:
                try:
                    await self.refresh_chats(claimed.taken_over)
                except Exception:
                    log.exception(
                        "inbox: the dialogue state of %d chat(s) taken over could not be read;"
                        " their updates go on",
                        len(claimed.taken_over),
                    )
            for row in claimed.rows:
                task = asyncio.create_task(
                    self._handle(row.update_id, row.payload, row.attempts),
                    context=self._context.copy(),
                )
                self._in_flight[row.update_id] = task
        finally:
            self._launching -= len(claimed.rows)

    # --- working ---------------------------------------------------------------------

    async def start(self, application: Application) -> None:
        """Start handing updates to ``application`` (which must be initialised)."""
        self._application = application
        # Updates are handled in copies of this context, whoever claimed them.
        self._context = contextvars.copy_context()
        application.add_error_handler(_note_failure)
        await self._arrivals.open()
        await self._done.open()
        await self._say_alive()
        async with self._sessionmaker.begin() as session:
            self._owners = session.get_bind().dialect.name == "postgresql"
            if not self._owners:
                # One process per SQLite database: every claim is a previous run's.
                await session.execute(
                    update(InboxUpdate)
                    .where(InboxUpdate.claimed_by.is_not(None))
                    .values(claimed_by=None, claimed_at=None)
                )
        self._workers = [asyncio.create_task(self._dispatch(), name="inbox dispatcher")]

    async def _say_alive(self) -> None:
        """Hold this worker's advisory lock (PostgreSQL) until the process ends."""
        engine = self._sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
            return
        self._alive = await engine.connect()
        number = locks.number_of(self.worker_id)
        held = await self._alive.scalar(
            select(func.pg_try_advisory_lock(locks.INBOX_WORKER, number))
        )
        await self._alive.commit()  # the lock is the session's: no transaction stays open
        if not held:
            raise RuntimeError(f"inbox: another worker is named {self.worker_id}")

    async def stop(self, grace: float = 10.0) -> None:
        """Take nothing more; let the updates in hand finish (up to ``grace`` seconds),
        and give back the claims of those that did not, for another worker."""
        self._stopping = True
        self._wake.set()
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        await asyncio.gather(*self._launches, return_exceptions=True)
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=grace)
        for task in list(self._in_flight.values()):
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        await self._done.close()
        await self._arrivals.close()
        async with self._sessionmaker.begin() as session:
            await session.execute(
                update(InboxUpdate)
                .where(
                    InboxUpdate.claimed_by == self.worker_id,
                    InboxUpdate.state == InboxState.PENDING.value,
                )
                .values(claimed_by=None, claimed_at=None)
            )

    async def close(self) -> None:
        """After :meth:`stop` and once the application has written its dialogue state
        (``Application.stop``): give up this worker's chats, and say it is gone."""
        if self._owners:
            async with self._sessionmaker.begin() as session:
                await session.execute(
                    delete(InboxChatOwner).where(InboxChatOwner.worker_id == self.worker_id)
                )
        if self._alive is not None:
            await self._alive.close()  # lets go of the lock
            self._alive = None

    async def _dispatch(self) -> None:
        next_prune = time.monotonic()
        next_recovery = time.monotonic()
        while not self._stopping:
            self._wake.clear()
            free = self._concurrency - len(self._in_flight) - self._launching
            claimed = _Claimed((), ())
            if free > 0:
                try:
                    if time.monotonic() >= next_recovery:
                        async with self._sessionmaker.begin() as session:
                            await self._recover(session)
                        next_recovery = time.monotonic() + RECOVER_EVERY_SECONDS
                    async with self._sessionmaker.begin() as session:
                        claimed = await self._claim_more(session)
                        if time.monotonic() >= next_prune:
                            await self._prune(session)
                            next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                except Exception:
                    log.exception("inbox: could not claim updates; trying again")
                    await asyncio.sleep(1.0)
                    continue
            if claimed.rows:
                self._launching += len(claimed.rows)
                await self._launch(claimed)
            if claimed.rows and len(claimed.rows) == free:
                continue  # maybe more waiting; a finished task claims on anyway
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_LOOK_SECONDS)

    async def _claim(self, session: AsyncSession, limit: int) -> list[InboxUpdate]:
        now = self._clock.now()
        earlier = _EARLIER
        waits_for_earlier = exists().where(
            earlier.chat_key == InboxUpdate.chat_key,
            earlier.update_id < InboxUpdate.update_id,
            earlier.state == InboxState.PENDING.value,
        )
        conditions = [
            InboxUpdate.state == InboxState.PENDING.value,
            InboxUpdate.available_at <= now,
            InboxUpdate.claimed_by.is_(None),
            ~waits_for_earlier,
        ]
        if self._owners:
            conditions.append(
                ~exists().where(
                    InboxChatOwner.chat_key == InboxUpdate.chat_key,
                    InboxChatOwner.worker_id != self.worker_id,
                )
            )
        heads = (
            select(InboxUpdate.update_id)
            .where(*conditions)
            .order_by(InboxUpdate.update_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claimed = await session.scalars(
            update(InboxUpdate)
            .where(
                InboxUpdate.update_id.in_(heads.scalar_subquery()),
                # Checked again on the row as it is now, should another worker have just
                # claimed it (PostgreSQL re-reads a row changed meanwhile).
                InboxUpdate.claimed_by.is_(None),
            )
            .values(
                claimed_by=self.worker_id,
                claimed_at=now,
                attempts=InboxUpdate.attempts + 1,
            )
            .returning(InboxUpdate)
            .execution_options(synchronize_session=False)
        )
        return sorted(claimed.all(), key=lambda row: row.update_id)

    async def _own(self, session: AsyncSession, claimed: Sequence[InboxUpdate]) -> list[int]:
        """Make this worker the owner of the claimed updates' chats that had none; return
        those (their dialogue state must be read before their updates are handled)."""
        chats = sorted({row.chat_key for row in claimed if row.chat_key is not None})
        if not self._owners or not chats:
            return []
        now = self._clock.now()
        taken = await session.scalars(
            postgresql.insert(InboxChatOwner)
            .values(
                [{"chat_key": chat, "worker_id": self.worker_id, "since": now} for chat in chats]
            )
            .on_conflict_do_nothing(index_elements=["chat_key"])
            .returning(InboxChatOwner.chat_key)
        )
        return list(taken.all())

    async def _handle(self, update_id: int, payload: dict[str, Any], attempts: int) -> None:
        assert self._application is not None
        outcome = _Outcome()
        token = _OUTCOME.set(outcome)
        # This task's contact log entries go into the transaction that settles it.
        deferred: DeferredContacts | None = None
        if self.contact_log is not None:
            deferred = self.contact_log.deferring()
        started = time.perf_counter()
        try:
            update_ = Update.de_json(payload, self._application.bot)
            await self._application.process_update(update_)
        except Exception as error:  # unreadable, or PTB itself failed
            outcome.error = error
        finally:
            _OUTCOME.reset(token)
        self.metrics.handler_seconds.observe(time.perf_counter() - started)
        contacts = ContactLog.taken(deferred) if deferred is not None else []
        settled = False
        try:
            if outcome.error is None:
                await self._done.submit(_Handled(update_id, contacts))
                self.counts.handled += 1
                self.metrics.updates_handled.inc()
                settled = True
            else:
                await self._failed(update_id, attempts, outcome.error, contacts)
        except Exception:
            # The claim runs out and the update is handled again (logged: it is rare).
            log.exception("inbox: could not settle update %d", update_id)
        finally:
            self._in_flight.pop(update_id, None)
            if not settled:  # the done mark's transaction claims on; this did not
                self._wake.set()

    async def _mark_done(self, session: AsyncSession, handled: Sequence[_Handled]) -> _Claimed:
        if self.contact_log is not None:
            await self.contact_log.write(session, [c for h in handled for c in h.contacts])
        update_ids = [h.update_id for h in handled]
        result = await session.execute(
            update(InboxUpdate)
            .where(
                InboxUpdate.update_id.in_(update_ids),
                InboxUpdate.claimed_by == self.worker_id,
                InboxUpdate.state == InboxState.PENDING.value,
            )
            .values(
                state=InboxState.DONE.value,
                done_at=self._clock.now(),
                claimed_by=None,
                claimed_at=None,
                # A handled update is kept only so that a repeat is known (its id): what
                # it said (names, words, a staff reply quoting a card) goes at once.
                payload={},
            )
        )
        settled = int(getattr(result, "rowcount", 0) or 0)
        if settled != len(update_ids):
            # A /forget deletes the update that asked for it (care.privacy), and a worker
            # taken for gone may have had its claims given back: say which could be.
            log.warning(
                "inbox: %d handled update(s) no longer this worker's (erased by /forget, or"
                " given back while it was taken for gone)",
                len(update_ids) - settled,
            )
        # The chats' next updates, now that these are out of their way.
        return await self._claim_more(session)

    async def _failed(
        self,
        update_id: int,
        attempts: int,
        error: BaseException,
        contacts: Sequence[ContactEntry] = (),
    ) -> None:
        self.counts.failed += 1
        self.metrics.updates_failed.inc()
        text = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
        now = self._clock.now()
        values: dict[str, Any] = {"claimed_by": None, "claimed_at": None, "last_error": text}
        if attempts >= self._max_attempts:
            values["state"] = InboxState.PARKED.value
            self.counts.parked += 1
            log.error("inbox: update %d parked after %d attempts: %s", update_id, attempts, text)
        else:
            wait = min(BACKOFF_SECONDS * 2 ** (attempts - 1), MAX_BACKOFF_SECONDS)
            values["available_at"] = now + timedelta(seconds=wait)
            log.warning(
                "inbox: update %d failed (attempt %d); again in %.0f s", update_id, attempts, wait
            )
        async with self._sessionmaker.begin() as session:
            # What the customer wrote and was told is on the record, failure or not (as
            # it would have been without the deferral); a retry logs the message again.
            if self.contact_log is not None:
                await self.contact_log.write(session, contacts)
            await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id == update_id, InboxUpdate.claimed_by == self.worker_id)
                .values(**values)
            )

    async def _recover(self, session: AsyncSession) -> None:
        """Give back the claims and the chats of workers that are gone (their lock is
        free)."""
        if session.get_bind().dialect.name != "postgresql":
            return
        claimers = (
            await session.scalars(
                select(InboxUpdate.claimed_by)
                .where(
                    InboxUpdate.state == InboxState.PENDING.value,
                    InboxUpdate.claimed_by.is_not(None),
                    InboxUpdate.claimed_by != self.worker_id,
                )
                .union(
                    select(InboxChatOwner.worker_id).where(
                        InboxChatOwner.worker_id != self.worker_id
                    )
                )
            )
        ).all()
        gone = [
            claimer
            for claimer in claimers
            if claimer is not None
            and await locks.try_hold(session, locks.INBOX_WORKER, locks.number_of(claimer))
        ]
        if gone:
            result = await session.execute(
                update(InboxUpdate)
                .where(
                    InboxUpdate.state == InboxState.PENDING.value,
                    InboxUpdate.claimed_by.in_(gone),
                )
                .values(claimed_by=None, claimed_at=None)
            )
            count = int(getattr(result, "rowcount", 0) or 0)
            if count:
                log.warning("inbox: %d update(s) of a stopped worker are taken again", count)
            await session.execute(delete(InboxChatOwner).where(InboxChatOwner.worker_id.in_(gone)))

    async def _prune(self, session: AsyncSession) -> None:
        cutoff = self._clock.now() - self._retention
        await session.execute(
            delete(InboxUpdate).where(
                InboxUpdate.state == InboxState.DONE.value, InboxUpdate.done_at < cutoff
            )
        )
        if self._owners:
            # A chat quiet for the retention period is nobody's any more (its dialogue
            # state was written long ago): whoever gets its next update takes it.
            await session.execute(
                delete(InboxChatOwner).where(
                    InboxChatOwner.since < cutoff,
                    ~exists().where(InboxUpdate.chat_key == InboxChatOwner.chat_key),
                )
            )

    async def drain(self, within: float) -> bool:
        """Wait until nothing is waiting or in hand (for tests and benchmarks)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            idle = not self._in_flight and not self._launching
            if idle and await pending(self._sessionmaker) == 0:
                return True
            await asyncio.sleep(0.05)
        return False


async def _note_failure(update: object, context: Any) -> None:
    """Tell the inbox that the update in hand failed (an error handler: the application's
    own, ``handlers.common.on_error``, logs and answers the customer)."""
    outcome = _OUTCOME.get()
    if outcome is not None and outcome.error is None and not isinstance(context.error, _FINAL):
        outcome.error = context.error


# --- for ops: carebot inbox list|retry|drop -----------------------------------------------


async def pending(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """How many updates wait to be handled (claimed or not)."""
    async with sessionmaker() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(InboxUpdate)
            .where(InboxUpdate.state == InboxState.PENDING.value)
        )
        return int(found or 0)


async def parked(session: AsyncSession, limit: int = 100) -> list[InboxUpdate]:
    """The parked updates, oldest first."""
    rows = await session.scalars(
        select(InboxUpdate)
        .where(InboxUpdate.state == InboxState.PARKED.value)
        .order_by(InboxUpdate.update_id)
        .limit(limit)
    )
    return list(rows)


async def retry(session: AsyncSession, update_ids: Iterable[int], now: datetime) -> int:
    """Put parked updates back to be handled now (with a fresh count of attempts).

    Returns:
        How many were parked and now wait again.
    """
    result = await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.update_id.in_(list(update_ids)),
            InboxUpdate.state == InboxState.PARKED.value,
        )
        .values(state=InboxState.PENDING.value, attempts=0, available_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def drop(session: AsyncSession, update_ids: Iterable[int]) -> int:
    """Delete parked updates: they will never be handled.

    Returns:
        How many were parked and are now gone.
    """
    result = await session.execute(
        delete(InboxUpdate).where(
            InboxUpdate.update_id.in_(list(update_ids)),
            InboxUpdate.state == InboxState.PARKED.value,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
