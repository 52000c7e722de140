"""The control API's Telegram Business part, under ``/sandbox/business/``.

What tests and the playground do as people: a business account connects the bot (or
changes its rights, or disconnects it), customers write to the account, edit and delete
their messages, the owner answers by hand; and the chat as its people see it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.sandbox.business import Business, BusinessConnection, check_rights
from bot.sandbox.control import (
    KINDS_WORDS,
    MEDIA_KINDS,
    ControlError,
    json_response,
    message_content,
    optional_int,
    path_int,
    read_body,
)
from bot.sandbox.state import World


class BusinessControl:
    """Control API routes for business connections; see docs/sandbox.md."""

    def __init__(self, world: World) -> None:
        self.business = Business(world)

    def add_routes(self, app: web.Application, guarded: Any) -> None:
        """Register the routes on ``app``, each wrapped by ``guarded``."""
        base = "/sandbox/business/connections"
        message = base + "/{connection_id}/chats/{customer_id}/messages"
        routes = [
            ("POST", base, self.connect),
            ("GET", base, self.list_connections),
            ("DELETE", base + "/{connection_id}", self.disconnect),
            ("POST", base + "/{connection_id}/messages", self.write),
            ("PATCH", message + "/{message_id}", self.edit),
            ("DELETE", message, self.delete),
            ("POST", base + "/{connection_id}/callbacks", self.press),
            ("GET", base + "/{connection_id}/chats/{customer_id}/transcript", self.transcript),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, guarded(handler))

    def _connection(self, request: web.Request) -> BusinessConnection:
        connection = self.business.connections.get(request.match_info["connection_id"])
        if connection is None:
            raise ControlError("unknown business connection", 404)
        return connection

    async def connect(self, request: web.Request) -> web.Response:
        """``POST``: ``{owner_id, rights}`` connects the bot to the owner's business
        account, or changes the rights of their live connection; the bot gets a
        ``business_connection`` update."""
        body = await read_body(request)
        owner_id = optional_int(body, "owner_id")
        if owner_id is None:
            raise ControlError("owner_id is required")
        try:
            rights = check_rights(body.get("rights", {"can_reply": True}))
            connection = self.business.connect(owner_id, rights)
        except ValueError as error:
            raise ControlError(str(error)) from None
        return json_response(self.business.connection_dict(connection))

    async def list_connections(self, request: web.Request) -> web.Response:
        """``GET``: every connection, oldest first."""
        return json_response(
            [self.business.connection_dict(c) for c in self.business.connections.values()]
        )

    async def disconnect(self, request: web.Request) -> web.Response:
        """``DELETE``: the account disconnects the bot (``is_enabled`` false)."""
        connection = self._connection(request)
        self.business.disconnect(connection)
        return json_response(self.business.connection_dict(connection))

    async def write(self, request: web.Request) -> web.Response:
        """``POST .../messages``: ``{from_id, text|photo|…|voice|video|video_note,
        caption?, chat_id?, reply_to_message_id?}`` (the content as for
        ``POST /sandbox/messages``).

        ``from_id`` is a customer writing to the account, or the owner answering by hand
        (then ``chat_id`` names the customer's chat).
        """
        connection = self._connection(request)
        body = await read_body(request)
        from_id = optional_int(body, "from_id")
        kinds = [kind for kind in MEDIA_KINDS if body.get(kind) not in (None, False, "")]
        if len(kinds) != 1:
            raise ControlError(f"give exactly one of {KINDS_WORDS} (got {kinds or 'none'})")
        if from_id is None or from_id not in self.business.world.users:
            raise ControlError("from_id must be a user of the sandbox")
        content = message_content(self.business.world, kinds[0], body, from_id)
        try:
            if from_id == connection.owner_id:
                customer_id = optional_int(body, "chat_id")
                if customer_id is None:
                    raise ControlError("chat_id is required when the owner writes")
                payload = self.business.owner_writes(connection, customer_id, content)
            elif from_id is None:
                raise ControlError("from_id is required")
            else:
                payload = self.business.customer_writes(
                    connection, from_id, content, optional_int(body, "reply_to_message_id")
                )
        except ValueError as error:
            raise ControlError(str(error)) from None
        return json_response(payload)

    async def edit(self, request: web.Request) -> web.Response:
        """``PATCH``: ``{text}``: the customer edits one of their texts."""
        connection = self._connection(request)
        body = await read_body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ControlError("text must be a non-empty string")
        try:
            payload = self.business.customer_edits(
                connection,
                path_int(request, "customer_id"),
                path_int(request, "message_id"),
                text,
            )
        except ValueError as error:
            raise ControlError(str(error)) from None
        return json_response(payload)

    async def delete(self, request: web.Request) -> web.Response:
        """``DELETE``: ``{message_ids}``: messages deleted from the chat."""
        connection = self._connection(request)
        body = await read_body(request)
        ids = body.get("message_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            raise ControlError("message_ids must be a non-empty list of message ids")
        try:
            payload = self.business.delete(connection, path_int(request, "customer_id"), ids)
        except ValueError as error:
            raise ControlError(str(error)) from None
        return json_response(payload)

    async def press(self, request: web.Request) -> web.Response:
        """``POST .../callbacks``: ``{from_id, message_id, data}``: the customer presses
        an inline button of a bot message; answered as ``POST /sandbox/callbacks`` is."""
        connection = self._connection(request)
        body = await read_body(request)
        from_id, message_id = optional_int(body, "from_id"), optional_int(body, "message_id")
        data = body.get("data")
        if from_id is None or message_id is None or not isinstance(data, str) or not data:
            raise ControlError("give from_id, message_id and data")
        try:
            callback_id = self.business.press(connection, from_id, message_id, data)
        except ValueError as error:
            raise ControlError(str(error)) from None
        return json_response({"callback_query_id": callback_id})

    async def transcript(self, request: web.Request) -> web.Response:
        """``GET``: the business chat with one customer, oldest first."""
        connection = self._connection(request)
        try:
            entries = self.business.transcript(connection, path_int(request, "customer_id"))
        except ValueError as error:
            raise ControlError(str(error), 404) from None
        return json_response(
            entries, headers={"X-Sandbox-Version": str(self.business.world.changes.version)}
        )
