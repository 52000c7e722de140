"""The control API under ``/sandbox/``: what tests and the playground use to act as users.

JSON in, JSON out. Errors answer ``{"error": "..."}`` with status 400 (bad input) or 404
(unknown id). See docs/sandbox.md for the endpoint table.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiohttp import web

from bot.sandbox import forum
from bot.sandbox.limits import RateLimits
from bot.sandbox.media import image_size, make_png, sample_voice
from bot.sandbox.spec import MAX_TEXT_LENGTH, ApiError
from bot.sandbox.state import Chat, World

MAX_WAIT = 60.0
SAMPLE_STICKER_EMOJI = "😀"
SAMPLE_MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64  # starts like an MP4
_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,64})?(?![\w/])")
MEDIA_KINDS = ("text", "photo", "document", "contact", "sticker", "voice", "video", "video_note")
_CAPTIONED = frozenset({"photo", "document", "voice", "video"})
KINDS_WORDS = "text, photo, document, contact, sticker, voice, video, video_note"

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlError(Exception):
    """A control API request that cannot be carried out; answered with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Return ``payload`` as a UTF-8 JSON response (Chinese stays readable)."""
    try:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:
        # A lone surrogate (a user may send one) has no UTF-8 form; Telegram sends it as a
        # JSON escape, and so does this.
        body = json.dumps(payload, separators=(",", ":")).encode()
    return web.Response(
        body=body,
        status=status,
        content_type="application/json",
        headers=headers,
    )


def guarded(handler: RouteHandler) -> RouteHandler:
    """``handler`` answering control errors, API errors and bad values as JSON errors."""

    async def checked(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ControlError as exc:
            return json_response({"error": exc.message}, status=exc.status)
        except ApiError as exc:
            return json_response({"error": exc.description}, status=exc.error_code)
        except (ValueError, TypeError, KeyError) as exc:
            return json_response({"error": str(exc)}, status=400)

    return checked


class ControlApi:
    """Route handlers of the control API, bound to one :class:`World`."""

    def __init__(self, world: World) -> None:
        self.world = world

    def add_routes(self, app: web.Application) -> None:
        """Register every ``/sandbox/`` route on ``app``."""
        routes = [
            ("POST", "/sandbox/users", self.create_user),
            ("GET", "/sandbox/users", self.list_users),
            ("PATCH", "/sandbox/users/{user_id}", self.update_user),
            ("POST", "/sandbox/groups", self.create_group),
            ("POST", "/sandbox/messages", self.send_message),
            ("POST", "/sandbox/callbacks", self.press_button),
            ("GET", "/sandbox/callbacks/{callback_query_id}", self.callback_answer),
            ("GET", "/sandbox/chats", self.list_chats),
            ("PATCH", "/sandbox/chats/{chat_id}", self.update_chat),
            ("GET", "/sandbox/chats/{chat_id}/transcript", self.transcript),
            ("GET", "/sandbox/chats/{chat_id}/topics", self.list_topics),
            ("PATCH", "/sandbox/chats/{chat_id}/messages/{message_id}", self.edit_message),
            ("GET", "/sandbox/commands", self.list_commands),
            ("GET", "/sandbox/requests", self.list_requests),
            ("DELETE", "/sandbox/requests", self.clear_requests),
            ("GET", "/sandbox/faults", self.list_faults),
            ("POST", "/sandbox/faults", self.add_fault),
            ("DELETE", "/sandbox/faults", self.clear_faults),
            ("POST", "/sandbox/updates", self.add_raw_update),
            ("GET", "/sandbox/limits", self.get_limits),
            ("POST", "/sandbox/limits", self.set_limits),
            ("GET", "/sandbox/events", self.events),
            ("GET", "/sandbox/files/{file_id}", self.file_content),
            ("POST", "/sandbox/reset", self.reset),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, guarded(handler))

    # -- users and chats --------------------------------------------------------------

    async def create_user(self, request: web.Request) -> web.Response:
        """``POST /sandbox/users``: a user and their private chat."""
        body = await read_body(request)
        user = self.world.create_user(
            first_name=_required_str(body, "first_name"),
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=body.get("language_code"),
            user_id=optional_int(body, "id"),
            phone_number=body.get("phone_number"),
        )
        return json_response(user.control_dict())

    async def list_users(self, request: web.Request) -> web.Response:
        """``GET /sandbox/users``: every user, oldest first."""
        return json_response([user.control_dict() for user in self.world.users.values()])

    async def update_user(self, request: web.Request) -> web.Response:
        """``PATCH /sandbox/users/{id}``: change a user's name, language or phone number."""
        user = self.world.users.get(path_int(request, "user_id"))
        if user is None:
            raise ControlError("unknown user", 404)
        body = await read_body(request)
        for key in ("first_name", "last_name", "username", "language_code", "phone_number"):
            if key in body:
                setattr(user, key, body[key])
        self.world.touch(user.id)
        return json_response(user.control_dict())

    async def create_group(self, request: web.Request) -> web.Response:
        """``POST /sandbox/groups``: a supergroup with the given members."""
        body = await read_body(request)
        members = body.get("member_ids", [])
        if not isinstance(members, list) or not all(isinstance(m, int) for m in members):
            raise ControlError("member_ids must be a list of user ids")
        is_forum = _optional_bool(body, "is_forum") or False
        rights = forum.admin_rights(body.get("bot_rights"))
        chat = self.world.create_group(_required_str(body, "title"), members, is_forum=is_forum)
        chat.bot_rights = rights
        return json_response(self._chat_summary(chat))

    async def update_chat(self, request: web.Request) -> web.Response:
        """``PATCH /sandbox/chats/{id}``: switch a group between forum and plain, set the
        bot's administrator rights there."""
        chat = self._chat(path_int(request, "chat_id"))
        body = await read_body(request)
        unknown = sorted(set(body) - {"is_forum", "bot_rights"})
        if unknown:
            raise ControlError(f"unknown chat fields: {unknown}")
        if not chat.is_group:
            raise ControlError("only groups can be changed")
        is_forum = _optional_bool(body, "is_forum")
        rights = forum.admin_rights(body.get("bot_rights")) if "bot_rights" in body else None
        if is_forum is not None:
            chat.is_forum = is_forum
        if "bot_rights" in body:
            chat.bot_rights = rights
        self.world.touch(chat.id)
        return json_response(self._chat_summary(chat))

    async def list_topics(self, request: web.Request) -> web.Response:
        """``GET /sandbox/chats/{id}/topics``: General first, then topics, latest first."""
        chat = self._chat(path_int(request, "chat_id"))
        if not chat.is_forum:
            raise ControlError(f"chat {chat.id} is not a forum")
        return json_response(forum.topics_view(self.world, chat))

    async def list_chats(self, request: web.Request) -> web.Response:
        """``GET /sandbox/chats``: every chat with its members."""
        return json_response([self._chat_summary(chat) for chat in self.world.chats.values()])

    def _chat_summary(self, chat: Chat) -> dict[str, Any]:
        return {
            **self.world.chat_dict(chat),
            "members": [self.world.users[m].control_dict() for m in chat.member_ids],
            "message_count": len(chat.messages),
            "is_forum": chat.is_forum,
            "bot_rights": chat.bot_rights,
        }

    def _chat(self, chat_id: Any) -> Chat:
        if not isinstance(chat_id, int):
            raise ControlError("chat_id must be an integer")
        chat = self.world.chats.get(chat_id)
        if chat is None:
            raise ControlError(f"chat {chat_id} not found", 404)
        return chat

    def _member(self, chat: Chat, from_id: Any) -> int:
        if not isinstance(from_id, int) or from_id not in self.world.users:
            raise ControlError(f"unknown user {from_id!r}")
        if from_id not in chat.member_ids:
            raise ControlError(f"user {from_id} is not a member of chat {chat.id}")
        return from_id

    # -- what users do ----------------------------------------------------------------

    async def send_message(self, request: web.Request) -> web.Response:
        """``POST /sandbox/messages``: a user writes; the bot gets a ``message`` update."""
        body = await read_body(request)
        chat = self._chat(body.get("chat_id"))
        from_id = self._member(chat, body.get("from_id"))
        kinds = [kind for kind in MEDIA_KINDS if body.get(kind) not in (None, False, "")]
        if len(kinds) != 1:
            raise ControlError(f"give exactly one of {KINDS_WORDS} (got {kinds or 'none'})")
        content = message_content(self.world, kinds[0], body, from_id)
        reply_to = optional_int(body, "reply_to_message_id")
        if reply_to is not None and reply_to not in chat.messages:
            raise ControlError(f"message {reply_to} not found in chat {chat.id}")
        thread = optional_int(body, "message_thread_id")
        if thread is not None and not chat.is_forum:
            raise ControlError(f"chat {chat.id} is not a forum")
        if thread is not None and thread not in chat.topics:
            raise ControlError(f"topic {thread} not found in chat {chat.id}", 404)
        replied = chat.messages.get(reply_to) if reply_to is not None else None
        thread = forum.thread_for_send(chat, thread, replied, may_write_when_closed=False)
        message = self.world.add_message(
            chat, from_id, content, reply_to_message_id=reply_to, thread_id=thread
        )
        payload = self.world.message_dict(message)
        self.world.queue_update("message", payload)
        return json_response(payload)

    async def edit_message(self, request: web.Request) -> web.Response:
        """``PATCH /sandbox/chats/{id}/messages/{message_id}``: its author edits a message;
        the bot gets an ``edited_message`` update."""
        chat = self._chat(path_int(request, "chat_id"))
        message_id = path_int(request, "message_id")
        message = chat.messages.get(message_id)
        if message is None:
            raise ControlError(f"message {message_id} not found in chat {chat.id}", 404)
        if message.from_id not in self.world.users:
            raise ControlError("only users' messages can be edited here (the bot edits its own)")
        body = await read_body(request)
        fields = [key for key in ("text", "caption") if key in body]
        if len(fields) != 1:
            raise ControlError("give exactly one of text, caption")
        key = fields[0]
        value = body[key]
        if not isinstance(value, str) or not value.strip():
            raise ControlError(f"{key} must be a non-empty string")
        if key == "text" and "text" not in message.content:
            raise ControlError("the message has no text (edit its caption)")
        if key == "caption" and not _CAPTIONED & message.content.keys():
            raise ControlError("only a photo, document, voice or video message has a caption")
        if len(value) > MAX_TEXT_LENGTH:
            raise ControlError(f"{key} is longer than {MAX_TEXT_LENGTH} characters")
        if message.content.get(key) == value:
            raise ControlError("message is not modified")
        entities_key = "entities" if key == "text" else "caption_entities"
        content = {k: v for k, v in message.content.items() if k != entities_key}
        content[key] = value
        entities = command_entities(value)
        if entities:
            content[entities_key] = entities
        message.content = content
        message.edit_date = self.world.now()
        self.world.touch(chat.id)
        payload = self.world.message_dict(message)
        self.world.queue_update("edited_message", payload)
        return json_response(payload)

    async def press_button(self, request: web.Request) -> web.Response:
        """``POST /sandbox/callbacks``: a user presses an inline button."""
        body = await read_body(request)
        chat = self._chat(body.get("chat_id"))
        from_id = self._member(chat, body.get("from_id"))
        message_id = optional_int(body, "message_id")
        message = chat.messages.get(message_id) if message_id is not None else None
        if message is None:
            raise ControlError(f"message {message_id} not found in chat {chat.id}")
        data = body.get("data")
        if not isinstance(data, str) or not data:
            raise ControlError("data must be a non-empty string")
        callback = self.world.new_callback(chat, from_id, message, data)
        return json_response({"callback_query_id": callback.id})

    async def callback_answer(self, request: web.Request) -> web.Response:
        """``GET /sandbox/callbacks/{id}[?timeout=S]``: the bot's answer, waiting up to S s."""
        callback = self.world.callbacks.get(request.match_info["callback_query_id"])
        if callback is None:
            raise ControlError("unknown callback_query_id", 404)
        timeout = _timeout(request)
        if not callback.answered and timeout > 0:
            try:
                await asyncio.wait_for(callback.answered_event.wait(), timeout)
            except TimeoutError:
                pass
        return json_response(callback.answer_dict())

    # -- what tests read --------------------------------------------------------------

    async def transcript(self, request: web.Request) -> web.Response:
        """``GET /sandbox/chats/{id}/transcript[?message_thread_id=N|general]``: the chat as
        its users see it, or one forum topic of it."""
        chat = self._chat(path_int(request, "chat_id"))
        thread: int | Literal["all", "general"] = "all"
        wanted = request.query.get("message_thread_id")
        if wanted is not None:
            if not chat.is_forum:
                raise ControlError(f"chat {chat.id} is not a forum")
            if wanted == "general":
                thread = "general"
            else:
                try:
                    thread = int(wanted)
                except ValueError:
                    raise ControlError("message_thread_id must be an integer or general") from None
                if thread not in chat.topics:
                    raise ControlError(f"topic {thread} not found in chat {chat.id}", 404)
        return json_response(
            self.world.transcript(chat, thread),
            headers={"X-Sandbox-Version": str(self.world.changes.version)},
        )

    async def list_commands(self, request: web.Request) -> web.Response:
        """``GET /sandbox/commands``: what setMyCommands stored, per scope and language."""
        return json_response(list(self.world.commands.values()))

    async def list_requests(self, request: web.Request) -> web.Response:
        """``GET /sandbox/requests``: the log of Bot API calls, oldest first."""
        return json_response(list(self.world.requests))

    async def clear_requests(self, request: web.Request) -> web.Response:
        """``DELETE /sandbox/requests``: empty the log."""
        self.world.requests.clear()
        return json_response({"ok": True})

    async def file_content(self, request: web.Request) -> web.Response:
        """``GET /sandbox/files/{file_id}``: a file's bytes (the playground shows photos)."""
        stored = self.world.files.get(request.match_info["file_id"])
        if stored is None:
            raise ControlError("unknown file_id", 404)
        content_type = (
            "image/png" if stored.data[:4] == b"\x89PNG" else
            "image/jpeg" if stored.data[:2] == b"\xff\xd8" else
            stored.meta.get("mime_type", "application/octet-stream")
        )  # fmt: skip
        return web.Response(body=stored.data, content_type=content_type)

    # -- faults and limits ------------------------------------------------------------

    async def list_faults(self, request: web.Request) -> web.Response:
        """``GET /sandbox/faults``: blocked users and pending faults."""
        plan = self.world.faults
        return json_response(
            {
                "blocked": sorted(plan.blocked),
                "faults": [
                    {
                        "kind": f.kind,
                        "remaining": f.remaining,
                        "method": f.method,
                        "chat_id": f.chat_id,
                        "status": f.status,
                        "seconds": f.seconds,
                    }
                    for f in plan.faults
                ],
            }
        )

    async def add_fault(self, request: web.Request) -> web.Response:
        """``POST /sandbox/faults``: one fault object or a list of them."""
        body = await read_body(request, allow_list=True)
        for spec in body if isinstance(body, list) else [body]:
            if not isinstance(spec, dict):
                raise ControlError("a fault is a JSON object")
            self.world.faults.add(spec)
        return json_response({"ok": True})

    async def clear_faults(self, request: web.Request) -> web.Response:
        """``DELETE /sandbox/faults``: no more faults, nobody blocked."""
        self.world.faults.clear()
        return json_response({"ok": True})

    async def add_raw_update(self, request: web.Request) -> web.Response:
        """``POST /sandbox/updates``: queue an update exactly as given, unchecked.

        A fault of its own kind: an update the bot's library may not be able to read
        (a field Telegram added or dropped), as Telegram may send one.
        """
        body = await read_body(request)
        kind, payload = body.get("kind"), body.get("payload")
        if not isinstance(kind, str) or not isinstance(payload, dict):
            raise ControlError("give kind (a string) and payload (an object)")
        return json_response({"update_id": self.world.queue_update(kind, payload)})

    async def get_limits(self, request: web.Request) -> web.Response:
        """``GET /sandbox/limits``: the rate limits in force."""
        return json_response(self.world.limiter.limits.as_dict())

    async def set_limits(self, request: web.Request) -> web.Response:
        """``POST /sandbox/limits``: change some limits (``{"preset": "telegram"|"off"}`` too)."""
        body = await read_body(request)
        preset = body.pop("preset", None)
        base = self.world.limiter.limits
        if preset == "telegram":
            base = RateLimits.telegram()
        elif preset == "off":
            base = RateLimits.off()
        elif preset is not None:
            raise ControlError("preset must be 'telegram' or 'off'")
        for key, value in body.items():
            if key == "enabled":
                if not isinstance(value, bool):
                    raise ControlError("enabled must be true or false")
            elif value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
            ):
                raise ControlError(f"{key} must be a positive number or null")
        self.world.limiter.limits = base.updated(body)
        return json_response(self.world.limiter.limits.as_dict())

    # -- long poll and reset ----------------------------------------------------------

    async def events(self, request: web.Request) -> web.Response:
        """``GET /sandbox/events?after=N&timeout=S[&chat_id=C]``: wait for a change after N."""
        world = self.world
        after = int(request.query.get("after", "-1"))
        only = request.query.get("chat_id")
        only_chat = int(only) if only else None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _timeout(request)
        while True:
            version = world.changes.version
            reset = world.reset_version > after
            if only_chat is None:
                changed = world.changed_since(after)
            else:
                changed = [only_chat] if world.chat_versions.get(only_chat, -1) > after else []
            anything = changed or reset or (only_chat is None and version > after)
            remaining = deadline - loop.time()
            if anything or remaining <= 0 or world.closed:
                return json_response({"version": version, "chats_changed": changed, "reset": reset})
            await world.changes.wait(remaining)

    async def reset(self, request: web.Request) -> web.Response:
        """``POST /sandbox/reset``: forget everything but the rate limits."""
        self.world.reset()
        return json_response({"ok": True, "version": self.world.changes.version})


