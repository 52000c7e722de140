"""The sandbox's world: users, chats, messages, topics, updates, files and callbacks.

Everything lives in one :class:`World` object per :class:`~bot.sandbox.server.Sandbox`;
nothing here is global. The world is only touched from the event loop that serves the
sandbox, so no locks are needed: a method runs to completion between two awaits.

Messages are kept as small :class:`StoredMessage` records and turned into Telegram's
``Message`` JSON (:meth:`World.message_dict`) or the control API's transcript view
(:meth:`World.transcript`) when asked, so the request path never copies whole chats.
Rate limits and faults live in :mod:`bot.sandbox.limits`.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.sandbox.limits import Clock, FaultPlan, RateLimiter, RateLimits
from bot.sandbox.spec import ApiError, bad_request

BOT_USERNAME = "carebot_sandbox_bot"
BOT_FIRST_NAME = "Carebot Sandbox"
FIRST_USER_ID = 100_000_001
FIRST_GROUP_ID = -1_001_000_000_001
# Telegram's default when allowed_updates is not given: every kind but chat_member,
# message_reaction and message_reaction_count (of the kinds the sandbox makes).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message", "edited_message", "callback_query", "business_connection",
        "business_message", "edited_business_message", "deleted_business_messages",
    }
)  # fmt: skip
REQUEST_LOG_SIZE = 20_000
# setMyCommands: a two-letter ISO 639-1 language code.
LANGUAGE_CODE = re.compile(r"[a-z]{2}")

ChatType = Literal["private", "supergroup"]
FileKind = Literal[
    "photo", "document", "sticker", "voice", "video", "animation", "audio", "video_note"
]


# -- the world ------------------------------------------------------------------------


@dataclass(slots=True)
class User:
    """A Telegram user: a customer, a staff member or the bot itself."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False
    phone_number: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return Telegram's ``User`` object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def control_dict(self) -> dict[str, Any]:
        """Return the user as the control API shows it (with the phone number it shares)."""
        user = self.as_dict()
        if self.phone_number:
            user["phone_number"] = self.phone_number
        return user


@dataclass(slots=True)
class StoredMessage:
    """One message in a chat; ``content`` holds Telegram's content fields."""

    message_id: int
    chat_id: int
    from_id: int
    date: int
    content: dict[str, Any]
    reply_markup: dict[str, Any] | None = None
    parse_mode: str | None = None
    edit_date: int | None = None
    reply_to: dict[str, Any] | None = None  # the replied-to message as it was then
    forward_origin: dict[str, Any] | None = None
    thread_id: int | None = None  # the forum topic (None: General, or not a forum)
    reply_root: int | None = None  # outside topics: the first message of its reply chain
    reactions: list[dict[str, Any]] | None = None  # the bot's (setMessageReaction)
    business_connection_id: str | None = None  # a message of a business chat


