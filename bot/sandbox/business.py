"""Telegram Business in the sandbox: connections, the business account's chats, the rules.

A business account (a user of the sandbox) connects the bot with some rights; Telegram
tells the bot with a ``business_connection`` update, again when the rights change and
when the account disconnects (``is_enabled`` false). Customers then write to the
*business account*, not to the bot: each message reaches the bot as a
``business_message`` (``edited_business_message``, ``deleted_business_messages``) with the
connection's id, in the account's private chat with that customer, whose id is the
customer's user id as in the bot's own chat with them, but which is another chat.

The bot answers there by passing ``business_connection_id`` to sendMessage and co. As on
Telegram, that is refused

- for an unknown connection id: ``BUSINESS_CONNECTION_INVALID``;
- when the connection is disabled or lacks ``can_reply``: ``BUSINESS_CONNECTION_NOT_ALLOWED``
  (Telegram's wording for these two is not documented; this is the closest MTProto error);
- when the customer has not written in the last 24 hours: ``BUSINESS_PEER_USAGE_MISSING``
  ("You cannot send a message to a user through a business connection if the user hasn't
  recently contacted us", core.telegram.org's list of messages.sendMessage errors).

A message the bot sends through a connection comes from the business account, with
``sender_business_bot`` naming the bot; the sandbox does not echo it back as an update.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.spec import bad_request
from bot.sandbox.state import Chat, StoredMessage, World

# Telegram's rule: a business bot may reply only within 24 hours of the customer's last
# message in that chat (BusinessBotRights.can_reply: "chats that had incoming messages in
# the last 24 hours").
REPLY_WINDOW_SECONDS = 24 * 60 * 60

INVALID = "BUSINESS_CONNECTION_INVALID"
NOT_ALLOWED = "BUSINESS_CONNECTION_NOT_ALLOWED"
PEER_USAGE_MISSING = "BUSINESS_PEER_USAGE_MISSING"

# BusinessBotRights' fields (Bot API 10.1), all optional booleans.
RIGHTS = frozenset(
    {
        "can_reply", "can_read_messages", "can_delete_sent_messages",
        "can_delete_all_messages", "can_edit_name", "can_edit_bio",
        "can_edit_profile_photo", "can_edit_username", "can_change_gift_settings",
        "can_view_gifts_and_stars", "can_convert_gifts_to_stars",
        "can_transfer_and_upgrade_gifts", "can_transfer_stars", "can_manage_stories",
    }
)  # fmt: skip


@dataclass(slots=True)
class BusinessConnection:
    """The bot's connection to one business account."""

    id: str
    owner_id: int
    date: int
    rights: dict[str, bool]
    is_enabled: bool = True
    # The business account's private chat with each customer (key: the customer's id).
    chats: dict[int, Chat] = field(default_factory=dict)
    # When each customer last wrote (Unix time), for the 24-hour rule.
    last_incoming: dict[int, int] = field(default_factory=dict)


def check_rights(rights: Any) -> dict[str, bool]:
    """Return ``rights`` as BusinessBotRights fields, or raise ValueError."""
    if rights is None:
        return {}
    if not isinstance(rights, dict):
        raise ValueError("rights must be an object of BusinessBotRights fields")
    unknown = sorted(set(rights) - RIGHTS)
    if unknown:
        raise ValueError(f"unknown business bot rights: {unknown}")
    if not all(isinstance(value, bool) for value in rights.values()):
        raise ValueError("business bot rights are true or false")
    return {name: value for name, value in rights.items() if value}


