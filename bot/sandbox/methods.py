"""The Bot API methods the sandbox implements, on top of :class:`~bot.sandbox.state.World`.

:class:`BotApi` receives calls already decoded by :class:`~bot.sandbox.spec.BotApiSpec`
and answers with the ``result`` Telegram would send, or raises
:class:`~bot.sandbox.spec.ApiError`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from bot.sandbox import forum
from bot.sandbox.business import Business
from bot.sandbox.media import image_size
from bot.sandbox.spec import ApiError, BotApiSpec, UploadedFile, bad_request
from bot.sandbox.state import DEFAULT_UPDATE_TYPES, Chat, FileKind, StoredFile, StoredMessage, World
from bot.sandbox.webhook import WebhookDelivery, WebhookSettings

MAX_POLL_TIMEOUT = 60.0
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CANT_DELETE = "message can't be deleted"
# deleteMessage: "A message can only be deleted if it was sent less than 48 hours ago."
DELETE_WINDOW = 48 * 3600
MAX_DELETE = 100  # deleteMessages: "1-100 identifiers"
# Messages whose caption editMessageCaption edits.
CAPTIONED = frozenset({"photo", "document", "video", "audio", "voice", "animation"})
# What an uploaded file of each kind is said to be: the fields its object requires.
UPLOADED_META: dict[str, dict[str, Any]] = {
    "voice": {"duration": 1},
    "audio": {"duration": 1},
    "video": {"width": 320, "height": 240, "duration": 1},
    "animation": {"width": 320, "height": 240, "duration": 1},
    "video_note": {"length": 240, "duration": 1},
    "sticker": {
        "width": 512, "height": 512, "is_animated": False, "is_video": False,
        "type": "regular",
    },
}  # fmt: skip
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)

Handler = Callable[[int, dict[str, Any]], Awaitable[Any]]


class BotApi:
    """Dispatch decoded Bot API calls to their implementations."""

    def __init__(self, world: World, spec: BotApiSpec) -> None:
        self.world = world
        self.spec = spec
        self.business = Business(world)
        self._webhook: WebhookDelivery | None = None
        self._handlers: dict[str, Handler] = {
            name: getattr(self, "_" + name) for name in spec.methods
        }

    async def call(self, bot_id: int, method: str, params: dict[str, Any]) -> Any:
        """Run ``method`` (canonical name, decoded ``params``) for the bot ``bot_id``."""
        self.world.bot_user(bot_id)  # the token's bot exists from its first call on
        return await self._handlers[method](bot_id, params)

    # -- shared checks ----------------------------------------------------------------

    def _target(self, params: dict[str, Any]) -> Chat:
        """Resolve chat_id to a chat the bot may write to (403 if the user blocked it);
        with business_connection_id, the business account's chat (see bot.sandbox.business)."""
        if "business_connection_id" in params:
            return self.business.chat_for_reply(params["business_connection_id"], params["chat_id"])
        chat = self.world.resolve_chat(params["chat_id"])
        if chat.type == "private" and chat.id in self.world.faults.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _throttle(self, chat: Chat) -> None:
        retry_after = self.world.limiter.acquire(chat.id, chat.is_group)
        if retry_after is not None:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    def _reply_target(self, chat: Chat, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters")
        if not reply:
            return None
        message_id = reply.get("message_id")
        if reply.get("chat_id") not in (None, chat.id):
            raise bad_request("replies to messages in other chats are not supported by the sandbox")
        if message_id in chat.messages:
            return int(message_id)
        if reply.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")

    def _send(
        self,
        bot_id: int,
        chat: Chat,
        content: dict[str, Any],
        params: dict[str, Any],
        **extra: Any,
    ) -> StoredMessage:
        reply_to = self._reply_target(chat, params)
        thread = self._thread(chat, params, reply_to)
        self._throttle(chat)
        message = self.world.add_message(
            chat,
            bot_id,
            content,
            reply_markup=params.get("reply_markup"),
            parse_mode=params.get("parse_mode"),
            reply_to_message_id=reply_to,
            thread_id=thread,
            **extra,
        )
        message.business_connection_id = params.get("business_connection_id")
        return message

    def _message_dict(self, message: StoredMessage) -> dict[str, Any]:
        if message.business_connection_id is not None:
            return self.business.message_dict(message)
        return self.world.message_dict(message)

    def _thread(self, chat: Chat, params: dict[str, Any], reply_to: int | None) -> int | None:
        """The forum topic a send goes to (the bot writes in closed ones with the right)."""
        replied = chat.messages.get(reply_to) if reply_to is not None else None
        return forum.thread_for_send(
            chat, params.get("message_thread_id"), replied, forum.can_manage_topics(chat)
        )

    def _chat_of(self, message: StoredMessage) -> Chat:
        if message.business_connection_id is not None:
            return self.business.connections[message.business_connection_id].chats[message.chat_id]
        return self.world.chats[message.chat_id]

    def _own_message(self, bot_id: int, params: dict[str, Any], missing: str) -> StoredMessage:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by the sandbox")
        if "chat_id" not in params:
            raise bad_request("chat_id is empty")
        if "message_id" not in params:
            raise bad_request("message identifier is not specified")
        if "business_connection_id" in params:
            chat = self.business.chat_for_edit(params["business_connection_id"], params["chat_id"])
        else:
            chat = self._target(params)
        message = self.world.find_message(chat, params["message_id"], missing)
        if message.from_id != bot_id:
            raise bad_request("message can't be edited")
        return message

    def _media(self, value: UploadedFile | str, kind: FileKind) -> StoredFile:
        if isinstance(value, UploadedFile):
            return self._store_upload(value, kind)
        stored = self.world.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        return stored

    def _store_upload(self, upload: UploadedFile, kind: FileKind) -> StoredFile:
        extension = os.path.splitext(upload.filename)[1].lower()
        if kind == "photo":
            width, height = image_size(upload.data)
            return self.world.store_file(
                "photo", upload.data, {"width": width, "height": height}, extension or ".jpg"
            )
        meta: dict[str, Any] = dict(UPLOADED_META.get(kind, {}))
        if kind in ("document", "audio", "video", "animation"):
            meta["file_name"] = upload.filename or "file"
        if upload.content_type and kind != "sticker":
            meta["mime_type"] = upload.content_type
        return self.world.store_file(kind, upload.data, meta, extension)

    # -- getting updates --------------------------------------------------------------

    async def _getUpdates(self, bot_id: int, params: dict[str, Any]) -> Any:
        world = self.world
        if world.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset", 0)
        limit = min(max(params.get("limit", 100), 1), 100)
        timeout = min(max(float(params.get("timeout", 0)), 0.0), MAX_POLL_TIMEOUT)
        if offset:
            world.confirm_updates(offset)
        if "allowed_updates" in params:
            world.allowed_updates = frozenset(params["allowed_updates"]) or DEFAULT_UPDATE_TYPES
        # A newer getUpdates ends an older one that is still waiting, as on Telegram.
        world.poll_generation += 1
        generation = world.poll_generation
        world.new_updates.bump()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = world.pending_updates(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or world.closed:
                return batch
            await world.new_updates.wait(remaining)
            if world.poll_generation != generation:
                raise ApiError(409, POLL_CONFLICT)

    async def _setWebhook(self, bot_id: int, params: dict[str, Any]) -> Any:
        url = params["url"]
        if not url:
            return await self._deleteWebhook(bot_id, params)
        if urlsplit(url).scheme not in ("http", "https"):
            # Telegram wants https; the sandbox takes http too, for local servers.
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        max_connections = params.get("max_connections", 40)
        if not 1 <= max_connections <= 100:
            raise ApiError(400, "Bad Request: bad webhook: max_connections must be 1-100")
        if params.get("drop_pending_updates"):
            self.world.updates.clear()
        await self.stop_webhook()
        if "allowed_updates" in params:
            allowed = frozenset(params["allowed_updates"])
            self.world.allowed_updates = allowed or DEFAULT_UPDATE_TYPES
        settings = WebhookSettings(
            url=url,
            secret_token=params.get("secret_token"),
            max_connections=max_connections,
            allowed_updates=params.get("allowed_updates"),
        )
        self.world.webhook_url = url
        self._webhook = WebhookDelivery(self.world, settings)
        self._webhook.start()
        return True

    async def _deleteWebhook(self, bot_id: int, params: dict[str, Any]) -> Any:
        self.world.webhook_url = ""
        await self.stop_webhook()
        if params.get("drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def stop_webhook(self) -> None:
        """Stop delivering by webhook (requests on the wire are abandoned)."""
        if self._webhook is not None:
            webhook, self._webhook = self._webhook, None
            await webhook.stop()

    async def _getWebhookInfo(self, bot_id: int, params: dict[str, Any]) -> Any:
        info: dict[str, Any] = {
            "url": self.world.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if self._webhook is not None:
            settings = self._webhook.settings
            info["max_connections"] = settings.max_connections
            if settings.allowed_updates is not None:
                info["allowed_updates"] = settings.allowed_updates
            if settings.last_error_date is not None:
                info["last_error_date"] = settings.last_error_date
                info["last_error_message"] = settings.last_error_message
        return info

    # -- the bot itself ---------------------------------------------------------------

    async def _getMe(self, bot_id: int, params: dict[str, Any]) -> Any:
        return {
            **self.world.bot_user(bot_id).as_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _logOut(self, bot_id: int, params: dict[str, Any]) -> Any:
        return True

    async def _close(self, bot_id: int, params: dict[str, Any]) -> Any:
        return True

    async def _setMyCommands(self, bot_id: int, params: dict[str, Any]) -> Any:
        key = self.world.commands_key(params.get("scope"), params.get("language_code"))
        self.world.commands[key] = {
            "scope": params.get("scope") or {"type": "default"},
            "language_code": params.get("language_code", ""),
            "commands": [
                {"command": c["command"], "description": c["description"]}
                for c in params["commands"]
            ],
        }
        return True

    async def _getMyCommands(self, bot_id: int, params: dict[str, Any]) -> Any:
        key = self.world.commands_key(params.get("scope"), params.get("language_code"))
        stored = self.world.commands.get(key)
        return [] if stored is None else stored["commands"]

    async def _deleteMyCommands(self, bot_id: int, params: dict[str, Any]) -> Any:
        key = self.world.commands_key(params.get("scope"), params.get("language_code"))
        self.world.commands.pop(key, None)
        return True

    # -- chats ------------------------------------------------------------------------

    async def _getChat(self, bot_id: int, params: dict[str, Any]) -> Any:
        return self.world.chat_full_info(self.world.resolve_chat(params["chat_id"]))

    async def _getBusinessConnection(self, bot_id: int, params: dict[str, Any]) -> Any:
        connection = self.business.connection_for_bot(params["business_connection_id"])
        return self.business.connection_dict(connection)

    async def _sendChatAction(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = self._target(params)
        if "message_thread_id" in params:
            forum.topic_of(chat, params["message_thread_id"])
        if params["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # -- sending ----------------------------------------------------------------------

    async def _sendMessage(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = self._target(params)
        content: dict[str, Any] = {"text": params["text"]}
        if "entities" in params:
            content["entities"] = params["entities"]
        message = self._send(bot_id, chat, content, params)
        return self._message_dict(message)

    async def _sendPhoto(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = self._target(params)
        stored = self._media(params["photo"], "photo")
        content: dict[str, Any] = {"photo": self.world.photo_sizes(stored)}
        _add_caption(content, params)
        message = self._send(bot_id, chat, content, params)
        return self._message_dict(message)

    async def _sendDocument(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = self._target(params)
        stored = self._media(params["document"], "document")
        content: dict[str, Any] = {"document": dict(stored.meta)}
        _add_caption(content, params)
        message = self._send(bot_id, chat, content, params)
        return self._message_dict(message)

    # sendVoice, sendAudio, sendVideo, sendAnimation, sendVideoNote, sendSticker: a file
    # by its id (of the same kind) or uploaded; stickers and video notes take no caption
    # (the spec has none for them, so validation has dropped any).
    async def _send_file(self, bot_id: int, params: dict[str, Any], kind: FileKind) -> Any:
        chat = self._target(params)
        stored = self._media(params[kind], kind)
        content: dict[str, Any] = {kind: dict(stored.meta)}
        if kind not in ("sticker", "video_note"):
            _add_caption(content, params)
        message = self._send(bot_id, chat, content, params)
        return self._message_dict(message)

    async def _sendVoice(self, bot_id: int, params: dict[str, Any]) -> Any:
        return await self._send_file(bot_id, params, "voice")

    async def _sendAudio(self, bot_id: int, params: dict[str, Any]) -> Any:
        return await self._send_file(bot_id, params, "audio")

    async def _sendVideo(self, bot_id: int, params: dict[str, Any]) -> Any:
        return await self._send_file(bot_id, params, "video")

    async def _sendAnimation(self, bot_id: int, params: dict[str, Any]) -> Any:
        return await self._send_file(bot_id, params, "animation")

    async def _sendVideoNote(self, bot_id: int, params: dict[str, Any]) -> Any:
        return await self._send_file(bot_id, params, "video_note")

    async def _sendSticker(self, bot_id: int, params: dict[str, Any]) -> Any:
        return await self._send_file(bot_id, params, "sticker")

    async def _copyMessage(self, bot_id: int, params: dict[str, Any]) -> Any:
        source_chat = self.world.resolve_chat(params["from_chat_id"])
        source = self.world.find_message(
            source_chat, params["message_id"], "message to copy not found"
        )
        if forum.SERVICE_KEYS & source.content.keys():
            raise bad_request("message can't be copied")
        chat = self._target(params)
        content = dict(source.content)
        if "caption" in params and "text" not in content:
            content.pop("caption_entities", None)
            _add_caption(content, params)
        message = self._send(bot_id, chat, content, params)
        return {"message_id": message.message_id}

    async def _forwardMessage(self, bot_id: int, params: dict[str, Any]) -> Any:
        source_chat = self.world.resolve_chat(params["from_chat_id"])
        source = self.world.find_message(
            source_chat, params["message_id"], "message to forward not found"
        )
        if forum.SERVICE_KEYS & source.content.keys():
            raise bad_request("message can't be forwarded")
        chat = self._target(params)
        origin = source.forward_origin or {
            "type": "user",
            "sender_user": self.world.sender(source.from_id).as_dict(),
            "date": source.date,
        }
        thread = self._thread(chat, params, None)
        self._throttle(chat)
        message = self.world.add_message(
            chat,
            bot_id,
            dict(source.content),
            parse_mode=source.parse_mode,
            forward_origin=origin,
            thread_id=thread,
        )
        return self.world.message_dict(message)

    # -- editing ----------------------------------------------------------------------

    async def _editMessageText(self, bot_id: int, params: dict[str, Any]) -> Any:
        message = self._own_message(bot_id, params, "message to edit not found")
        if "text" not in message.content:
            raise bad_request("there is no text in the message to edit")
        text = params.get("text")
        if text is None:  # rich_message (Bot API 10.1): keep its source as the text
            rich = params["rich_message"]
            text = rich.get("html") or rich.get("markdown") or ""
        new_content: dict[str, Any] = {"text": text}
        if "entities" in params:
            new_content["entities"] = params["entities"]
        markup = _edited_markup(message, params.get("reply_markup"))
        if new_content == _text_content(message) and markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        self._throttle(self._chat_of(message))
        message.content = {
            **{k: v for k, v in message.content.items() if k != "entities"},
            **new_content,
        }
        message.reply_markup = markup
        message.parse_mode = params.get("parse_mode")
        return self._edited(message)

    async def _editMessageReplyMarkup(self, bot_id: int, params: dict[str, Any]) -> Any:
        message = self._own_message(bot_id, params, "message to edit not found")
        markup = _edited_markup(message, params.get("reply_markup"))
        if markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        self._throttle(self._chat_of(message))
        message.reply_markup = markup
        return self._edited(message)

    def _edited(self, message: StoredMessage) -> dict[str, Any]:
        message.edit_date = self.world.now()
        self.world.touch(message.chat_id)
        return self._message_dict(message)

    async def _editMessageCaption(self, bot_id: int, params: dict[str, Any]) -> Any:
        message = self._own_message(bot_id, params, "message to edit not found")
        if not CAPTIONED & message.content.keys():
            raise bad_request("there is no caption in the message to edit")
        fields: tuple[str, ...] = ("caption", "caption_entities")
        caption: dict[str, Any] = {k: params[k] for k in fields if k in params}
        current: dict[str, Any] = {k: message.content[k] for k in fields if k in message.content}
        markup = _edited_markup(message, params.get("reply_markup"))
        if caption == current and markup == message.reply_markup:
            raise bad_request(NOT_MODIFIED)
        self._throttle(self._chat_of(message))
        kept = {k: v for k, v in message.content.items() if k not in current}
        message.content = {**kept, **caption}
        message.reply_markup = markup
        return self._edited(message)

    # -- deleting ---------------------------------------------------------------------

    def _may_delete(self, bot_id: int, chat: Chat, message: StoredMessage) -> bool:
        """deleteMessage's limitations, as the Bot API lists them (no channels here)."""
        if "forum_topic_created" in message.content:
            return False  # service messages about a topic's creation
        if self.world.now() - message.date >= DELETE_WINDOW:
            return False  # sent 48 hours ago or more
        if chat.type == "private" or message.from_id == bot_id:
            return True  # incoming in private chats; outgoing anywhere
        return forum.can_delete_messages(chat)

    async def _deleteMessage(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = self.world.resolve_chat(params["chat_id"])
        message = chat.messages.get(params["message_id"])
        if message is not None and not self._may_delete(bot_id, chat, message):
            raise bad_request(CANT_DELETE)
        self.world.delete_message(chat, params["message_id"])
        return True

    async def _deleteMessages(self, bot_id: int, params: dict[str, Any]) -> Any:
        """Messages that cannot be found are skipped (the Bot API says so); one that may
        not be deleted refuses the whole call and nothing is deleted (the spec does not
        say: the stricter reading, so callers must handle it)."""
        chat = self.world.resolve_chat(params["chat_id"])
        ids = params["message_ids"]
        if not ids:
            raise bad_request("message identifiers are not specified")
        if len(ids) > MAX_DELETE:
            raise bad_request("too many message identifiers specified")
        found = [chat.messages[i] for i in dict.fromkeys(ids) if i in chat.messages]
        if not all(self._may_delete(bot_id, chat, message) for message in found):
            raise bad_request(CANT_DELETE)
        for message in found:
            self.world.delete_message(chat, message.message_id)
        return True

    async def _setMessageReaction(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = self._target(params)
        message = self.world.find_message(chat, params["message_id"], "message to react not found")
        reactions = params.get("reaction") or []
        if len(reactions) > 1:
            raise bad_request("REACTIONS_TOO_MANY")  # bots react as non-premium users
        for reaction in reactions:
            if not _known_reaction(reaction, self.spec.reaction_emoji):
                raise bad_request("REACTION_INVALID")
        if forum.SERVICE_KEYS & message.content.keys():
            raise bad_request("REACTION_INVALID")
        message.reactions = [dict(reaction) for reaction in reactions] or None
        self.world.touch(chat.id)
        return True

    # -- forum topics -----------------------------------------------------------------

    async def _createForumTopic(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = forum.forum_of(self._target(params))
        if not forum.can_manage_topics(chat):
            raise bad_request(forum.NO_RIGHTS_TO_CREATE)
        topic = forum.create_topic(
            self.world,
            chat,
            bot_id,
            params["name"],
            params.get("icon_color"),
            params.get("icon_custom_emoji_id"),
        )
        return topic.as_dict()

    async def _editForumTopic(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = self._target(params)
        topic = forum.managed_topic(chat, params["message_thread_id"], bot_id)
        forum.edit_topic(
            self.world,
            chat,
            topic,
            bot_id,
            params.get("name"),
            params.get("icon_custom_emoji_id"),
        )
        return True

    async def _closeForumTopic(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = self._target(params)
        topic = forum.managed_topic(chat, params["message_thread_id"], bot_id)
        forum.set_topic_closed(self.world, chat, topic, bot_id, closed=True)
        return True

    async def _reopenForumTopic(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = self._target(params)
        topic = forum.managed_topic(chat, params["message_thread_id"], bot_id)
        forum.set_topic_closed(self.world, chat, topic, bot_id, closed=False)
        return True

    async def _deleteForumTopic(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = forum.forum_of(self._target(params))
        topic = forum.topic_of(chat, params["message_thread_id"])
        if not forum.can_delete_messages(chat):
            raise bad_request(forum.NO_RIGHTS_TO_DELETE)
        forum.delete_topic(self.world, chat, topic)
        return True

    async def _getChatMember(self, bot_id: int, params: dict[str, Any]) -> Any:
        chat = self.world.resolve_chat(params["chat_id"])
        user_id = params["user_id"]
        if user_id == bot_id:
            user = self.world.bot_user(bot_id).as_dict()
            if chat.is_group and chat.bot_rights is not None:
                return {"status": "administrator", "user": user, "can_be_edited": False,
                        **chat.bot_rights}  # fmt: skip
            return {"status": "member", "user": user}
        member = self.world.users.get(user_id)
        if member is None:
            raise bad_request("user not found")
        status = "member" if user_id in chat.member_ids else "left"
        return {"status": status, "user": member.as_dict()}

    # -- callbacks and files ----------------------------------------------------------

    async def _answerCallbackQuery(self, bot_id: int, params: dict[str, Any]) -> Any:
        callback = self.world.callbacks.get(params["callback_query_id"])
        if callback is None or callback.answered:
            raise bad_request(QUERY_INVALID)
        callback.answered = True
        callback.text = params.get("text")
        callback.show_alert = bool(params.get("show_alert", False))
        callback.url = params.get("url")
        callback.answered_event.set()
        self.world.touch(callback.chat_id)
        return True

    async def _getFile(self, bot_id: int, params: dict[str, Any]) -> Any:
        stored = self.world.files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }


def _known_reaction(reaction: dict[str, Any], emoji: frozenset[str]) -> bool:
    """Say whether Telegram would take this reaction from a bot (never a paid one)."""
    if reaction["type"] == "emoji":
        return reaction["emoji"] in emoji
    if reaction["type"] == "custom_emoji":
        return str(reaction["custom_emoji_id"]).isdigit()  # custom emoji ids are numbers
    return False


def _add_caption(content: dict[str, Any], params: dict[str, Any]) -> None:
    if "caption" in params:
        content["caption"] = params["caption"]
        if "caption_entities" in params:
            content["caption_entities"] = params["caption_entities"]


def _text_content(message: StoredMessage) -> dict[str, Any]:
    content = {"text": message.content["text"]}
    if "entities" in message.content:
        content["entities"] = message.content["entities"]
    return content


def _edited_markup(message: StoredMessage, new: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return the markup after an edit: an edit without one drops the inline keyboard."""
    if new is not None:
        return new
    old = message.reply_markup
    if old is not None and "inline_keyboard" not in old:
        return old  # a reply keyboard is not part of the message an edit replaces
    return None