@dataclass(slots=True)
class Topic:
    """A forum topic: the thread of the service message that created it."""

    thread_id: int
    name: str
    icon_color: int
    creator_id: int
    icon_custom_emoji_id: str | None = None
    closed: bool = False
    last_message_id: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return Telegram's ``ForumTopic`` object."""
        topic: dict[str, Any] = {
            "message_thread_id": self.thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            topic["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return topic


@dataclass(slots=True)
class Chat:
    """A private chat (``id`` = the user's id) or a supergroup (negative ``id``)."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    member_ids: list[int] = field(default_factory=list)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    last_message_id: int = 0
    is_forum: bool = False
    # The bot's administrator rights here (None: a plain member), see forum.ADMIN_RIGHTS.
    bot_rights: dict[str, bool] | None = None
    topics: dict[int, Topic] = field(default_factory=dict)

    @property
    def is_group(self) -> bool:
        """Say whether this is a group (where the per-group rate limit applies)."""
        return self.type != "private"


@dataclass(slots=True)
class StoredFile:
    """A file the bot or a user sent; ``meta`` is the PhotoSize/Document/... object."""

    file_id: str
    file_unique_id: str
    kind: FileKind
    file_path: str
    data: bytes
    meta: dict[str, Any]


@dataclass(slots=True)
class CallbackQuery:
    """A button press and the bot's answer to it."""

    id: str
    from_id: int
    chat_id: int
    message_id: int
    data: str
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    answered_event: asyncio.Event = field(default_factory=asyncio.Event)

    def answer_dict(self) -> dict[str, Any]:
        """Return the control API view: ``{answered, text?, show_alert?, url?}``."""
        answer: dict[str, Any] = {"answered": self.answered}
        if self.answered:
            answer["show_alert"] = self.show_alert
            if self.text is not None:
                answer["text"] = self.text
            if self.url is not None:
                answer["url"] = self.url
        return answer


class Signal:
    """A version counter that coroutines can wait on without polling."""

    def __init__(self) -> None:
        self.version = 0
        self._event: asyncio.Event | None = None

    def bump(self) -> int:
        """Advance the version and wake every waiter."""
        self.version += 1
        if self._event is not None:
            self._event.set()
            self._event = None
        return self.version

    async def wait(self, within: float) -> None:
        """Wait until the next :meth:`bump` or ``within`` seconds, whichever is first."""
        if within <= 0:
            return
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        try:
            async with asyncio.timeout(within):
                await event.wait()
        except TimeoutError:
            pass


class World:
    """Everything one sandbox knows; see the module docstring."""

    def __init__(
        self,
        limits: RateLimits,
        clock: Clock = time.time,
        bot_username: str = BOT_USERNAME,
        request_log_size: int = REQUEST_LOG_SIZE,
    ) -> None:
        self.clock = clock
        self.bot_username = bot_username
        self.limiter = RateLimiter(limits)
        self.faults = FaultPlan()
        self.requests: deque[dict[str, Any]] = deque(maxlen=request_log_size)
        self.changes = Signal()  # anything the playground shows changed
        self.new_updates = Signal()  # an update was queued (or a poll superseded)
        self.closed = False
        self._reset_state()

    def _reset_state(self) -> None:
        self.users: dict[int, User] = {}
        self.bots: dict[int, User] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackQuery] = {}
        self.commands: dict[tuple[str, str], dict[str, Any]] = {}
        self.updates: deque[tuple[int, dict[str, Any]]] = deque()
        self.allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self.webhook_url = ""
        # Telegram Business: connection id -> bot.sandbox.business.BusinessConnection.
        self.business_connections: dict[str, Any] = {}
        self.chat_versions: dict[int, int] = {}
        self.reset_version = self.changes.version
        self.poll_generation = 0
        self._user_ids = itertools.count(FIRST_USER_ID)
        self._group_ids = itertools.count(-FIRST_GROUP_ID)
        self._update_ids = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._callback_numbers = itertools.count(1)

    def reset(self) -> None:
        """Forget users, chats, messages, updates, files, faults and the request log."""
        for callback in self.callbacks.values():
            callback.answered_event.set()
        self._reset_state()
        self.faults.clear()
        self.requests.clear()
        self.limiter.limits = self.limiter.limits
        self.reset_version = self.changes.bump()
        self.new_updates.bump()

    def close(self) -> None:
        """Wake every long poll so the server can stop at once."""
        self.closed = True
        self.changes.bump()
        self.new_updates.bump()
        for callback in self.callbacks.values():
            callback.answered_event.set()

    def now(self) -> int:
        """Return the current Unix time, as message dates carry it."""
        return int(self.clock())

    def touch(self, chat_id: int) -> None:
        """Record that ``chat_id`` changed, for ``/sandbox/events``."""
        # Re-inserting keeps the dict ordered by last change, so changed_since() reads
        # only the chats that changed instead of all of them.
        self.chat_versions.pop(chat_id, None)
        self.chat_versions[chat_id] = self.changes.bump()

    def changed_since(self, version: int) -> list[int]:
        """Return the chats changed after ``version``, least recently changed first."""
        changed = []
        for chat_id in reversed(self.chat_versions):
            if self.chat_versions[chat_id] <= version:
                break
            changed.append(chat_id)
        changed.reverse()
        return changed

    # -- users and chats --------------------------------------------------------------

    def bot_user(self, bot_id: int) -> User:
        """Return the bot user for a token's numeric part."""
        bot = self.bots.get(bot_id)
        if bot is None:
            bot = User(
                id=bot_id, first_name=BOT_FIRST_NAME, username=self.bot_username, is_bot=True
            )
            self.bots[bot_id] = bot
        return bot

    def create_user(
        self,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        user_id: int | None = None,
        phone_number: str | None = None,
    ) -> User:
        """Create a user and their private chat with the bot."""
        if not first_name or not first_name.strip():
            raise ValueError("first_name is required")
        if user_id is None:
            user_id = next(self._user_ids)
            while user_id in self.users:
                user_id = next(self._user_ids)
        elif user_id <= 0 or user_id in self.users:
            raise ValueError(f"user id {user_id} is taken or not positive")
        user = User(
            id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            phone_number=phone_number,
        )
        self.users[user_id] = user
        self.chats[user_id] = Chat(id=user_id, type="private", member_ids=[user_id])
        self.touch(user_id)
        return user

    def create_group(
        self, title: str, member_ids: Iterable[int], *, is_forum: bool = False
    ) -> Chat:
        """Create a supergroup with the given users (the bot is always a member)."""
        if not title or not title.strip():
            raise ValueError("title is required")
        members = list(dict.fromkeys(member_ids))
        unknown = [member for member in members if member not in self.users]
        if unknown:
            raise ValueError(f"unknown users: {unknown}")
        chat_id = -next(self._group_ids)
        chat = Chat(
            id=chat_id, type="supergroup", title=title, member_ids=members, is_forum=is_forum
        )
        self.chats[chat_id] = chat
        self.touch(chat_id)
        return chat

    def chat_dict(self, chat: Chat) -> dict[str, Any]:
        """Return Telegram's ``Chat`` object."""
        if chat.type == "private":
            user = self.users[chat.id]
            result: dict[str, Any] = {
                "id": chat.id,
                "type": "private",
                "first_name": user.first_name,
            }
            if user.last_name:
                result["last_name"] = user.last_name
            if user.username:
                result["username"] = user.username
            return result
        result = {"id": chat.id, "type": chat.type, "title": chat.title}
        if chat.username:
            result["username"] = chat.username
        if chat.is_forum:
            result["is_forum"] = True
        return result

    def chat_full_info(self, chat: Chat) -> dict[str, Any]:
        """Return Telegram's ``ChatFullInfo`` for getChat."""
        return {
            **self.chat_dict(chat),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def resolve_chat(self, chat_id: int | str) -> Chat:
        """Return a chat by id or ``@username``; 400 "chat not found" otherwise."""
        if isinstance(chat_id, str):
            name = chat_id.removeprefix("@").lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name:
                    return chat
            raise bad_request("chat not found")
        found = self.chats.get(chat_id)
        if found is None:
            raise bad_request("chat not found")
        return found

    def sender(self, user_id: int) -> User:
        """Return a user or bot by id (for ``from`` fields)."""
        return self.users.get(user_id) or self.bots[user_id]

    # -- messages ---------------------------------------------------------------------

    def add_message(
        self,
        chat: Chat,
        from_id: int,
        content: dict[str, Any],
        *,
        reply_markup: dict[str, Any] | None = None,
        parse_mode: str | None = None,
        reply_to_message_id: int | None = None,
        forward_origin: dict[str, Any] | None = None,
        thread_id: int | None = None,
    ) -> StoredMessage:
        """Store a new message in ``chat`` and return it (no update is queued here).

        ``thread_id`` puts it in that forum topic (its id once ``chat.topics`` has it).
        """
        reply_to = None
        reply_root = None
        if reply_to_message_id is not None:
            replied = chat.messages.get(reply_to_message_id)
            if replied is None:
                raise bad_request("message to be replied not found")
            reply_to = self.message_dict(replied, with_reply=False)
            if chat.is_group and thread_id is None:
                reply_root = replied.reply_root or replied.message_id
        chat.last_message_id += 1
        message = StoredMessage(
            message_id=chat.last_message_id,
            chat_id=chat.id,
            from_id=from_id,
            date=self.now(),
            content=content,
            reply_markup=reply_markup,
            parse_mode=parse_mode,
            reply_to=reply_to,
            forward_origin=forward_origin,
            thread_id=thread_id,
            reply_root=reply_root,
        )
        chat.messages[message.message_id] = message
        topic = chat.topics.get(thread_id) if thread_id is not None else None
        if topic is not None:
            topic.last_message_id = message.message_id
        self.touch(chat.id)
        return message

    def find_message(self, chat: Chat, message_id: int, missing: str) -> StoredMessage:
        """Return a message of ``chat`` or raise 400 with the ``missing`` reason."""
        message = chat.messages.get(message_id)
        if message is None:
            raise bad_request(missing)
        return message

    def delete_message(self, chat: Chat, message_id: int) -> None:
        """Delete a message; 400 "message to delete not found" if it is not there."""
        if chat.messages.pop(message_id, None) is None:
            raise bad_request("message to delete not found")
        self.touch(chat.id)

    def message_dict(self, message: StoredMessage, with_reply: bool = True) -> dict[str, Any]:
        """Return Telegram's ``Message`` object for a stored message."""
        chat = self.chats[message.chat_id]
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self.sender(message.from_id).as_dict(),
            "chat": self.chat_dict(chat),
            "date": message.date,
        }
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.forward_origin is not None:
            result["forward_origin"] = message.forward_origin
        if message.thread_id is not None and chat.is_forum:
            # As on Telegram, a topic is the thread of its forum_topic_created message:
            # every other message in it replies to that one unless it replies to another.
            result["message_thread_id"] = message.thread_id
            result["is_topic_message"] = True
            root = chat.messages.get(message.thread_id)
            if with_reply and message.reply_to is None and root and root is not message:
                result["reply_to_message"] = self.message_dict(root, with_reply=False)
        elif message.reply_root is not None:
            # Telegram's other thread: a reply chain in a supergroup outside the topics has
            # the chain's first message as message_thread_id, without is_topic_message.
            result["message_thread_id"] = message.reply_root
        if with_reply and message.reply_to is not None:
            result["reply_to_message"] = message.reply_to
        result.update(message.content)
        markup = message.reply_markup
        if markup is not None and "inline_keyboard" in markup:
            result["reply_markup"] = markup
        return result

    def transcript(
        self, chat: Chat, thread: int | Literal["all", "general"] = "all"
    ) -> list[dict[str, Any]]:
        """Return the chat as its users see it: oldest first, edits applied.

        A reply keyboard shows on the message that sent it, until a later bot message
        removes it with ``ReplyKeyboardRemove``. ``thread`` keeps one forum topic's
        messages (``"general"``: those outside every topic).
        """
        entries: list[dict[str, Any]] = []
        keyboard_holders: list[dict[str, Any]] = []
        for message in chat.messages.values():
            if thread != "all" and message.thread_id != (None if thread == "general" else thread):
                continue
            sender = self.sender(message.from_id)
            entry: dict[str, Any] = {
                "message_id": message.message_id,
                "from": {"id": sender.id, "is_bot": sender.is_bot, "first_name": sender.first_name},
                "date": message.date,
            }
            if message.edit_date is not None:
                entry["edit_date"] = message.edit_date
            for key in _TRANSCRIPT_CONTENT:
                if key in message.content:
                    entry[key] = message.content[key]
            if message.parse_mode:
                entry["parse_mode"] = message.parse_mode
            if message.reply_to is not None:
                entry["reply_to_message_id"] = message.reply_to["message_id"]
            if message.forward_origin is not None:
                entry["forward_origin"] = message.forward_origin
            if message.thread_id is not None and chat.is_forum:
                entry["message_thread_id"] = message.thread_id
                entry["is_topic_message"] = True
            if message.reactions:
                entry["reactions"] = message.reactions
            markup = message.reply_markup
            if markup is not None:
                if "inline_keyboard" in markup:
                    entry["reply_markup"] = markup
                elif "keyboard" in markup:
                    entry["reply_keyboard"] = markup
                    keyboard_holders.append(entry)
                elif markup.get("remove_keyboard"):
                    for holder in keyboard_holders:
                        holder.pop("reply_keyboard", None)
                    keyboard_holders.clear()
                elif markup.get("force_reply"):
                    # Telegram's apps open a reply to this message (the playground too).
                    entry["force_reply"] = True
            entries.append(entry)
        return entries

    # -- updates ----------------------------------------------------------------------

    def queue_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update of ``kind`` for getUpdates; return its id (None if filtered)."""
        if kind not in self.allowed_updates:
            return None
        update_id = next(self._update_ids)
        self.updates.append((update_id, {"update_id": update_id, kind: payload}))
        self.new_updates.bump()
        return update_id

    def confirm_updates(self, offset: int) -> None:
        """Drop updates below ``offset`` (or all but the last ``-offset`` if negative)."""
        updates = self.updates
        if offset > 0:
            while updates and updates[0][0] < offset:
                updates.popleft()
        elif offset < 0:
            while len(updates) > -offset:
                updates.popleft()

    def confirm_update(self, update_id: int) -> None:
        """Drop the update ``update_id`` (delivered by webhook), wherever it is queued."""
        for index, (queued_id, _update) in enumerate(self.updates):
            if queued_id == update_id:
                del self.updates[index]
                return

    def pending_updates(self, limit: int) -> list[dict[str, Any]]:
        """Return up to ``limit`` queued updates, oldest first, without confirming them."""
        return [update for _, update in itertools.islice(self.updates, limit)]

    # -- files ------------------------------------------------------------------------

    def store_file(
        self, kind: FileKind, data: bytes, meta: dict[str, Any], extension: str
    ) -> StoredFile:
        """Keep uploaded bytes; ``meta`` gets ``file_id``, ``file_unique_id``, ``file_size``."""
        number = next(self._file_numbers)
        file_id = f"sbx{kind[:3]}{number}-{secrets.token_hex(6)}"
        unique = f"sbxu{number}"
        folder = {
            "photo": "photos", "document": "documents", "sticker": "stickers",
            "video": "videos", "animation": "animations", "audio": "music",
            "video_note": "video_notes",
        }.get(kind, "voice")  # fmt: skip
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique,
            kind=kind,
            file_path=f"{folder}/file_{number}{extension}",
            data=data,
            meta={"file_id": file_id, "file_unique_id": unique, **meta, "file_size": len(data)},
        )
        self.files[file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def photo_sizes(self, stored: StoredFile) -> list[dict[str, Any]]:
        """Return the ``PhotoSize`` list a photo message carries."""
        return [dict(stored.meta)]

    # -- callbacks --------------------------------------------------------------------

    def new_callback(
        self,
        chat: Chat,
        from_id: int,
        message: StoredMessage,
        data: str,
        message_payload: dict[str, Any] | None = None,
    ) -> CallbackQuery:
        """Record a button press and queue its callback_query update (``message_payload``:
        the pressed message as the update shows it, if not :meth:`message_dict`'s)."""
        number = next(self._callback_numbers)
        callback = CallbackQuery(
            id=f"{number}{secrets.randbelow(10**9):09d}",
            from_id=from_id,
            chat_id=chat.id,
            message_id=message.message_id,
            data=data,
        )
        self.callbacks[callback.id] = callback
        self.queue_update(
            "callback_query",
            {
                "id": callback.id,
                "from": self.users[from_id].as_dict(),
                "message": message_payload or self.message_dict(message),
                "chat_instance": str(abs(chat.id) * 7919 % 10**12),
                "data": data,
            },
        )
        return callback

    # -- commands ---------------------------------------------------------------------

    def commands_key(
        self, scope: dict[str, Any] | None, language_code: str | None
    ) -> tuple[str, str]:
        """Key setMyCommands storage by scope and language, like Telegram.

        A scope's chat must exist (by id or ``@username``: both name one menu), the user
        of a ``chat_member`` scope must be in it, and ``language_code`` is empty or a
        two-letter ISO 639-1 code; 400 otherwise, as Telegram answers.
        """
        scope = scope or {"type": "default"}
        if language_code and not LANGUAGE_CODE.fullmatch(language_code):
            raise bad_request("invalid language code specified")
        parts = [str(scope.get("type"))]
        if "chat_id" in scope:
            chat = self.resolve_chat(scope["chat_id"])
            parts.append(str(chat.id))
            if "user_id" in scope:
                if scope["user_id"] not in chat.member_ids:
                    raise bad_request("user not found")
                parts.append(str(scope["user_id"]))
        return ":".join(parts), language_code or ""

    # -- request log ------------------------------------------------------------------

    def log_request(
        self, method: str, chat_id: int | str | None, error: ApiError | None, started: float
    ) -> None:
        """Append one Bot API call to the bounded request log."""
        entry: dict[str, Any] = {
            "method": method,
            "chat_id": chat_id,
            "ok": error is None,
            "error_code": None if error is None else error.error_code,
            "time": started,
        }
        if error is not None:
            entry["description"] = error.description
        self.requests.append(entry)


_TRANSCRIPT_CONTENT = (
    "text",
    "caption",
    "photo",
    "document",
    "contact",
    "sticker",
    "voice",
    "video",
    "animation",
    "audio",
    "video_note",
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
)