class Business:
    """The world's business connections and what happens on them."""

    def __init__(self, world: World) -> None:
        self.world = world

    @property
    def connections(self) -> dict[str, BusinessConnection]:
        """Every connection by id (kept in the world, so a reset forgets them)."""
        return self.world.business_connections

    # -- connections ------------------------------------------------------------------

    def connect(self, owner_id: int, rights: dict[str, bool]) -> BusinessConnection:
        """Connect the bot to ``owner_id``'s account (or change the rights of the live
        connection) and queue the ``business_connection`` update."""
        if owner_id not in self.world.users:
            raise ValueError(f"unknown user {owner_id}")
        connection = self.of_owner(owner_id)
        if connection is None or not connection.is_enabled:
            connection = BusinessConnection(
                id=secrets.token_urlsafe(12),
                owner_id=owner_id,
                date=self.world.now(),
                rights=rights,
            )
            self.connections[connection.id] = connection
        else:
            connection.rights = rights
        self._announce(connection)
        return connection

    def disconnect(self, connection: BusinessConnection) -> None:
        """The account disconnects the bot: ``is_enabled`` false, announced."""
        connection.is_enabled = False
        self._announce(connection)

    def of_owner(self, owner_id: int) -> BusinessConnection | None:
        """The owner's latest connection, if any."""
        owned = [c for c in self.connections.values() if c.owner_id == owner_id]
        return owned[-1] if owned else None

    def connection_dict(self, connection: BusinessConnection) -> dict[str, Any]:
        """Telegram's ``BusinessConnection`` object."""
        result: dict[str, Any] = {
            "id": connection.id,
            "user": self.world.users[connection.owner_id].as_dict(),
            "user_chat_id": connection.owner_id,
            "date": connection.date,
            "is_enabled": connection.is_enabled,
        }
        if connection.rights:
            result["rights"] = dict(connection.rights)
        return result

    def _announce(self, connection: BusinessConnection) -> None:
        self.world.queue_update("business_connection", self.connection_dict(connection))
        self.world.touch(connection.owner_id)

    # -- what people write ------------------------------------------------------------

    def chat(self, connection: BusinessConnection, customer_id: int) -> Chat:
        """The business account's private chat with ``customer_id`` (made on first use)."""
        chat = connection.chats.get(customer_id)
        if chat is None:
            if customer_id not in self.world.users:
                raise ValueError(f"unknown user {customer_id}")
            chat = Chat(id=customer_id, type="private", member_ids=[customer_id])
            connection.chats[customer_id] = chat
        return chat

    def customer_writes(
        self,
        connection: BusinessConnection,
        customer_id: int,
        content: dict[str, Any],
        reply_to_message_id: int | None = None,
    ) -> dict[str, Any]:
        """A customer writes to the business account: a ``business_message`` update.

        Messages reach the bot only while the connection is enabled, as on Telegram.
        """
        if customer_id == connection.owner_id:
            raise ValueError("the business account does not write to itself")
        chat = self.chat(connection, customer_id)
        message = self.world.add_message(
            chat, customer_id, content, reply_to_message_id=reply_to_message_id
        )
        message.business_connection_id = connection.id
        connection.last_incoming[customer_id] = message.date
        payload = self.message_dict(message)
        if connection.is_enabled:
            self.world.queue_update("business_message", payload)
        return payload

    def owner_writes(
        self, connection: BusinessConnection, customer_id: int, content: dict[str, Any]
    ) -> dict[str, Any]:
        """The account's owner answers by hand: a ``business_message`` from the owner."""
        chat = self.chat(connection, customer_id)
        message = self.world.add_message(chat, connection.owner_id, content)
        message.business_connection_id = connection.id
        payload = self.message_dict(message)
        if connection.is_enabled:
            self.world.queue_update("business_message", payload)
        return payload

    def customer_edits(
        self, connection: BusinessConnection, customer_id: int, message_id: int, text: str
    ) -> dict[str, Any]:
        """The customer edits a text: an ``edited_business_message`` update."""
        chat = self.chat(connection, customer_id)
        message = self.world.find_message(chat, message_id, "message to edit not found")
        if message.from_id != customer_id or "text" not in message.content:
            raise ValueError("only the customer's own texts can be edited here")
        message.content = {**message.content, "text": text}
        message.edit_date = self.world.now()
        payload = self.message_dict(message)
        if connection.is_enabled:
            self.world.queue_update("edited_business_message", payload)
        return payload

    def delete(
        self, connection: BusinessConnection, customer_id: int, message_ids: list[int]
    ) -> dict[str, Any]:
        """Messages are deleted from the chat: a ``deleted_business_messages`` update."""
        chat = self.chat(connection, customer_id)
        for message_id in message_ids:
            self.world.delete_message(chat, message_id)
        payload = {
            "business_connection_id": connection.id,
            "chat": self.world.chat_dict(chat),
            "message_ids": list(message_ids),
        }
        if connection.is_enabled:
            self.world.queue_update("deleted_business_messages", payload)
        return payload

    def press(
        self, connection: BusinessConnection, customer_id: int, message_id: int, data: str
    ) -> str:
        """The customer presses an inline button of a bot message in the business chat:
        a ``callback_query`` update; returns its id."""
        chat = self.chat(connection, customer_id)
        message = self.world.find_message(chat, message_id, "message not found")
        buttons = (message.reply_markup or {}).get("inline_keyboard", [])
        if not any(b.get("callback_data") == data for row in buttons for b in row):
            raise ValueError(f"message {message_id} has no button with that data")
        callback = self.world.new_callback(
            chat, customer_id, message, data, self.message_dict(message)
        )
        return callback.id

    def message_dict(self, message: StoredMessage) -> dict[str, Any]:
        """Telegram's ``Message`` for a message of a business chat."""
        result = self.world.message_dict(message)
        connection = self.connections[str(message.business_connection_id)]
        result["business_connection_id"] = connection.id
        if message.from_id in self.world.bots:
            # Sent by the bot on the account's behalf: it comes from the account.
            result["from"] = self.world.users[connection.owner_id].as_dict()
            result["sender_business_bot"] = self.world.bots[message.from_id].as_dict()
        return result

    # -- the bot's side ---------------------------------------------------------------

    def connection_for_bot(self, connection_id: str) -> BusinessConnection:
        """The connection for getBusinessConnection: 400 if the id is unknown."""
        connection = self.connections.get(connection_id)
        if connection is None:
            raise bad_request(INVALID)
        return connection

    def chat_for_reply(self, connection_id: str, chat_id: Any) -> Chat:
        """The business chat a bot's send goes to, after Telegram's checks."""
        connection = self.connection_for_bot(connection_id)
        if not connection.is_enabled or not connection.rights.get("can_reply"):
            raise bad_request(NOT_ALLOWED)
        if not isinstance(chat_id, int):
            raise bad_request("chat not found")
        last = connection.last_incoming.get(chat_id)
        if last is None or self.world.now() - last > REPLY_WINDOW_SECONDS:
            raise bad_request(PEER_USAGE_MISSING)
        return self.chat(connection, chat_id)

    def chat_for_edit(self, connection_id: str, chat_id: Any) -> Chat:
        """The business chat where the bot edits one of its messages (no 24-hour rule:
        Telegram documents it for sending)."""
        connection = self.connection_for_bot(connection_id)
        if not connection.is_enabled or not connection.rights.get("can_reply"):
            raise bad_request(NOT_ALLOWED)
        chat = connection.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def transcript(self, connection: BusinessConnection, customer_id: int) -> list[dict[str, Any]]:
        """The chat as the customer sees it (bot messages show as the account's)."""
        chat = self.chat(connection, customer_id)
        entries = self.world.transcript(chat)
        for entry, message in zip(entries, chat.messages.values(), strict=True):
            if message.from_id in self.world.bots:
                entry["sender_business_bot"] = True
        return entries
