"""The outbox sender: claims due rows, sends them within Telegram's limits, settles each.

**Shape.** A repeating JobQueue tick (every ``check_seconds``; ``max_instances=1``,
``coalesce``) starts the sender as a task of the application (``Application.
create_task``) when none is running. The task works while rows are due and ends when
none are, so a 3,000-message campaign is one continuous pipeline, not a run per tick
(APScheduler would also log a warning for every tick a long run made it skip).
``Application.stop`` waits for the task; it sees the application stopping and winds
down within a fraction of a second (see "Stopping").

**A pass.** The task claims about ``lookahead`` seconds of sending (what the limiter
allows), reads each customer and renders each text in the same transaction
(``care.outbox``: opted-out, forgotten and unreachable customers are skipped there, and
rows too late for their day; rows inside quiet hours go back to wait for their end) and
**commits before sending**. Each claimed row becomes an asyncio task: it waits for the
previous message to the same chat (never two at once to one chat, never out of order),
then for the rate limiter (``bot.ratelimit``), sends, and records its outcome in a
short transaction of its own. When half the claimed rows are done, the next claim tops
the pipeline up, so the limiter never waits for the database.

**Outcomes.** sent → ``sent``; 403 → ``blocked`` (``CareBot`` marks the customer
unreachable); other 400s (chat not found) → ``failed``; 429 → the limiter pauses
**every** send for ``retry_after`` and the row goes back to ``pending`` without using
up an attempt; 5xx and network errors → back to ``pending`` with exponential backoff,
``failed`` after ``EngineConfig.outbox_max_attempts``. A **timeout** → ``unconfirmed``,
not retried: the request reached Telegram and may have been delivered, and a care
message must never be repeated silently (staff see it in the campaign status). Anything
else after the request went out (the contact log failing to commit, say) is also
``unconfirmed``. Outbox requests bypass ``CareBot``'s own retries
(``bot.delivery.single_attempt``): a 429 there would sleep inside one request while
the other senders kept going.

**Crash safety.** Each pass first marks what dead senders left ``sending``
``unconfirmed`` (``care.outbox.recover_in_flight``): a dead process may have sent it.
A worker id of host, pid and a random part tells this process's rows from those, and
a pass holds the sender's lock (``care.outbox.hold_sender_lock``) from before its first
claim until its last row is settled, so that another process on the same PostgreSQL
database takes those rows for in flight, not for left behind. (On SQLite carebot runs
one process: every other sender is a dead one.)

**Stopping.** Rows claimed but not yet requested go back to ``pending`` (without using
up an attempt); requests already out are waited for (at most ``send_timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram import Message as TelegramMessage
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from bot.delivery import single_attempt
from bot.group_commit import CommitFailed, GroupCommit
from bot.ratelimit import Limiter
from care import contacts, outbox
from care.contacts import ContactEntry
from care.engine import DeliveryLimits
from care.models import ContactKind, Direction
from handlers.context import SERVICES_KEY, CareContext, Services

log = logging.getLogger(__name__)

OUTBOX_JOB = "outbox"
SENDER_KEY = "carebot.outbox_sender"

# Claim about this many seconds of sending at a time. More keeps the pipeline fuller;
# fewer leaves fewer rows "unconfirmed" if the process dies.
LOOKAHEAD = 1.0
# At most this many outbox requests on the wire at once (the contact log's commit after
# each does not count). More does not go faster: httpx's connection pool (httpcore 1.0)
# spends time that grows with the connections and waiting requests it holds, and the
# sandbox answers within a millisecond or two (bench/delivery.py, docs/benchmarks.md).
MAX_REQUESTS_IN_FLIGHT = 4
# How long one outbox request may take before it counts as timed out (maybe delivered).
SEND_TIMEOUT = 10.0
# Backoff after a 5xx or network error: 5 s, 10 s, 20 s … at most 10 minutes.
BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(minutes=10)
# How often the pipeline looks whether the application is stopping.
POLL_SECONDS = 0.2
# A message put back behind an earlier one to the same chat is due this much later.
ORDER_STEP = timedelta(milliseconds=1)
# After a failed pass (the database was unreachable, say) the next waits this long.
FAILED_PASS_PAUSE = 5.0


def worker_id() -> str:
    """This process's name on the rows it claims: host, pid and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class Delivery:
    """One claimed row on its way out."""

    row_id: int
    customer_id: int
    due_at: datetime
    attempts: int
    message: outbox.Message
    requested: bool = False  # the request has gone out: from here on, maybe delivered


