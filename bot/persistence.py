"""python-telegram-bot's persistence, kept as JSON rows in our own database.

One row of ``ptb_persistence`` per thing PTB persists, so each change is one small
upsert and erasing a customer is a couple of deletes:

=============  ==============================  ===========================================
kind           key                             data
=============  ==============================  ===========================================
user_data      the user id, ``"4242"``         the user's ``user_data`` dict
chat_data      the chat id, ``"-100123"``      the chat's ``chat_data`` dict
bot_data       ``""``                          ``bot_data``
callback_data  ``""``                          ``{"keyboards": [[uuid, access_time,
                                               {button_uuid: data}]], "callback_queries":
                                               {query_id: keyboard_uuid}}``
conversation   ``["complaint",[4242,4242]]``   the state (an int or a str)
=============  ==============================  ===========================================

A conversation row's key is the JSON list of the handler's name and its conversation key.

Only plain JSON is stored: dicts with string keys, lists, strings, numbers, booleans and
None. Anything else (a datetime, a tuple, a Telegram object, an int dict key) would not
come back as it went in, so that row is not written and an error names where the
offending value sits; the bot carries on.

PTB hands data over from its persistence updater every ``update_interval`` seconds and
at shutdown. Each hand-over is written through at once; nothing waits in memory for
:meth:`SqlPersistence.flush`. What was last written is remembered (as JSON text) so that
unchanged ``bot_data`` is not rewritten every second, and empty dicts are deleted rather
than stored, so that a customer who merely said hello leaves no row behind. That memory
assumes this process is the table's only writer, as PTB assumes of any persistence.

PTB's updater hands everything over at once: one ``update_*`` call per changed item, all
gathered (``asyncio.gather``). They share one transaction, a group commit
(``bot.group_commit``): each call queues its row and returns once the transaction that
writes it has committed, and the transaction writes every queued row with one multi-row
upsert and one DELETE per kind. So a busy second costs one short transaction, not one per
dialogue that moved, and updates do not queue behind a crowd of them. Every write
transaction opens with its INSERT or DELETE: on SQLite a writer that finds the database
busy then waits (the engine's busy_timeout) instead of failing with "database is locked",
as a transaction that reads first and writes afterwards can in WAL mode.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeAlias

from sqlalchemy import Delete, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import Application, BasePersistence, ConversationHandler, PersistenceInput
from telegram.ext._utils.trackingdict import TrackingDict

from bot.group_commit import GroupCommit
from care.clock import Clock, SystemClock
from care.models import PersistenceEntry

_LOGGER = logging.getLogger(__name__)

# PTB's own aliases live in the private ``telegram.ext._utils.types``; these are the same.
ConversationKey: TypeAlias = tuple[int | str, ...]
ConversationDict: TypeAlias = dict[ConversationKey, object]
CallbackData: TypeAlias = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]

USER_DATA: Final = "user_data"
CHAT_DATA: Final = "chat_data"
BOT_DATA: Final = "bot_data"
CALLBACK_DATA: Final = "callback_data"
CONVERSATION: Final = "conversation"
SINGLE_ROW: Final = ""
"""The key of the one row of bot_data and of callback_data."""

_KEY_LENGTH: Final = 128  # ptb_persistence.key is String(128)
_DIALECTS: Final = ("sqlite", "postgresql")  # the two whose INSERT has ON CONFLICT here

Row: TypeAlias = tuple[str, str]  # (kind, key)

_DELETE: Final = object()
"""What a :class:`_RowWrite` holds for a row that is to go."""


@dataclass(frozen=True)
class _RowWrite:
    """One row's new data (or ``_DELETE``), queued for the next transaction."""

    kind: str
    key: str
    data: Any
    updated_at: datetime


class SqlPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Persist user, chat and bot data, callback data and conversations in the database.

    Args:
        sessionmaker: Makes the sessions; every write is ``async with sessionmaker.begin()``.
        update_interval: Seconds between two runs of PTB's persistence updater, which is
            when conversation states and touched user/chat data are handed over.
        store_data: Which kinds of data to persist; all by default.
        clock: Tells the time for ``updated_at``; the system clock by default.

    Besides PTB's interface it offers :meth:`forget_user`, the erasure behind ``/forget``.
    """

    __slots__ = ("_clock", "_conversations", "_reported", "_sessionmaker", "_stored", "_writes")

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        update_interval: float = 1.0,
        store_data: PersistenceInput | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(store_data=store_data, update_interval=update_interval)
        bind = sessionmaker.kw.get("bind")
        dialect = bind.dialect.name if bind is not None else None
        if dialect is not None and dialect not in _DIALECTS:
            raise ValueError(f"SqlPersistence supports SQLite and PostgreSQL, not {dialect}")
        self._sessionmaker = sessionmaker
        self._clock: Clock = clock or SystemClock()
        # What each row holds, as canonical JSON text, or None once it is known to be absent.
        self._stored: dict[Row, str | None] = {}
        # The last problem logged for a row that could not be stored, so it is said once.
        self._reported: dict[Row, str] = {}
        self._conversations: dict[str, ConversationDict] | None = None
        self._writes: GroupCommit[_RowWrite] = GroupCommit(
            sessionmaker, _write_rows, name="persistence"
        )

    # --- loading -------------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        """Load every user's ``user_data``."""
        return await self._load_by_id(USER_DATA)

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        """Load every chat's ``chat_data``."""
        return await self._load_by_id(CHAT_DATA)

    async def get_bot_data(self) -> dict[Any, Any]:
        """Load ``bot_data``, or an empty dict if none was stored."""
        for _key, data in await self._load(BOT_DATA):
            if isinstance(data, dict):
                return data
            _LOGGER.error("Ignoring stored bot_data: it is a %s, not a dict", type(data).__name__)
        return {}

    async def get_callback_data(self) -> CallbackData | None:
        """Load the callback data cache's contents, or None if none was stored."""
        for _key, data in await self._load(CALLBACK_DATA):
            try:
                return _decode_callback_data(data)
            except (KeyError, TypeError, ValueError) as error:
                _LOGGER.error("Ignoring stored callback_data: %s", error)
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        """Load the states of the conversation handler called ``name``.

        PTB asks once per persistent handler at start; all handlers' rows are read on the
        first call and kept, so the others are answered from memory.
        """
        if self._conversations is None:
            self._conversations = await self._load_conversations()
        return dict(self._conversations.get(name, {}))

    async def reload_conversations(self, chat_keys: Collection[int]) -> dict[str, ConversationDict]:
        """The stored states of the conversations of these chats (those whose key starts
        with the chat's id), read now: another process may have moved them since this one
        started (``bot.inbox``: a chat taken over from a worker that stopped). What was
        remembered of their rows is forgotten, so that their next change is written
        whatever it is."""
        wanted = set(chat_keys)

        def of_wanted(row_key: str) -> bool:
            decoded = _parse_conversation_row_key(row_key)
            return decoded is not None and bool(decoded[1]) and decoded[1][0] in wanted

        for row in [row for row in self._stored if row[0] == CONVERSATION and of_wanted(row[1])]:
            del self._stored[row]
        found: dict[str, ConversationDict] = {}
        for row_key, state in await self._load(CONVERSATION):
            if of_wanted(row_key):
                decoded = _parse_conversation_row_key(row_key)
                assert decoded is not None
                found.setdefault(decoded[0], {})[decoded[1]] = state
        if self._conversations is not None:
            for name, states in self._conversations.items():
                for key in [key for key in states if key and key[0] in wanted]:
                    del states[key]
                states.update(found.get(name, {}))
        return found

    # --- writing ---------------------------------------------------------------------------

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        """Store one user's ``user_data``; an empty dict removes the row."""
        await self._save_dict(USER_DATA, str(user_id), data, label=f"user_data[{user_id}]")

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Store one chat's ``chat_data``; an empty dict removes the row."""
        await self._save_dict(CHAT_DATA, str(chat_id), data, label=f"chat_data[{chat_id}]")

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        """Store ``bot_data``; an empty dict removes the row."""
        await self._save_dict(BOT_DATA, SINGLE_ROW, data, label="bot_data")

    async def update_callback_data(self, data: CallbackData) -> None:
        """Store the callback data cache's contents (the button data must be JSON)."""
        await self._save(CALLBACK_DATA, SINGLE_ROW, _encode_callback_data(data), "callback_data")

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Store a conversation's new state; None (the conversation ended) removes the row."""
        row_key = _conversation_row_key(name, key)
        if new_state is None:
            if not self._known_absent(CONVERSATION, row_key):
                await self._delete(CONVERSATION, [row_key])
        elif not await self._save(
            CONVERSATION, row_key, new_state, label=f"conversations[{name!r}][{key!r}]"
        ):
            return
        if self._conversations is not None:
            states = self._conversations.setdefault(name, {})
            if new_state is None:
                states.pop(key, None)
            else:
                states[key] = new_state

    async def drop_user_data(self, user_id: int) -> None:
        """Delete one user's ``user_data``."""
        await self._delete(USER_DATA, [str(user_id)])

    async def drop_chat_data(self, chat_id: int) -> None:
        """Delete one chat's ``chat_data``."""
        await self._delete(CHAT_DATA, [str(chat_id)])

    async def forget_user(self, user_id: int) -> None:
        """Erase what is persisted about one user.

        Deletes their ``user_data``, the ``chat_data`` of their private chat (Telegram gives
        it the user's id) and every stored conversation whose key contains their id, in
        every handler. The rows go in one transaction; errors propagate to the caller, since
        an erasure must not fail quietly.

        This reaches only the database. A running application still holds the user's data
        and conversation states in memory, so the ``/forget`` handler should also call
        ``context.application.drop_user_data(user_id)`` (or PTB writes ``user_data`` back on
        its next run) and end the user's conversations.
        """
        async with self._sessionmaker() as session:
            conversation_keys = (
                await session.scalars(
                    select(PersistenceEntry.key).where(PersistenceEntry.kind == CONVERSATION)
                )
            ).all()
        # Conversation keys are read before the write transaction and deleted by exact key:
        # a SQLite transaction that reads before it writes cannot wait for the write lock.
        doomed = [
            row_key
            for row_key in conversation_keys
            if (decoded := _parse_conversation_row_key(row_key)) and user_id in decoded[1]
        ]
        user_key = str(user_id)
        async with self._sessionmaker.begin() as session:
            await session.execute(_delete_rows(USER_DATA, [user_key]))
            await session.execute(_delete_rows(CHAT_DATA, [user_key]))
            if doomed:
                await session.execute(_delete_rows(CONVERSATION, doomed))
        for row in [(USER_DATA, user_key), (CHAT_DATA, user_key)] + [
            (CONVERSATION, row_key) for row_key in doomed
        ]:
            self._stored[row] = None
        if self._conversations is not None:
            for states in self._conversations.values():
                for key in [key for key in states if user_id in key]:
                    del states[key]

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Do nothing: this process is the only writer, so memory is already current."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Do nothing: this process is the only writer, so memory is already current."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """Do nothing: this process is the only writer, so memory is already current."""

    async def flush(self) -> None:
        """Wait for the transaction in progress, if any: every hand-over is committed
        before its ``update_*`` call returns."""
        await self._writes.drain()

    # --- internals -------------------------------------------------------------------------

    def _known_absent(self, kind: str, key: str) -> bool:
        return (kind, key) in self._stored and self._stored[kind, key] is None

    async def _load(self, kind: str) -> list[tuple[str, Any]]:
        async with self._sessionmaker() as session:
            result = await session.execute(
                select(PersistenceEntry.key, PersistenceEntry.data).where(
                    PersistenceEntry.kind == kind
                )
            )
            rows = [(key, data) for key, data in result.all()]
        for key, data in rows:
            self._stored[kind, key] = _canonical(data)
        return rows

    async def _load_by_id(self, kind: str) -> dict[int, dict[Any, Any]]:
        loaded: dict[int, dict[Any, Any]] = {}
        for key, data in await self._load(kind):
            try:
                id_ = int(key)
            except ValueError:
                _LOGGER.error("Ignoring stored %s under %r: the key is not an id", kind, key)
                continue
            if not isinstance(data, dict):
                _LOGGER.error("Ignoring stored %s[%s]: it is not a dict", kind, key)
                continue
            loaded[id_] = data
        return loaded

    async def _load_conversations(self) -> dict[str, ConversationDict]:
        conversations: dict[str, ConversationDict] = {}
        for row_key, state in await self._load(CONVERSATION):
            decoded = _parse_conversation_row_key(row_key)
            if decoded is None:
                _LOGGER.error("Ignoring stored conversation under unreadable key %r", row_key)
                continue
            name, key = decoded
            conversations.setdefault(name, {})[key] = state
        return conversations

    async def _save_dict(self, kind: str, key: str, data: dict[Any, Any], label: str) -> None:
        if data:
            await self._save(kind, key, data, label)
        elif not self._known_absent(kind, key):
            await self._delete(kind, [key])

    async def _save(self, kind: str, key: str, data: Any, label: str) -> bool:
        """Upsert one row unless it holds ``data`` already; False if it cannot be stored."""
        row = (kind, key)
        problem = _json_problem(data, label)
        if problem is None and len(key) > _KEY_LENGTH:
            problem = f"its key {key!r} is longer than {_KEY_LENGTH} characters"
        if problem is not None:
            # PTB hands the same data over on every run; say it once, not every second.
            if self._reported.get(row) != problem:
                _LOGGER.error("Not persisting %s: %s", label, problem)
                self._reported[row] = problem
            return False
        self._reported.pop(row, None)
        text = _canonical(data)
        if self._stored.get(row) == text:
            return True
        await self._writes.submit(_RowWrite(kind, key, data, self._clock.now()))
        self._stored[row] = text
        return True

    async def _delete(self, kind: str, keys: Collection[str]) -> None:
        now = self._clock.now()
        for key in keys:
            await self._writes.submit(_RowWrite(kind, key, _DELETE, now))
            self._stored[kind, key] = None


