"""Forum supergroups: topics, the bot's administrator rights, and which thread a send goes to.

A forum topic is, as on Telegram, the thread of the service message that created it: its
``message_thread_id`` is that message's id. Messages sent to a forum without a thread go
to the General topic, which has no id in the Bot API. These functions work on
:class:`~bot.sandbox.state.World` objects; the Bot API methods (:mod:`bot.sandbox.methods`)
and the control API (:mod:`bot.sandbox.control`) share them.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.spec import bad_request
from bot.sandbox.state import Chat, StoredMessage, Topic, World

# The fields of ChatAdministratorRights, in the Bot API's order.
ADMIN_RIGHTS = (
    "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
    "can_restrict_members", "can_promote_members", "can_change_info", "can_invite_users",
    "can_post_stories", "can_edit_stories", "can_delete_stories", "can_post_messages",
    "can_edit_messages", "can_pin_messages", "can_manage_topics", "can_manage_direct_messages",
    "can_manage_tags",
)  # fmt: skip
# The colours createForumTopic accepts (the Bot API lists them); the first is the default.
ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
MAX_TOPIC_NAME = 128
GENERAL_NAME = "General"
SERVICE_KEYS = frozenset(
    {"forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened"}
)

NOT_A_FORUM = "the chat is not a forum"
THREAD_NOT_FOUND = "message thread not found"
TOPIC_CLOSED = "TOPIC_CLOSED"
TOPIC_NOT_MODIFIED = "TOPIC_NOT_MODIFIED"
NO_RIGHTS_TO_CREATE = "not enough rights to create a topic"
NO_RIGHTS_TO_MANAGE = "not enough rights to manage topics"
NO_RIGHTS_TO_DELETE = "not enough rights to delete a topic"


def admin_rights(value: Any) -> dict[str, bool] | None:
    """Check the control API's ``bot_rights``: ``None`` (a plain member) or rights by name.

    Rights not given are False; ``{}`` makes the bot an administrator without rights.
    Raises ``ValueError`` for anything else.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("bot_rights must be an object of administrator rights or null")
    unknown = sorted(set(value) - set(ADMIN_RIGHTS))
    if unknown:
        raise ValueError(f"unknown administrator rights: {unknown}")
    if not all(isinstance(flag, bool) for flag in value.values()):
        raise ValueError("administrator rights must be true or false")
    return {right: bool(value.get(right, False)) for right in ADMIN_RIGHTS}


def can_manage_topics(chat: Chat) -> bool:
    """Say whether the bot is an administrator of ``chat`` with ``can_manage_topics``."""
    return bool(chat.bot_rights and chat.bot_rights.get("can_manage_topics"))


def can_delete_messages(chat: Chat) -> bool:
    """Say whether the bot may delete anybody's messages in ``chat`` (a supergroup): an
    administrator with ``can_delete_messages``."""
    return bool(chat.bot_rights and chat.bot_rights.get("can_delete_messages"))


def forum_of(chat: Chat) -> Chat:
    """Return ``chat`` if it is a forum; 400 "the chat is not a forum" otherwise."""
    if not chat.is_forum:
        raise bad_request(NOT_A_FORUM)
    return chat


def topic_of(chat: Chat, thread_id: int) -> Topic:
    """Return the forum topic ``thread_id``; 400 "message thread not found" otherwise."""
    topic = chat.topics.get(thread_id) if chat.is_forum else None
    if topic is None:
        raise bad_request(THREAD_NOT_FOUND)
    return topic


def managed_topic(chat: Chat, thread_id: int, bot_id: int) -> Topic:
    """Return a topic the bot may edit, close or reopen: its own, or any with the right."""
    topic = topic_of(forum_of(chat), thread_id)
    if topic.creator_id != bot_id and not can_manage_topics(chat):
        raise bad_request(NO_RIGHTS_TO_MANAGE)
    return topic


def check_topic_name(name: str) -> str:
    """Return a topic name Telegram accepts (1-128 characters)."""
    if not name.strip():
        raise bad_request("TOPIC_TITLE_EMPTY")
    if len(name) > MAX_TOPIC_NAME:
        raise bad_request("TOPIC_TITLE_TOO_LONG")
    return name