@dataclass
class SenderStats:
    """What the sender has done since it started (for logs, tests and benchmarks)."""

    sent: int = 0
    settled: dict[str, int] = field(default_factory=dict)
    rate_limited: int = 0

    def count(self, state: str) -> None:
        self.settled[state] = self.settled.get(state, 0) + 1


# How to record a row's outcome: a sent message (many are written in one statement), or
# any other outcome as a function of the results transaction's session.
Record = outbox.Sent | Callable[[AsyncSession], Awaitable[object]]


class OutboxSender:
    """Sends due outbox rows; one per application (see the module docstring).

    Args:
        limits: Telegram's limits to keep.
        max_attempts: Attempts a row gets for 5xx and network errors.
        lookahead: Seconds of sending claimed at a time.
        send_timeout: Read timeout of each request.
    """

    def __init__(
        self,
        limits: DeliveryLimits,
        *,
        max_attempts: int = 5,
        lookahead: float = LOOKAHEAD,
        send_timeout: float = SEND_TIMEOUT,
        limiter: Limiter | None = None,
    ) -> None:
        self.limiter = limiter or Limiter(limits)
        self.max_attempts = max_attempts
        self.send_timeout = send_timeout
        self.batch = max(1, math.ceil(self.limiter.per_second * lookahead))
        self.worker_id = worker_id()
        self.stats = SenderStats()
        self._requests_in_flight = asyncio.Semaphore(MAX_REQUESTS_IN_FLIGHT)
        self._task: asyncio.Task[None] | None = None
        self._results: GroupCommit[Record] | None = None

    # ------------------------------------------------------------------------ the tick

    async def tick(self, context: CareContext) -> None:
        """Job: start the sender task unless it is running."""
        if self._task is None or self._task.done():
            application = context.application
            self._task = application.create_task(
                self.run(context.bot, context.services, lambda: application.running),
                name="outbox sender",
            )

    async def run(self, bot: Bot, services: Services, keep_going: Callable[[], bool]) -> None:
        """Send until nothing is due or ``keep_going()`` turns false."""
        try:
            # While this transaction lasts, other processes on the database know that
            # this sender is alive and leave the rows it has in flight alone.
            async with services.sessionmaker() as alive, alive.begin():
                if not await outbox.hold_sender_lock(alive, self.worker_id):
                    return  # another process is checking on this sender: the next tick
                async with services.sessionmaker.begin() as session:
                    found = await outbox.recover_in_flight(
                        session, services.clock.now(), self.worker_id
                    )
                if found:
                    log.warning("outbox: %d message(s) left in flight are now unconfirmed", found)
                await self._pipeline(bot, services, keep_going)
        except Exception:
            log.exception("outbox: the sender failed; it starts again in %.0f s", FAILED_PASS_PAUSE)
            await asyncio.sleep(FAILED_PASS_PAUSE)

    # ------------------------------------------------------------------------ the pipeline

    async def _pipeline(self, bot: Bot, services: Services, keep_going: Callable[[], bool]) -> None:
        in_flight: dict[int, tuple[Delivery, asyncio.Task[None]]] = {}
        last_of_chat: dict[int, asyncio.Task[None]] = {}
        # Customers one of whose messages was put back, with its due time: the messages
        # queued behind it in the same chain follow it back to pending.
        held: dict[int, datetime] = {}
        half = self.batch // 2
        room = asyncio.Event()  # set when at most half the claimed rows are left
        loop = asyncio.get_running_loop()
        next_claim = loop.time()

        def finished(delivery: Delivery, task: asyncio.Task[None]) -> None:
            in_flight.pop(delivery.row_id, None)
            if last_of_chat.get(delivery.customer_id) is task:
                del last_of_chat[delivery.customer_id]
            if len(in_flight) <= half:
                room.set()

        try:
            while keep_going():
                now = loop.time()
                paused = self.limiter.paused_until > now
                claimed = 0
                if len(in_flight) <= half and not paused and now >= next_claim:
                    wanted = self.batch - len(in_flight)
                    deliveries, claimed = await self._claim(services, wanted)
                    if claimed < wanted:  # every due row is taken: look again a little later
                        next_claim = loop.time() + POLL_SECONDS
                    for delivery in deliveries:
                        before = last_of_chat.get(delivery.customer_id)
                        if before is None:  # a new chain: what held the old one is over
                            held.pop(delivery.customer_id, None)
                        task = asyncio.create_task(
                            self._deliver(bot, services, delivery, before, held)
                        )
                        task.add_done_callback(partial(finished, delivery))
                        in_flight[delivery.row_id] = (delivery, task)
                        last_of_chat[delivery.customer_id] = task
                if not in_flight:
                    if claimed:
                        continue  # all of it was skipped: claim on
                    return  # nothing due: the next tick looks again
                room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(room.wait(), POLL_SECONDS)
        finally:
            await self._wind_down(in_flight)

    async def _wind_down(self, in_flight: dict[int, tuple[Delivery, asyncio.Task[None]]]) -> None:
        """Stopping: give back what was not requested, wait for what was."""
        tasks = []
        for delivery, task in list(in_flight.values()):
            if not delivery.requested:
                task.cancel()
            tasks.append(task)
        if tasks:
            await asyncio.wait(tasks)

    async def _claim(self, services: Services, limit: int) -> tuple[list[Delivery], int]:
        """Claim due rows and decide what each says, in one transaction, committed."""
        now = services.clock.now()
        render = services.templates.render
        deliveries = []
        async with services.sessionmaker.begin() as session:
            rows = await outbox.claim_due(session, now, limit, self.worker_id)
            if not rows:
                return [], 0
            found = await outbox.messages_for(
                session,
                rows,
                render,
                company=services.company_name,
                default_locale=services.default_locale,
                countries=services.care.holiday_countries,
                times=outbox.SendTimes(
                    now, services.timezone, services.care.window, services.care.followups
                ),
            )
            for row, what in zip(rows, found, strict=True):
                if isinstance(what, outbox.Skip):
                    await outbox.skip(session, row.id, what.reason)
                    self.stats.count(outbox.OutboxState.SKIPPED)
                elif isinstance(what, outbox.Wait):  # quiet hours: back to pending till then
                    await outbox.postpone(session, row.id, what.until)
                elif isinstance(what, outbox.NoText):
                    log.error("outbox: %s", what)
                    await outbox.mark_failed(session, row.id, str(what))
                    self.stats.count(outbox.OutboxState.FAILED)
                else:
                    deliveries.append(
                        Delivery(row.id, row.customer_id, row.due_at, row.attempts, what)
                    )
        return deliveries, len(rows)

    # ------------------------------------------------------------------------ one message

    async def _deliver(
        self,
        bot: Bot,
        services: Services,
        delivery: Delivery,
        before: asyncio.Task[None] | None,
        held: dict[int, datetime],
    ) -> None:
        record: Record
        try:
            if before is not None:
                await asyncio.wait([before])  # this chat's earlier message first
            if delivery.customer_id in held:
                # An earlier message to this chat was put back: this one follows it.
                ahead = held[delivery.customer_id]
                at = delivery.due_at if delivery.due_at >= ahead else ahead + ORDER_STEP
                held[delivery.customer_id] = at
                record = self._put_back(delivery, "an earlier message waits", at)
            else:
                await self.limiter.acquire(delivery.message.chat_id)
                delivery.requested = True
                record = await self._send(bot, services, delivery, held)
        except asyncio.CancelledError:
            if delivery.requested:
                raise
            # Stopping before the request went out: the row is as good as never claimed.
            await self._record(
                services, self._put_back(delivery, "the sender stopped", delivery.due_at)
            )
            raise
        await self._record(services, record)

    async def _send(
        self, bot: Bot, services: Services, delivery: Delivery, held: dict[int, datetime]
    ) -> Record:
        """Send one message; return how to record what happened."""
        row_id = delivery.row_id
        try:
            sent = await self._request(bot, delivery.message)
        except RetryAfter as error:
            seconds = _seconds(error.retry_after)
            self.limiter.pause(seconds)
            self.stats.rate_limited += 1
            log.warning("outbox: Telegram asks to wait %.0f s; every send pauses", seconds)
            # Not the row's fault: it keeps its place in the queue and its attempts.
            held[delivery.customer_id] = delivery.due_at
            return self._put_back(delivery, error.message, delivery.due_at)
        except Forbidden as error:
            self.stats.count(outbox.OutboxState.BLOCKED)
            return partial(outbox.mark_blocked, row_id=row_id, error=error.message)
        except BadRequest as error:
            self.stats.count(outbox.OutboxState.FAILED)
            return partial(outbox.mark_failed, row_id=row_id, error=error.message)
        except TimedOut as error:
            self.stats.count(outbox.OutboxState.UNCONFIRMED)
            reason = f"timed out, maybe delivered: {error.message}"
            return partial(outbox.mark_unconfirmed, row_id=row_id, error=reason)
        except (NetworkError, TelegramError) as error:
            # 5xx, a refused connection, an unexpected error code: not delivered.
            backoff = min(BACKOFF * 2 ** (delivery.attempts - 1), MAX_BACKOFF)
            at = services.clock.now() + backoff
            held[delivery.customer_id] = at
            return self._retry(delivery, error.message, at)
        except Exception as error:
            # The request went out and something after it failed (the contact log?).
            log.exception("outbox: row %d may or may not have been delivered", row_id)
            self.stats.count(outbox.OutboxState.UNCONFIRMED)
            reason = f"{type(error).__name__}: {error}"
            return partial(outbox.mark_unconfirmed, row_id=row_id, error=reason)
        self.stats.sent += 1
        return outbox.Sent(
            row_id,
            sent.message_id,
            services.clock.now(),
            customer_id=delivery.customer_id,
            text=delivery.message.text,
        )

    async def _request(self, bot: Bot, message: outbox.Message) -> TelegramMessage:
        """One sendMessage, one attempt; the limiter hears when the answer came."""
        extra: dict[str, Any] = {}
        if self.limiter.paid_broadcast:
            extra["allow_paid_broadcast"] = True
        try:
            # The contact is logged with the row's outcome, in one transaction.
            with single_attempt(gate=self._requests_in_flight, log_contact=False):
                return await bot.send_message(
                    message.chat_id, message.text, read_timeout=self.send_timeout, **extra
                )
        finally:
            self.limiter.answered(message.chat_id)

    def _retry(
        self, delivery: Delivery, error: str, at: datetime, *, count_attempt: bool = True
    ) -> Record:
        async def record(session: AsyncSession) -> None:
            state = await outbox.retry_later(
                session,
                delivery.row_id,
                error,
                at,
                max_attempts=self.max_attempts,
                count_attempt=count_attempt,
            )
            if state is not None:
                self.stats.count(state)

        return record

    def _put_back(self, delivery: Delivery, reason: str, at: datetime) -> Record:
        """Back to pending, due at ``at``, without using up an attempt."""
        return self._retry(delivery, reason, at, count_attempt=False)

    async def _record(self, services: Services, record: Record) -> None:
        if self._results is None:
            self._results = GroupCommit(
                services.sessionmaker, _write_results, name="outbox results", max_batch=500
            )
        try:
            await self._results.submit(record)
        except CommitFailed:
            # The row stays "sending"; at the next start it becomes "unconfirmed".
            log.exception("outbox: could not record a message's outcome")