async def _write_rows(session: AsyncSession, writes: Sequence[_RowWrite]) -> None:
    """Write a batch of rows: one DELETE per kind, then one multi-row upsert."""
    latest = {(write.kind, write.key): write for write in writes}  # the last one counts
    doomed: dict[str, list[str]] = {}
    for write in latest.values():
        if write.data is _DELETE:
            doomed.setdefault(write.kind, []).append(write.key)
    for kind, keys in doomed.items():
        await session.execute(_delete_rows(kind, keys))
    rows = [
        {"kind": w.kind, "key": w.key, "data": w.data, "updated_at": w.updated_at}
        for w in latest.values()
        if w.data is not _DELETE
    ]
    if rows:
        await session.execute(_upsert(session, rows))


def _upsert(session: AsyncSession, rows: list[dict[str, Any]]) -> sqlite.Insert | postgresql.Insert:
    dialect = session.get_bind().dialect.name
    statement: sqlite.Insert | postgresql.Insert
    if dialect == "sqlite":
        statement = sqlite.insert(PersistenceEntry)
    elif dialect == "postgresql":
        statement = postgresql.insert(PersistenceEntry)
    else:
        raise ValueError(f"SqlPersistence supports SQLite and PostgreSQL, not {dialect}")
    statement = statement.values(rows)
    return statement.on_conflict_do_update(
        index_elements=[PersistenceEntry.kind, PersistenceEntry.key],
        set_={"data": statement.excluded.data, "updated_at": statement.excluded.updated_at},
    )