def command_entities(text: str) -> list[dict[str, Any]]:
    """Return ``bot_command`` entities for every ``/command[@bot]`` in ``text``.

    Offsets and lengths count UTF-16 code units, as Telegram's do.
    """
    if "/" not in text:
        return []
    entities = []
    for match in _COMMAND.finditer(text):
        offset = len(text[: match.start()].encode("utf-16-le")) // 2
        entities.append({"type": "bot_command", "offset": offset, "length": len(match.group())})
    return entities


async def read_body(request: web.Request, allow_list: bool = False) -> Any:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ControlError("the body must be JSON") from None
    if isinstance(body, dict) or (allow_list and isinstance(body, list)):
        return body
    raise ControlError("the body must be a JSON object")


def _required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ControlError(f"{key} is required")
    return value


def optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(f"{key} must be an integer")
    return value


def _optional_bool(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise ControlError(f"{key} must be true or false")
    return value


def path_int(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ControlError(f"{name} must be an integer") from None


def _timeout(request: web.Request) -> float:
    try:
        return min(max(float(request.query.get("timeout", "0")), 0.0), MAX_WAIT)
    except ValueError:
        raise ControlError("timeout must be a number") from None


def _decode_b64(value: Any) -> bytes | None:
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ControlError("data_b64 is not valid base64") from None


def message_content(world: World, kind: str, body: dict[str, Any], from_id: int) -> dict[str, Any]:
    """What a user sends as ``kind`` (one of :data:`MEDIA_KINDS`), as a message's content;
    files are stored in ``world``. Raises ControlError for a bad value."""
    value = body[kind]
    content: dict[str, Any]
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise ControlError("text must be a non-empty string")
        if len(value) > MAX_TEXT_LENGTH:
            raise ControlError(f"text is longer than {MAX_TEXT_LENGTH} characters")
        content = {"text": value}
        entities = command_entities(value)
        if entities:
            content["entities"] = entities
        return content
    if kind == "contact":
        if not isinstance(value, dict) or not value.get("phone_number"):
            raise ControlError("contact needs a phone_number")
        contact = {
            "phone_number": str(value["phone_number"]),
            "first_name": value.get("first_name") or world.users[from_id].first_name,
        }
        for key in ("last_name", "user_id", "vcard"):
            if value.get(key) is not None:
                contact[key] = value[key]
        return {"contact": contact}
    spec = value if isinstance(value, dict) else {}
    if kind == "photo":
        data = _decode_b64(spec.get("data_b64")) or make_png(160, 120)
        width, height = image_size(data)
        stored = world.store_file("photo", data, {"width": width, "height": height}, ".jpg")
        content = {"photo": world.photo_sizes(stored)}
    elif kind == "document":
        data = _decode_b64(spec.get("data_b64")) or b"sandbox document\n"
        meta = {
            "file_name": spec.get("file_name") or "document.txt",
            "mime_type": spec.get("mime_type") or "application/octet-stream",
        }
        extension = "." + meta["file_name"].rsplit(".", 1)[-1] if "." in meta["file_name"] else ""
        stored = world.store_file("document", data, meta, extension)
        content = {"document": dict(stored.meta)}
    elif kind == "sticker":
        data = make_png(128, 128, (255, 200, 0))
        meta = {
            "width": 128,
            "height": 128,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": spec.get("emoji") or SAMPLE_STICKER_EMOJI,
        }
        stored = world.store_file("sticker", data, meta, ".webp")
        return {"sticker": dict(stored.meta)}
    elif kind == "video":
        data = _decode_b64(spec.get("data_b64")) or SAMPLE_MP4
        meta = {"width": 320, "height": 240, "duration": int(spec.get("duration", 1))}
        stored = world.store_file("video", data, {**meta, "mime_type": "video/mp4"}, ".mp4")
        content = {"video": dict(stored.meta)}
    elif kind == "video_note":  # a round video message: no caption
        data = _decode_b64(spec.get("data_b64")) or SAMPLE_MP4
        meta = {"length": 240, "duration": int(spec.get("duration", 1))}
        return {"video_note": dict(world.store_file("video_note", data, meta, ".mp4").meta)}
    else:
        duration = int(spec.get("duration", 1))
        data = _decode_b64(spec.get("data_b64")) or sample_voice(duration)
        meta = {"duration": duration, "mime_type": "audio/ogg"}
        stored = world.store_file("voice", data, meta, ".oga")
        content = {"voice": dict(stored.meta)}
    caption = body.get("caption")
    if caption:
        content["caption"] = str(caption)
        entities = command_entities(content["caption"])
        if entities:
            content["caption_entities"] = entities
    return content