def create_topic(
    world: World,
    chat: Chat,
    creator_id: int,
    name: str,
    icon_color: int | None = None,
    icon_custom_emoji_id: str | None = None,
) -> Topic:
    """Open a topic: post its ``forum_topic_created`` message, whose id becomes the thread's."""
    forum_of(chat)
    check_topic_name(name)
    color = ICON_COLORS[0] if icon_color is None else icon_color
    if color not in ICON_COLORS:
        raise bad_request("TOPIC_ICON_COLOR_INVALID")  # not one of the listed colours
    created: dict[str, Any] = {"name": name, "icon_color": color}
    if icon_custom_emoji_id:
        created["icon_custom_emoji_id"] = icon_custom_emoji_id
    # The service message opens its own thread: its id is the topic's.
    thread_id = chat.last_message_id + 1
    topic = Topic(
        thread_id=thread_id,
        name=name,
        icon_color=color,
        creator_id=creator_id,
        icon_custom_emoji_id=icon_custom_emoji_id or None,
    )
    chat.topics[thread_id] = topic
    world.add_message(chat, creator_id, {"forum_topic_created": created}, thread_id=thread_id)
    return topic


def edit_topic(
    world: World,
    chat: Chat,
    topic: Topic,
    editor_id: int,
    name: str | None,
    icon_custom_emoji_id: str | None,
) -> StoredMessage:
    """Rename a topic or change its icon (``""`` removes it); posts ``forum_topic_edited``."""
    edited: dict[str, Any] = {}
    if name is not None and name != topic.name:
        edited["name"] = check_topic_name(name)
    if icon_custom_emoji_id is not None and icon_custom_emoji_id != (
        topic.icon_custom_emoji_id or ""
    ):
        edited["icon_custom_emoji_id"] = icon_custom_emoji_id
    if not edited:
        raise bad_request(TOPIC_NOT_MODIFIED)
    topic.name = edited.get("name", topic.name)
    if "icon_custom_emoji_id" in edited:
        topic.icon_custom_emoji_id = icon_custom_emoji_id or None
    return world.add_message(
        chat, editor_id, {"forum_topic_edited": edited}, thread_id=topic.thread_id
    )


def set_topic_closed(
    world: World, chat: Chat, topic: Topic, actor_id: int, closed: bool
) -> StoredMessage:
    """Close or reopen a topic, posting ``forum_topic_closed`` / ``forum_topic_reopened``."""
    if topic.closed == closed:
        raise bad_request(TOPIC_NOT_MODIFIED)
    topic.closed = closed
    key = "forum_topic_closed" if closed else "forum_topic_reopened"
    return world.add_message(chat, actor_id, {key: {}}, thread_id=topic.thread_id)


def delete_topic(world: World, chat: Chat, topic: Topic) -> None:
    """Delete a topic along with all its messages (its ``forum_topic_created`` too)."""
    inside = [m.message_id for m in chat.messages.values() if m.thread_id == topic.thread_id]
    for message_id in inside:
        del chat.messages[message_id]
    del chat.topics[topic.thread_id]
    world.touch(chat.id)


def thread_for_send(
    chat: Chat,
    thread_id: int | None,
    reply_to: StoredMessage | None,
    may_write_when_closed: bool,
) -> int | None:
    """Return the topic a new message goes to (None: General, or not a forum).

    A reply without a thread goes to the replied message's topic, as on Telegram; a
    thread that does not exist (or any thread outside a forum) is "message thread not
    found"; a closed topic refuses writers without ``can_manage_topics`` (TOPIC_CLOSED).
    """
    if thread_id is None and reply_to is not None and chat.is_forum:
        thread_id = reply_to.thread_id
    if thread_id is None:
        return None
    topic = topic_of(chat, thread_id)
    if reply_to is not None and reply_to.thread_id != thread_id:
        raise bad_request("message to be replied not found")
    if topic.closed and not may_write_when_closed:
        raise bad_request(TOPIC_CLOSED)
    return thread_id


def topics_view(world: World, chat: Chat) -> list[dict[str, Any]]:
    """The control API's topic list: General first, then the topics, latest activity first."""
    general_messages = [m for m in chat.messages.values() if m.thread_id is None]
    general: dict[str, Any] = {
        "message_thread_id": None,
        "name": GENERAL_NAME,
        "is_general": True,
        "is_closed": False,
        "message_count": len(general_messages),
    }
    counts: dict[int, int] = {}
    for message in chat.messages.values():
        if message.thread_id is not None:
            counts[message.thread_id] = counts.get(message.thread_id, 0) + 1
    topics = sorted(chat.topics.values(), key=lambda topic: -topic.last_message_id)
    return [general] + [
        {
            **topic.as_dict(),
            "is_general": False,
            "is_closed": topic.closed,
            "created_by": world.sender(topic.creator_id).as_dict(),
            "message_count": counts.get(topic.thread_id, 0),
        }
        for topic in topics
    ]