def _delete_rows(kind: str, keys: Collection[str]) -> Delete:
    return delete(PersistenceEntry).where(
        PersistenceEntry.kind == kind, PersistenceEntry.key.in_(keys)
    )


def _conversation_row_key(name: str, key: ConversationKey) -> str:
    return json.dumps([name, list(key)], ensure_ascii=False, separators=(",", ":"))


def _parse_conversation_row_key(row_key: str) -> tuple[str, ConversationKey] | None:
    """Split a conversation row's key into handler name and conversation key, if it is one."""
    try:
        name, key = json.loads(row_key)
    except (TypeError, ValueError):
        return None
    if not isinstance(name, str) or not isinstance(key, list):
        return None
    if not all(isinstance(part, int | str) and not isinstance(part, bool) for part in key):
        return None
    return name, tuple(key)


def _encode_callback_data(data: CallbackData) -> dict[str, Any]:
    keyboards, callback_queries = data
    return {
        "keyboards": [[uuid, access_time, buttons] for uuid, access_time, buttons in keyboards],
        "callback_queries": dict(callback_queries),
    }


def _decode_callback_data(data: Any) -> CallbackData:
    keyboards = [
        (str(uuid), float(access_time), dict(buttons))
        for uuid, access_time, buttons in data["keyboards"]
    ]
    callback_queries = {str(query): str(uuid) for query, uuid in data["callback_queries"].items()}
    return keyboards, callback_queries


