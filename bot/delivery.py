"""The bot object carebot talks to Telegram through.

Every message the bot sends into a customer's private chat is logged as an outbound
contact, whoever sends it (a handler, a job, the outbox), and a 403 from Telegram marks
the customer unreachable. Doing it here, at the one door every request goes through,
means no sender can forget to.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ExtBot

from bot.contact_log import ContactLog
from bot.inbox import Inbox, arrival_of
from care import customers
from care.clock import Clock
from care.contacts import ContactEntry
from care.models import ContactKind, Direction
from care.text import storable_text
from handlers.business import business_chat

log = logging.getLogger(__name__)

# Bot API methods that put a new message into a chat, and how the contact log calls them.
SENDING_METHODS: dict[str, ContactKind] = {
    "sendMessage": ContactKind.TEXT,
    "sendPhoto": ContactKind.PHOTO,
    "sendDocument": ContactKind.DOCUMENT,
    "sendSticker": ContactKind.STICKER,
    "sendVoice": ContactKind.VOICE,
    "sendAudio": ContactKind.OTHER,
    "sendVideo": ContactKind.VIDEO,
    "sendAnimation": ContactKind.OTHER,
    "sendVideoNote": ContactKind.VIDEO,
    "sendContact": ContactKind.CONTACT,
    "copyMessage": ContactKind.OTHER,
    "forwardMessage": ContactKind.OTHER,
}


# Methods that take business_connection_id: in the Business chat of the update being
# handled they go through its connection (see handlers.business).
BUSINESS_METHODS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendDocument", "sendSticker", "sendVoice",
        "sendAudio", "sendVideo", "sendAnimation", "sendVideoNote", "sendContact",
        "sendChatAction", "editMessageText", "editMessageCaption", "editMessageReplyMarkup",
    }
)  # fmt: skip

# Bounded retries of a request Telegram refused for now: 5xx or connection errors
# MAX_ATTEMPTS times in all (with backoff); 429s as often as Telegram asks, waiting each
# retry_after, until the waits add up to MAX_RETRY_AFTER (a burst of replies to many
# customers at once is answered with a run of short 429s: giving up after a few would
# lose replies that a little patience delivers). A timeout is not retried: Telegram may
# have delivered the message, and a customer must not get it twice.
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER = 60.0
BACKOFF = 0.5

# False while a sender with its own retry policy (the outbox) sends: one attempt only.
_RETRYING = contextvars.ContextVar("carebot_delivery_retrying", default=True)
# Held during the HTTP request itself while such a sender sends (see single_attempt).
_GATE: contextvars.ContextVar[asyncio.Semaphore | None] = contextvars.ContextVar(
    "carebot_delivery_gate", default=None
)
# False while a sender that logs its own contacts (the outbox) sends.
_LOG_CONTACT = contextvars.ContextVar("carebot_delivery_log_contact", default=True)


@contextlib.contextmanager
def single_attempt(
    gate: asyncio.Semaphore | None = None, *, log_contact: bool = True
) -> Iterator[None]:
    """Requests made inside (in this task) get one attempt: every error reaches the caller.

    For the outbox sender, which must pause all sending on a 429 rather than sleep in
    one request, and keeps its retries in the database. ``gate``, if given, is held
    during the HTTP request only, not while the contact log commits: a busy sender
    bounds its requests in flight without waiting for the database in between.
    ``log_contact=False``: the caller puts what was sent on the customer's record
    itself (the outbox does, in the transaction that marks the row sent).
    """
    retrying = _RETRYING.set(False)
    gate_token = _GATE.set(gate)
    logging_token = _LOG_CONTACT.set(log_contact)
    try:
        yield
    finally:
        _LOG_CONTACT.reset(logging_token)
        _GATE.reset(gate_token)
        _RETRYING.reset(retrying)


def _seconds(retry_after: int | dt.timedelta) -> float:
    if isinstance(retry_after, dt.timedelta):
        return retry_after.total_seconds()
    return float(retry_after)


def is_stale_callback(error: BadRequest) -> bool:
    """Say whether Telegram refused a callback answer because the press is too old."""
    text = error.message.lower()
    return "query is too old" in text or "query id is invalid" in text


def _chat_id(data: dict[str, Any]) -> int | None:
    value = data.get("chat_id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


class _NoRawUpdates(logging.Filter):
    """Drop PTB's log line that quotes every update of a batch it could not read.

    It carries the customers' names and words, at CRITICAL, and ``CareBot.get_updates``
    then reads the batch update by update and says which one failed (by id only).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Error while parsing updates!")