async def _write_results(session: AsyncSession, records: Sequence[Record]) -> None:
    sent = [r for r in records if isinstance(r, outbox.Sent)]
    # What was sent goes on each customer's record in the transaction that marks its row
    # sent: both or neither (then the row stays "sending" and becomes "unconfirmed").
    await contacts.record_contacts(
        session,
        [
            ContactEntry(
                Direction.OUTBOUND,
                ContactKind.TEXT,
                r.at,
                customer_id=r.customer_id,
                text=r.text,
                telegram_message_id=r.message_id,
            )
            for r in sent
            if r.customer_id is not None
        ],
    )
    await outbox.mark_sent_many(session, sent)
    for record in records:
        if not isinstance(record, outbox.Sent):
            await record(session)


def _seconds(retry_after: int | dt.timedelta) -> float:
    if isinstance(retry_after, dt.timedelta):
        return retry_after.total_seconds()
    return float(retry_after)


def install_outbox_sender(application: Application) -> OutboxSender:
    """Make the application's sender, within the configured limits; ``bot.jobs`` runs its
    tick."""
    services: Services | None = application.bot_data.get(SERVICES_KEY)
    engine = services.care if services is not None else None
    sender = OutboxSender(
        engine.limits if engine is not None else DeliveryLimits(),
        max_attempts=engine.outbox_max_attempts if engine is not None else 5,
    )
    application.bot_data[SENDER_KEY] = sender
    return sender


def outbox_sender(application: Application) -> OutboxSender:
    """The application's sender (tests and benchmarks look at it)."""
    sender = application.bot_data[SENDER_KEY]
    assert isinstance(sender, OutboxSender)
    return sender