def _canonical(data: Any) -> str:
    """The JSON text of ``data``, the same for equal data (used to skip unchanged writes)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _json_problem(value: object, path: str, _enclosing: frozenset[int] = frozenset()) -> str | None:
    """Say where ``value`` stops being plain JSON, or None if JSON keeps it as it is.

    Subclasses of str, int and float (StrEnum, IntEnum states) pass: they come back as
    their plain values, which compare and hash equal.
    """
    if value is None or isinstance(value, str | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} is {value!r}, which JSON cannot hold"
    if isinstance(value, tuple):
        return f"{path} is a tuple, which JSON would give back as a list"
    if not isinstance(value, dict | list):
        return (
            f"{path} is of type {type(value).__name__}; only dicts with string keys, lists, "
            "strings, numbers, booleans and None can be stored"
        )
    if id(value) in _enclosing:
        return f"{path} contains itself"
    enclosing = _enclosing | {id(value)}
    if isinstance(value, list):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    else:
        for dict_key in value:
            if not isinstance(dict_key, str):
                return (
                    f"{path} has the {type(dict_key).__name__} key {dict_key!r}, "
                    "which JSON would turn into a string"
                )
        items = ((f"{path}[{dict_key!r}]", item) for dict_key, item in value.items())
    for item_path, item in items:
        if (problem := _json_problem(item, item_path, enclosing)) is not None:
            return problem
    return None


async def refresh_conversations(application: Application, chat_keys: Sequence[int]) -> None:
    """Give the application's persistent conversation handlers the stored dialogue state
    of these chats (``Inbox.refresh_chats``: chats this process takes over from another).

    python-telegram-bot reads conversation states once, at start; it offers no way to
    read one chat's again, so the handler's state dict is changed in place, untracked
    (nothing changed that needs writing back).
    """
    persistence = application.persistence
    if not isinstance(persistence, SqlPersistence) or not chat_keys:
        return
    stored = await persistence.reload_conversations(chat_keys)
    wanted = set(chat_keys)
    for handlers in application.handlers.values():
        for handler in handlers:
            if not (isinstance(handler, ConversationHandler) and handler.persistent):
                continue
            states = handler._conversations
            mine = stored.get(handler.name or "", {})
            for key in [key for key in states if key and key[0] in wanted and key not in mine]:
                if isinstance(states, TrackingDict):
                    del states.data[key]  # untracked: the row is absent already
                else:
                    del states[key]
            fresh = {key: state for key, state in mine.items() if state != handler.END}
            if isinstance(states, TrackingDict):
                states.update_no_track(fresh)
            else:
                states.update(fresh)