def _storable(value: Any) -> Any:
    """``value`` (decoded JSON) with every text made storable (see ``storable_text``)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(item, int | bool | None):
                value[key] = _storable(item)
        return value
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def storable_update(payload: dict[str, Any]) -> dict[str, Any]:
    """An update's decoded JSON with every text made storable (for webhook deliveries;
    ``getUpdates`` batches are made so in ``CareBot``)."""
    storable: dict[str, Any] = _storable(payload)
    return storable


class CareBot(ExtBot[None]):
    """An ``ExtBot`` that keeps the contact log and the customers' reachability."""

    def __init__(
        self,
        token: str,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        contact_log: ContactLog,
        **kwargs: Any,
    ) -> None:
        super().__init__(token, **kwargs)
        self._care_sessionmaker = sessionmaker
        self._care_clock = clock
        self._care_contact_log = contact_log
        self._care_raw_updates: list[Any] = []
        self._care_inbox: Inbox | None = None
        ptb_log = self._LOGGER  # PTB's logger of this class ("telegram.ext.ExtBot")
        if not any(isinstance(f, _NoRawUpdates) for f in ptb_log.filters):
            ptb_log.addFilter(_NoRawUpdates())

    def keep_updates_in(self, inbox: Inbox) -> None:
        """Write every batch ``get_updates`` fetches into ``inbox`` before returning it."""
        self._care_inbox = inbox

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        """Fetch updates; one that cannot be read is skipped, never the whole batch.

        PTB reads a batch at once, and one update it cannot read (a new field Telegram
        added, a missing one) would fail the batch for ever: the updater asks again
        from the same offset. Such an update is logged by its id only (its content is
        the customer's) and passed on empty, so the offset moves past it.

        With an inbox (:meth:`keep_updates_in`), the batch is committed there before it
        is returned: the next ``getUpdates``, which confirms it to Telegram, comes only
        after. If the database fails, the batch is not returned and is fetched again.
        """
        try:
            updates = await super().get_updates(*args, **kwargs)
        except TelegramError:
            raise
        except Exception:
            updates = tuple(self._read_update(raw) for raw in self._care_raw_updates)
        if self._care_inbox is not None and updates:
            await self._care_inbox.accept(
                [
                    arrival_of(update, raw)
                    for update, raw in zip(updates, self._care_raw_updates, strict=True)
                ]
            )
        return updates

    def _read_update(self, raw: Any) -> Update:
        try:
            update = Update.de_json(raw, self)
        except Exception as error:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int):
                raise
            log.error(
                "update %d could not be read and is skipped: %s: %.200s",
                update_id,
                type(error).__name__,
                error,
            )
            return Update(update_id)
        return update

    async def _do_post(self, endpoint: str, data: dict[str, Any], **kwargs: Any) -> Any:
        if endpoint == "getUpdates":  # the updater has its own retry loop
            result = await super()._do_post(endpoint, data, **kwargs)
            # Texts enter here: made storable once, for every handler and the record.
            self._care_raw_updates = _storable(result) if isinstance(result, list) else []
            return self._care_raw_updates
        if endpoint == "answerCallbackQuery":
            return await self._answer_callback_query(data, **kwargs)
        if endpoint in BUSINESS_METHODS and "business_connection_id" not in data:
            through = business_chat.get()
            if through is not None and _chat_id(data) == through.chat_id:
                data = {**data, "business_connection_id": through.connection_id}
        kind = SENDING_METHODS.get(endpoint)
        chat_id = _chat_id(data) if kind is not None else None
        # Private chats have positive ids; groups and channels negative ones.
        if chat_id is None or chat_id < 0:
            return await self._post_with_retries(endpoint, data, **kwargs)
        try:
            result = await self._post_with_retries(endpoint, data, **kwargs)
        except Forbidden:
            if data.get("business_connection_id") is not None:
                # A Business chat refused: the customer's chat with the bot may be fine.
                raise
            async with self._care_sessionmaker.begin() as session:
                if await customers.mark_unreachable(session, chat_id, self._care_clock.now()):
                    # No chat id in the log: a private chat's id is the person's Telegram id.
                    log.info("a customer blocked the bot: marked unreachable")
            raise
        assert kind is not None
        if not _LOG_CONTACT.get():
            return result
        text = data.get("text") or data.get("caption")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        # Back only once committed, so the handler goes on only with its reply on record.
        await self._care_contact_log.record(
            ContactEntry(
                Direction.OUTBOUND,
                kind,
                self._care_clock.now(),
                chat_id=chat_id,
                text=str(text) if text is not None else None,
                telegram_message_id=message_id,
            )
        )
        return result

    async def _answer_callback_query(self, data: dict[str, Any], **kwargs: Any) -> Any:
        """Answer a button press; one Telegram no longer takes an answer for is harmless.

        Telegram takes an answer for about 15 seconds after the press. A press older
        than that (the backlog after a restart, a slow moment) still counts: what the
        button asks for must happen, so every handler that answers first goes on.
        """
        try:
            return await self._post_with_retries("answerCallbackQuery", data, **kwargs)
        except BadRequest as error:
            if not is_stale_callback(error):
                raise
            log.info("a button press was answered too late (%s); going on", error.message)
            return True

    async def _post_with_retries(self, endpoint: str, data: dict[str, Any], **kwargs: Any) -> Any:
        retrying = _RETRYING.get()
        attempts = MAX_ATTEMPTS if retrying else 1
        attempt, waited = 1, 0.0
        while True:
            try:
                return await self._post_once(endpoint, data, **kwargs)
            except RetryAfter as error:
                wait = _seconds(error.retry_after)
                if not retrying or waited + wait > MAX_RETRY_AFTER:
                    raise
                waited += wait
                log.warning(
                    "%s: Telegram asks to wait %.0f s (%.0f s in all so far)",
                    endpoint, wait, waited,
                )  # fmt: skip
            except (TimedOut, BadRequest):
                # BadRequest is a NetworkError in PTB, but a 400 is final.
                raise
            except NetworkError as error:
                if attempt == attempts:
                    raise
                wait = BACKOFF * 2 ** (attempt - 1)
                attempt += 1
                log.warning("%s failed (%s); retrying in %.1f s", endpoint, error, wait)
            await asyncio.sleep(wait)

    async def _post_once(self, endpoint: str, data: dict[str, Any], **kwargs: Any) -> Any:
        gate = _GATE.get()
        if gate is None:
            return await super()._do_post(endpoint, data, **kwargs)
        async with gate:
            return await super()._do_post(endpoint, data, **kwargs)
