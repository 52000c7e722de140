"""The sender of owed messages (``care.owed``): cards, customer notices, relays, staff
replies and alerts, delivered after the transaction that owed them has committed.

**Shape.** Every commit that owes a message rings the doorbell (``bot.db.Doorbell``),
which starts a pass at once when none is running (or has the running one look again);
a repeating JobQueue tick starts one too, for rows due after a backoff and for rows
other processes owed. A pass claims what is due (``care.owed.claim_due``: each row only
when nothing older to its chat is unsettled), **commits the claim**, then sends, one
chat's rows one after the other and up to ``CHATS_AT_ONCE`` chats at a time, and records
each outcome in a short transaction of its own.

**Outcomes.** Sent → ``sent`` (a card's message id goes on its complaint, every message of
a complaint is filed so that replies to it find it). 429 → back to ``pending`` after
``retry_after``, the attempt not counted. 5xx, network errors and timeouts → back to
``pending`` with exponential backoff (``care.owed.backoff``), ``failed`` after
``care.owed.MAX_ATTEMPTS``. A timeout is retried although Telegram may have acted: an
owed message is at least once (a long read timeout keeps that rare). 403 and "chat not
found" → ``failed``: a customer who blocked the bot is marked unreachable (by
``CareBot``) and the complaint records it; a private chat of a staff member that refuses
an alert → the alert goes to its fallback chat (the staff group); a supervisor who
refuses the weekly report → the rest of that week's report to them is dropped. A photo
is a Telegram file id, or bytes kept on the row (the weekly report's charts), uploaded.
A card that cannot be edited (its message is gone, or its post's outcome was unknown)
is posted again.

Whenever a message owed to a complaint's customer settles, the card is edited to say so
(sent, or why not), and a staff member whose reply could not be delivered is told under
their own message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    MessageId,
    ReplyParameters,
)
from telegram import Message as TelegramMessage
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application

from bot.delivery import single_attempt
from care import complaints, conversations, owed
from care.models import Complaint, OwedMessage, StaffMember
from care.owed import Kind, Purpose
from handlers import conversation_answers, conversation_desk, erasure, notify, staff_card
from handlers.context import SERVICES_KEY, CareContext, Services

log = logging.getLogger(__name__)

OWED_JOB = "owed"
SENDER_KEY = "carebot.owed_sender"

# Rows claimed at a time, and chats served at once.
BATCH = 32
CHATS_AT_ONCE = 8
# A slow Telegram that still delivers should not look like a failure (and be sent twice).
READ_TIMEOUT = 30.0
FAILED_PASS_PAUSE = 2.0
# Settled rows are kept this long (for the card's "customer told" line), then deleted:
# they hold the customer's words.
KEEP_SETTLED = timedelta(days=7)
PRUNE_EVERY = timedelta(hours=1)


def _seconds(retry_after: int | dt.timedelta) -> float:
    if isinstance(retry_after, dt.timedelta):
        return retry_after.total_seconds()
    return float(retry_after)


def _markup(buttons: list[list[list[str]]] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )


# A row's request: sends (or edits) and returns the message Telegram made, if any.
Request = Callable[[], Awaitable[object]]

# The Bot API method that sends a file of each kind (all take business_connection_id).
_FILE_SENDERS: dict[Kind, Callable[[Bot], Callable[..., Awaitable[TelegramMessage]]]] = {
    Kind.PHOTO: lambda bot: bot.send_photo,
    Kind.DOCUMENT: lambda bot: bot.send_document,
    Kind.VOICE: lambda bot: bot.send_voice,
    Kind.AUDIO: lambda bot: bot.send_audio,
    Kind.VIDEO: lambda bot: bot.send_video,
    Kind.ANIMATION: lambda bot: bot.send_animation,
    Kind.VIDEO_NOTE: lambda bot: bot.send_video_note,
    Kind.STICKER: lambda bot: bot.send_sticker,
}


class OwedSender:
    """Delivers owed messages; one per application (see the module docstring)."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self._application: Application | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.sent = 0
        self.read_timeout = READ_TIMEOUT
        self._pruned_at: datetime | None = None
        # Rows left "sending" are looked for at the first pass, after a pass that failed,
        # and on the periodic tick (a sender elsewhere may have died), not on every ring.
        self._recover = True

    # ------------------------------------------------------------------------ starting

    def attach(self, application: Application) -> None:
        self._application = application

    def ring(self) -> None:
        """Something was owed: send it now (or right after the pass in progress)."""
        application = self._application
        if application is None or not application.running:
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        services: Services = application.bot_data[SERVICES_KEY]
        self._task = application.create_task(
            self.run(application.bot, services, lambda: application.running),
            name="owed messages",
        )

    async def tick(self, context: CareContext) -> None:
        """Job: look for rows due after a backoff, or owed by another process, and for
        rows a sender that is gone left in flight."""
        self._recover = True
        self.ring()

    async def wait_idle(self) -> None:
        """Wait for the pass in progress (tests, shutdown)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task

    # ------------------------------------------------------------------------ a pass

    async def run(self, bot: Bot, services: Services, keep_going: Callable[[], bool]) -> None:
        """Send until nothing is due (or the application stops)."""
        try:
            async with services.sessionmaker() as alive, alive.begin():
                if not await owed.hold_sender_lock(alive, self.worker_id):
                    return
                if self._recover:
                    self._recover = False
                    async with services.sessionmaker.begin() as session:
                        # A pass starts only when none of this sender's is running: rows
                        # it still has "sending" were left by a pass that failed midway.
                        back = await owed.recover_in_flight(session, self.worker_id, own=True)
                    if back:
                        log.warning("owed messages: %d left in flight are sent again", back)
                await self._prune(services)
                while keep_going():
                    self._again = False
                    async with services.sessionmaker.begin() as session:
                        rows = await owed.claim_due(
                            session, services.clock.now(), BATCH, self.worker_id
                        )
                        claimed = [(row.id, row.chat_id) for row in rows]
                    log.debug("owed messages: %d claimed", len(claimed))
                    if not claimed:
                        if self._again:
                            continue
                        return
                    await self._send_all(bot, services, claimed)
        except Exception:
            self._recover = True
            log.exception(
                "owed messages: a pass failed; the next starts in %.0f s", FAILED_PASS_PAUSE
            )
            await asyncio.sleep(FAILED_PASS_PAUSE)

    async def _prune(self, services: Services) -> None:
        now = services.clock.now()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        async with services.sessionmaker.begin() as session:
            pruned = await owed.prune(session, now - KEEP_SETTLED)
        if pruned:
            log.info("owed messages: %d settled rows older than %s deleted", pruned, KEEP_SETTLED)

    async def _send_all(self, bot: Bot, services: Services, claimed: list[tuple[int, int]]) -> None:
        by_chat: dict[int, list[int]] = defaultdict(list)
        for row_id, chat_id in claimed:
            by_chat[chat_id].append(row_id)
        gate = asyncio.Semaphore(CHATS_AT_ONCE)

        async def chat_in_order(row_ids: list[int]) -> None:
            async with gate:
                for row_id in row_ids:
                    await self._deliver(bot, services, row_id)

        await asyncio.gather(*(chat_in_order(ids) for ids in by_chat.values()))

    # ------------------------------------------------------------------------ one row

    async def _deliver(self, bot: Bot, services: Services, row_id: int) -> None:
        try:
            async with services.sessionmaker.begin() as session:
                row = await session.get_one(OwedMessage, row_id)
                request = await self._prepare(session, row, services, bot)
        except Exception as error:  # a bug or the database: the row must not stay claimed
            log.exception("owed message %s: could not be prepared", row_id)
            await self._settle_retry(services, row_id, repr(error), None)
            return
        now = services.clock.now
        if request is None:
            async with services.sessionmaker.begin() as session:
                await owed.drop(session, row_id, "nothing to send any more")
            return
        try:
            with single_attempt():
                sent = await request()
        except RetryAfter as error:
            wait = _seconds(error.retry_after)
            await self._settle_retry(services, row_id, f"429: retry after {wait:.0f} s",
                                     timedelta(seconds=wait), count=False)  # fmt: skip
            return
        except Forbidden as error:
            await self._settle_refused(services, row_id, str(error))
            return
        except BadRequest as error:
            if "not modified" in str(error).lower():
                sent = None  # an edit that changes nothing: the card already shows it
            else:
                await self._settle_refused(services, row_id, str(error))
                return
        except TimedOut as error:
            await self._settle_retry(services, row_id, f"timed out: {error}", None)
            return
        except TelegramError as error:
            await self._settle_retry(services, row_id, str(error), None)
            return
        except Exception as error:  # a bug or the database: never lose the row
            log.exception("owed message %s: could not be sent", row_id)
            await self._settle_retry(services, row_id, repr(error), None)
            return
        # copyMessage answers with a MessageId, not a Message: its id is filed all the same
        # (a relayed photo must be found by a reply to it, and by /forget).
        message_id = sent.message_id if isinstance(sent, TelegramMessage | MessageId) else None
        async with services.sessionmaker.begin() as session:
            settled = await owed.mark_sent(session, row_id, message_id, now())
            if settled is not None:
                await self._after_settled(session, settled, services)
        self.sent += 1

    async def _prepare(
        self, session: AsyncSession, row: OwedMessage, services: Services, bot: Bot
    ) -> Request | None:
        """The request that delivers the row, or None if nothing is owed any more."""
        reply_to = row.reply_to_message_id
        if row.reply_to_card and row.complaint_id is not None:
            complaint = await session.get(Complaint, row.complaint_id)
            if complaint is not None and complaint.staff_chat_id == row.chat_id:
                reply_to = complaint.alert_message_id
        if row.reply_to_source and row.customer_id is not None and row.source_message_id:
            shown = await conversations.copy_of(
                session, row.customer_id, row.chat_id, row.source_message_id,
                row.source_business_connection_id,
            )  # fmt: skip
            reply_to = shown[1] if shown is not None else None
        parameters = (
            ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        )
        markup = _markup(row.buttons)
        chat_id, text = row.chat_id, row.text
        # A customer of the company's Business account is answered through it.
        through = row.business_connection_id
        if row.kind in (Kind.CARD.value, Kind.CARD_EDIT.value):
            return await self._card_request(session, row, services, bot)
        if row.kind == Kind.TOPIC.value:
            return await conversation_desk.topic_request(
                session, row, services, bot, self.read_timeout
            )
        if row.kind == Kind.CONVERSATION_CARD.value:
            return await conversation_desk.card_request(
                session, row, services, bot, self.read_timeout
            )
        if row.kind == Kind.ERASE.value:
            return await erasure.erase_request(session, row, services, bot, self.read_timeout)
        # A conversation's message for its customer's forum topic (None: General).
        thread = await conversation_desk.topic_thread(session, row)
        if row.customer_id is not None and row.purpose in owed.CUSTOMER_BOUND:
            customer = await session.get(complaints.Customer, row.customer_id)
            if customer is None or customer.chat_id is None:
                return None  # forgotten
        if row.kind in owed.FILE_KINDS and not (row.file_id or row.data):
            return None  # its file was erased (/forget)
        # A Telegram file by its id, or bytes not uploaded yet (a report's chart).
        media = row.file_id or InputFile(row.data or b"", filename=f"{row.purpose}-{row.id}.png")
        if row.kind == Kind.COPY.value and (
            row.source_chat_id is None or row.source_message_id is None
        ):
            return None  # its source was erased (/forget)
        if row.kind == Kind.COPY.value and through is not None:
            # copyMessage knows no Business connection: it would land in the customer's
            # chat with the bot. Owers send files to Business chats by id instead.
            log.error("owed message %s: a copy cannot go through a Business chat", row.id)
            return None
        if row.kind in owed.FILE_KINDS:
            kind = Kind(row.kind)
            # Stickers and video notes take no caption (what is said with them was owed
            # as a text before them).
            caption = {} if kind in owed.CAPTIONLESS else {"caption": text}
            send = _FILE_SENDERS[kind](bot)
            return lambda: send(
                chat_id, media, reply_markup=markup, reply_parameters=parameters,
                read_timeout=self.read_timeout, business_connection_id=through,
                message_thread_id=thread, **caption,
            )  # fmt: skip
        if row.kind == Kind.COPY.value:
            assert row.source_chat_id is not None and row.source_message_id is not None
            source_chat, source_message = row.source_chat_id, row.source_message_id
            return lambda: bot.copy_message(
                chat_id, source_chat, source_message, caption=text, reply_markup=markup,
                reply_parameters=parameters, read_timeout=self.read_timeout,
                message_thread_id=thread,
            )  # fmt: skip
        return lambda: bot.send_message(
            chat_id,
            text or "",
            reply_markup=markup,
            reply_parameters=parameters,
            read_timeout=self.read_timeout,
            business_connection_id=through,
            message_thread_id=thread,
        )

    async def _card_request(
        self, session: AsyncSession, row: OwedMessage, services: Services, bot: Bot
    ) -> Request | None:
        """Post the card, or edit it; a card that cannot be edited is posted again."""
        assert row.complaint_id is not None
        card = await staff_card.render_card(session, row.complaint_id, services)
        if card is None:
            return None  # the complaint is gone
        text, markup = card
        chat_id = row.chat_id
        complaint = await session.get_one(Complaint, row.complaint_id)
        card_id = complaint.alert_message_id if complaint.staff_chat_id == chat_id else None
        if row.kind == Kind.CARD_EDIT.value and card_id is None:
            # The post is still owed (and will show this too), or it failed, or its
            # outcome was never known: then this edit posts the card.
            if await owed.unsettled(session, complaint_id=complaint.id, kind=Kind.CARD.value):
                return None

        async def post() -> TelegramMessage:
            return await bot.send_message(
                chat_id, text, reply_markup=markup, read_timeout=self.read_timeout
            )

        if row.kind == Kind.CARD.value or card_id is None:
            return post
        message_id = card_id

        async def edit() -> TelegramMessage | None:
            try:
                await bot.edit_message_text(
                    text, chat_id, message_id, reply_markup=markup, read_timeout=self.read_timeout
                )
            except BadRequest as error:
                if "not modified" in str(error).lower():
                    return None
                # The card is gone (deleted by someone, say): post it again.
                log.warning("complaint %s: card not editable (%s): posted again",
                            row.complaint_id, error)  # fmt: skip
                return await post()
            return None  # edited: the card keeps its message id

        return edit

    # ------------------------------------------------------------------------ settling

    async def _settle_retry(
        self,
        services: Services,
        row_id: int,
        error: str,
        wait: timedelta | None,
        *,
        count: bool = True,
    ) -> None:
        now = services.clock.now()
        async with services.sessionmaker.begin() as session:
            row = await session.get_one(OwedMessage, row_id, populate_existing=True)
            attempts = row.attempts
            if count and attempts >= owed.MAX_ATTEMPTS:
                failed = await owed.mark_failed(session, row_id, f"gave up: {error}")
                if failed is not None:
                    log.error("owed message %s: given up after %d attempts: %s",
                              row_id, attempts, error)  # fmt: skip
                    await self._after_settled(session, failed, services)
                return
            due = now + (wait if wait is not None else owed.backoff(attempts))
            retried = await owed.retry_later(session, row_id, error, due, count=count)
            if retried is not None:
                log.warning("owed message %s (%s to %s): %s; again at %s", row_id,
                            retried.purpose, _chat(retried), error, due.isoformat())  # fmt: skip
                if attempts == 1 and retried.purpose in owed.CUSTOMER_BOUND:
                    # The card says the customer has not been told yet.
                    await self._owe_card_edit(session, retried, services)

    async def _settle_refused(self, services: Services, row_id: int, error: str) -> None:
        now = services.clock.now()
        async with services.sessionmaker.begin() as session:
            row = await owed.mark_failed(session, row_id, error)
            if row is None:
                return
            log.warning("owed message %s (%s to %s) refused: %s",
                        row_id, row.purpose, _chat(row), error)  # fmt: skip
            if row.purpose == Purpose.REPORT.value and row.note is not None:
                # A supervisor who blocked the bot: the rest of the week's report to them
                # would be refused too.
                await owed.drop_the_rest(session, row, f"refused before: {error}")
            if row.fallback_chat_id is not None:
                owed.owe(
                    session, now=now, purpose=Purpose(row.purpose), chat_id=row.fallback_chat_id,
                    text=row.text, complaint_id=row.complaint_id, customer_id=row.customer_id,
                    conversation_id=row.conversation_id, remember_as=row.remember_as,
                )  # fmt: skip
            if row.purpose in owed.CUSTOMER_BOUND and row.complaint_id is not None:
                complaint = await session.get(Complaint, row.complaint_id)
                customer = (
                    await session.get(complaints.Customer, row.customer_id)
                    if row.customer_id
                    else None
                )
                if complaint is not None and customer is not None and not customer.reachable:
                    await complaints.record_unreachable(session, complaint, now)
            await self._after_settled(session, row, services)

    async def _after_settled(
        self, session: AsyncSession, row: OwedMessage, services: Services
    ) -> None:
        """The card shows what became of a message to the customer; staff whose reply
        failed are told under it."""
        if row.purpose not in owed.CUSTOMER_BOUND:
            return
        if row.conversation_id is not None and row.complaint_id is None:
            # A staff answer in a conversation: its record, or why it did not arrive.
            await conversation_answers.after_answer_settled(session, row, services)
            return
        if row.state == owed.OwedState.SENT.value and row.staff_member_id is not None:
            # A staff reply the customer now has: on the record, and its change announced
            # (the card's edit among it).
            complaint = await session.get(Complaint, row.complaint_id)
            member = await session.get(StaffMember, row.staff_member_id)
            if complaint is not None and member is not None:
                change = await complaints.record_staff_reply(
                    session, complaint, member, row.note or "", services.clock.now()
                )
                await notify.owe_announcement(session, services, change)
                return
        await self._owe_card_edit(session, row, services)
        if row.state == owed.OwedState.FAILED.value and row.staff_chat_id is not None:
            text = await notify.not_delivered(session, row, services)
            owed.owe(
                session, now=services.clock.now(), purpose=Purpose.STAFF_NOTICE,
                chat_id=row.staff_chat_id, text=text, complaint_id=row.complaint_id,
                reply_to_message_id=row.staff_message_id,
            )  # fmt: skip

    async def _owe_card_edit(
        self, session: AsyncSession, row: OwedMessage, services: Services
    ) -> None:
        if row.complaint_id is None:
            return
        complaint = await session.get(Complaint, row.complaint_id)
        if complaint is not None:
            await owed.owe_card_edit(session, complaint, services.clock.now())


def _chat(row: OwedMessage) -> int | str:
    """Where a row goes, for the logs: never a customer's private chat, whose id is their
    Telegram id (logs cannot be erased)."""
    return "the customer" if row.purpose in owed.CUSTOMER_BOUND else row.chat_id


async def release_claimed(services: Services, worker_id: str) -> int:
    """Put the rows this sender claimed back to ``pending``: for a stop that could not
    wait for its requests (they may have reached Telegram: sent again at the next start,
    as after a crash).

    Returns:
        How many rows went back.
    """
    async with services.sessionmaker.begin() as session:
        return await owed.recover_in_flight(session, worker_id, own=True)


def install_owed_sender(application: Application, sender: OwedSender) -> None:
    """Make ``sender`` the application's: the doorbell starts it, and ``bot.jobs`` runs
    its tick, which catches the rest."""
    sender.attach(application)
    application.bot_data[SENDER_KEY] = sender


def owed_sender(application: Application) -> OwedSender:
    """The application's sender (tests look at it)."""
    sender = application.bot_data[SENDER_KEY]
    assert isinstance(sender, OwedSender)
    return sender
