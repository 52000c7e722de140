"""An async client for the sandbox's control API, for tests and benchmarks.

One method per endpoint of docs/sandbox.md, plus waiting helpers that block on the
sandbox's ``/sandbox/events`` long poll with a deadline (never sleep-and-hope)::

    client = SandboxClient(sandbox.url)
    ann = await client.create_user("Ann", language_code="en")
    sent = await client.send_text(ann["id"], ann["id"], "/start")
    reply = await client.wait_for_bot_message(ann["id"], after_message_id=sent["message_id"])
    data = find_button(reply, "English")
    query_id = await client.press(ann["id"], ann["id"], reply["message_id"], data)
    answer = await client.wait_for_callback_answer(query_id)
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Literal

import httpx

Message = dict[str, Any]
MessagePredicate = Callable[[Message], bool]
TranscriptPredicate = Callable[[list[Message]], bool]

# One long-poll round is kept short so a deadline is honoured closely.
_MAX_POLL = 2.0


class SandboxError(Exception):
    """The control API refused a request (``status`` and its ``error`` text)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"sandbox answered {status}: {message}")
        self.status = status
        self.message = message


class SandboxTimeout(AssertionError):
    """What a test waited for did not happen in time; the message shows the transcript."""


class SandboxClient:
    """Act as Telegram users and inspect what the bot did, over the control API.

    ``base_url`` is ``Sandbox.url`` (``http://127.0.0.1:PORT``). Close the client with
    :meth:`aclose` or use it as ``async with SandboxClient(url) as client``.
    """

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        # Local traffic only: never go through a proxy from the environment.
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout, trust_env=False)

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        http_timeout: float | None = None,
    ) -> Any:
        # ASCII JSON (escapes), as Telegram's clients send it: every string survives,
        # even a lone surrogate ("\\ud83d"), which UTF-8 cannot carry.
        content = None if body is None else json.dumps(body).encode()
        response = await self._http.request(
            method,
            "/sandbox" + path,
            content=content,
            headers=None if body is None else {"Content-Type": "application/json"},
            params=params,
            timeout=self._http.timeout if http_timeout is None else http_timeout,
        )
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise SandboxError(response.status_code, message)
        return response.json()

    # -- users and chats --------------------------------------------------------------

    async def create_user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        phone_number: str | None = None,
        user_id: int | None = None,
    ) -> dict[str, Any]:
        """Create a user (and their private chat, whose id is the user's id)."""
        body = _without_none(
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            phone_number=phone_number,
            id=user_id,
        )
        return dict(await self._request("POST", "/users", body))

    async def users(self) -> list[dict[str, Any]]:
        """Return every user the sandbox knows."""
        return list(await self._request("GET", "/users"))

    async def update_user(self, user_id: int, **fields: Any) -> dict[str, Any]:
        """Change a user's first_name, last_name, username, language_code or phone_number."""
        return dict(await self._request("PATCH", f"/users/{user_id}", fields))

    async def create_group(
        self,
        title: str,
        member_ids: Sequence[int],
        *,
        is_forum: bool = False,
        bot_rights: dict[str, bool] | None = None,
    ) -> dict[str, Any]:
        """Create a supergroup (negative id) with these users; the bot is in every group.

        ``is_forum`` makes it a forum (topics); ``bot_rights`` makes the bot an
        administrator with these rights (e.g. ``{"can_manage_topics": True}``).
        """
        body: dict[str, Any] = {"title": title, "member_ids": list(member_ids)}
        if is_forum:
            body["is_forum"] = True
        if bot_rights is not None:
            body["bot_rights"] = bot_rights
        return dict(await self._request("POST", "/groups", body))

    async def update_chat(self, chat_id: int, **fields: Any) -> dict[str, Any]:
        """Change a group: ``is_forum=True|False``, ``bot_rights={...}|None`` (not admin)."""
        return dict(await self._request("PATCH", f"/chats/{chat_id}", fields))

    async def set_forum(self, chat_id: int, is_forum: bool = True) -> dict[str, Any]:
        """Switch a group between forum (topics) and plain mode."""
        return await self.update_chat(chat_id, is_forum=is_forum)

    async def set_bot_rights(self, chat_id: int, rights: dict[str, bool] | None) -> dict[str, Any]:
        """Make the bot an administrator with ``rights`` (``None``: a plain member again)."""
        return await self.update_chat(chat_id, bot_rights=rights)

    async def topics(self, chat_id: int) -> list[dict[str, Any]]:
        """Return a forum's topics: General first, then the others, latest activity first."""
        return list(await self._request("GET", f"/chats/{chat_id}/topics"))

    async def chats(self) -> list[dict[str, Any]]:
        """Return every chat with its ``members``."""
        return list(await self._request("GET", "/chats"))

    # -- what users do ----------------------------------------------------------------

    async def send_message(self, chat_id: int, from_id: int, **content: Any) -> Message:
        """Post a user message in the control API's form (``text=``, ``photo=``, ...)."""
        body = {"chat_id": chat_id, "from_id": from_id, **_without_none(**content)}
        return dict(await self._request("POST", "/messages", body))

    async def send_text(
        self,
        chat_id: int,
        from_id: int,
        text: str,
        reply_to_message_id: int | None = None,
        *,
        message_thread_id: int | None = None,
    ) -> Message:
        """Write ``text`` (in forum topic ``message_thread_id``, None: General); one
        starting with ``/`` carries a ``bot_command`` entity."""
        return await self.send_message(
            chat_id,
            from_id,
            text=text,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )

    async def edit_message(
        self, chat_id: int, message_id: int, *, text: str | None = None, caption: str | None = None
    ) -> Message:
        """Its author edits a user's message; the bot gets an ``edited_message`` update."""
        body = _without_none(text=text, caption=caption)
        return dict(await self._request("PATCH", f"/chats/{chat_id}/messages/{message_id}", body))

    async def send_photo(
        self,
        chat_id: int,
        from_id: int,
        data: bytes | None = None,
        *,
        file_name: str = "photo.png",
        caption: str | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
    ) -> Message:
        """Send a photo (``data``, or a small generated PNG when None)."""
        photo: dict[str, Any] = {"file_name": file_name}
        if data is not None:
            photo["data_b64"] = base64.b64encode(data).decode()
        return await self.send_message(
            chat_id,
            from_id,
            photo=photo,
            caption=caption,
            reply_to_message_id=reply_to_message_id,
            message_thread_id=message_thread_id,
        )

    async def send_document(
        self,
        chat_id: int,
        from_id: int,
        data: bytes,
        *,
        file_name: str = "document.txt",
        mime_type: str | None = None,
        caption: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> Message:
        """Send a document with these bytes."""
        document = _without_none(
            file_name=file_name, mime_type=mime_type, data_b64=base64.b64encode(data).decode()
        )
        return await self.send_message(
            chat_id,
            from_id,
            document=document,
            caption=caption,
            reply_to_message_id=reply_to_message_id,
        )

    async def send_contact(
        self,
        chat_id: int,
        from_id: int,
        phone_number: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        user_id: int | None = None,
    ) -> Message:
        """Send a contact card; ``first_name`` defaults to the sender's.

        Pass ``user_id=from_id`` (or use :meth:`share_phone_number`) for the card a
        ``request_contact`` button sends: the user's own number.
        """
        contact = _without_none(
            phone_number=phone_number, first_name=first_name, last_name=last_name, user_id=user_id
        )
        return await self.send_message(chat_id, from_id, contact=contact)

    async def share_phone_number(self, chat_id: int, from_id: int, phone_number: str) -> Message:
        """Share one's own number, as pressing a ``request_contact`` button does."""
        return await self.send_contact(chat_id, from_id, phone_number, user_id=from_id)

    async def send_sticker(self, chat_id: int, from_id: int, emoji: str = "😀") -> Message:
        """Send a (generated) sticker."""
        return await self.send_message(chat_id, from_id, sticker={"emoji": emoji})

    async def send_voice(self, chat_id: int, from_id: int, duration: int = 1) -> Message:
        """Send a (generated) voice note."""
        return await self.send_message(chat_id, from_id, voice={"duration": duration})

    async def send_video(
        self, chat_id: int, from_id: int, duration: int = 1, caption: str | None = None
    ) -> Message:
        """Send a (generated) video, with a caption if given."""
        return await self.send_message(
            chat_id, from_id, video={"duration": duration}, caption=caption
        )

    async def send_video_note(self, chat_id: int, from_id: int, duration: int = 1) -> Message:
        """Send a (generated) round video message (no caption)."""
        return await self.send_message(chat_id, from_id, video_note={"duration": duration})

    async def press(self, chat_id: int, from_id: int, message_id: int, data: str) -> str:
        """Press an inline button of ``message_id``; return the ``callback_query_id``."""
        body = {"chat_id": chat_id, "from_id": from_id, "message_id": message_id, "data": data}
        return str((await self._request("POST", "/callbacks", body))["callback_query_id"])

    async def callback_answer(self, callback_query_id: str, wait: float = 0.0) -> dict[str, Any]:
        """Return ``{answered, text?, show_alert?, url?}``, waiting up to ``wait`` seconds."""
        return dict(
            await self._request(
                "GET",
                f"/callbacks/{callback_query_id}",
                params={"timeout": wait},
                http_timeout=wait + 10.0,
            )
        )

    # -- what tests read --------------------------------------------------------------

    async def transcript(
        self, chat_id: int, message_thread_id: int | Literal["general"] | None = None
    ) -> list[Message]:
        """Return the chat as its users see it, oldest first, edits applied.

        ``message_thread_id`` keeps one forum topic (``"general"``: the General topic).
        """
        params = None if message_thread_id is None else {"message_thread_id": message_thread_id}
        return list(await self._request("GET", f"/chats/{chat_id}/transcript", params=params))

    async def bot_messages(self, chat_id: int) -> list[Message]:
        """Return the bot's messages of the chat's transcript."""
        return [m for m in await self.transcript(chat_id) if m["from"]["is_bot"]]

    async def commands(self) -> list[dict[str, Any]]:
        """Return what setMyCommands stored: ``[{scope, language_code, commands}]``."""
        return list(await self._request("GET", "/commands"))

    async def requests(self) -> list[dict[str, Any]]:
        """Return the log of Bot API calls (method, chat_id, ok, error_code, time)."""
        return list(await self._request("GET", "/requests"))

    async def clear_requests(self) -> None:
        """Empty the request log."""
        await self._request("DELETE", "/requests")

    async def events(
        self, after: int = -1, wait: float = 0.0, chat_id: int | None = None
    ) -> dict[str, Any]:
        """Long-poll (up to ``wait`` s) for changes after version ``after``.

        Returns ``{version, chats_changed, reset}``; ``chat_id`` waits for that chat only.
        """
        params: dict[str, Any] = {"after": after, "timeout": wait}
        if chat_id is not None:
            params["chat_id"] = chat_id
        return dict(await self._request("GET", "/events", params=params, http_timeout=wait + 10.0))

    # -- faults, limits, reset --------------------------------------------------------

    async def fault(self, spec: dict[str, Any] | None = None, **fields: Any) -> None:
        """Plan a fault: ``fault({"kind": "blocked", "user_id": 1})`` or ``fault(kind=...)``."""
        await self._request("POST", "/faults", {**(spec or {}), **fields})

    async def raw_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update ``{kind: payload}`` as given, unchecked; return its id."""
        answer = await self._request("POST", "/updates", {"kind": kind, "payload": payload})
        update_id = answer["update_id"]
        return int(update_id) if update_id is not None else None

    async def block(self, user_id: int) -> None:
        """Make the user block the bot: sends to them answer 403."""
        await self.fault(kind="blocked", user_id=user_id)

    async def unblock(self, user_id: int) -> None:
        """Undo :meth:`block`."""
        await self.fault(kind="unblocked", user_id=user_id)

    async def clear_faults(self) -> None:
        """Remove every fault and unblock everyone."""
        await self._request("DELETE", "/faults")

    async def faults(self) -> dict[str, Any]:
        """Return ``{blocked: [...], faults: [...]}``."""
        return dict(await self._request("GET", "/faults"))

    async def set_limits(self, preset: str | None = None, **limits: Any) -> dict[str, Any]:
        """Change rate limits (``preset="telegram"|"off"`` and/or single fields)."""
        body = dict(limits)
        if preset is not None:
            body["preset"] = preset
        return dict(await self._request("POST", "/limits", body))

    async def limits(self) -> dict[str, Any]:
        """Return the rate limits in force."""
        return dict(await self._request("GET", "/limits"))

    async def reset(self) -> None:
        """Forget all users, chats, messages, updates, files and faults."""
        await self._request("POST", "/reset")

    # -- Telegram Business ------------------------------------------------------------

    async def connect_business(
        self, owner_id: int, rights: dict[str, bool] | None = None
    ) -> dict[str, Any]:
        """``owner_id``'s business account connects the bot (default right: can_reply),
        or changes the rights of its live connection; returns the BusinessConnection."""
        body: dict[str, Any] = {"owner_id": owner_id}
        if rights is not None:
            body["rights"] = rights
        return dict(await self._request("POST", "/business/connections", body))

    async def disconnect_business(self, connection_id: str) -> dict[str, Any]:
        """The business account disconnects the bot."""
        return dict(await self._request("DELETE", f"/business/connections/{connection_id}"))

    async def business_write(
        self,
        connection_id: str,
        from_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> Message:
        """A customer (``from_id``) writes to the business account; or its owner answers
        by hand in the chat with customer ``chat_id``."""
        body = {"from_id": from_id, "text": text}
        body.update(_without_none(chat_id=chat_id, reply_to_message_id=reply_to_message_id))
        return dict(
            await self._request("POST", f"/business/connections/{connection_id}/messages", body)
        )

    async def business_send(
        self,
        connection_id: str,
        from_id: int,
        reply_to_message_id: int | None = None,
        **content: Any,
    ) -> Message:
        """A customer sends the business account anything ``POST /sandbox/messages``
        takes (``photo={}``, ``sticker={"emoji": "😀"}``, ``caption=`` …)."""
        body: dict[str, Any] = {"from_id": from_id, **content}
        body.update(_without_none(reply_to_message_id=reply_to_message_id))
        return dict(
            await self._request("POST", f"/business/connections/{connection_id}/messages", body)
        )

    async def business_edit(
        self, connection_id: str, customer_id: int, message_id: int, text: str
    ) -> Message:
        """The customer edits one of their texts in the business chat."""
        path = f"/business/connections/{connection_id}/chats/{customer_id}/messages/{message_id}"
        return dict(await self._request("PATCH", path, {"text": text}))

    async def business_delete(
        self, connection_id: str, customer_id: int, message_ids: Sequence[int]
    ) -> dict[str, Any]:
        """Messages are deleted from the business chat with ``customer_id``."""
        path = f"/business/connections/{connection_id}/chats/{customer_id}/messages"
        return dict(await self._request("DELETE", path, {"message_ids": list(message_ids)}))

    async def business_press(
        self, connection_id: str, customer_id: int, message_id: int, data: str
    ) -> str:
        """The customer presses a button in the business chat; returns the query's id."""
        body = {"from_id": customer_id, "message_id": message_id, "data": data}
        path = f"/business/connections/{connection_id}/callbacks"
        return str((await self._request("POST", path, body))["callback_query_id"])

    async def business_transcript(self, connection_id: str, customer_id: int) -> list[Message]:
        """The business account's chat with ``customer_id``, oldest first."""
        _, transcript = await self._version_and_transcript(customer_id, connection_id)
        return transcript

    # -- waiting ----------------------------------------------------------------------

    async def _version_and_transcript(
        self, chat_id: int, business: str | None = None
    ) -> tuple[int, list[Message]]:
        path = f"/sandbox/chats/{chat_id}/transcript"
        if business is not None:
            path = f"/sandbox/business/connections/{business}/chats/{chat_id}/transcript"
        response = await self._http.get(path)
        if response.status_code >= 400:
            raise SandboxError(response.status_code, response.text)
        return int(response.headers["X-Sandbox-Version"]), response.json()

    async def wait_for_transcript(
        self,
        chat_id: int,
        condition: TranscriptPredicate,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the sandbox, not for I/O
        description: str = "the transcript to satisfy the condition",
        *,
        business: str | None = None,
    ) -> list[Message]:
        """Wait until ``condition(transcript)`` holds; return that transcript.

        ``business`` (a connection id): the business account's chat with ``chat_id``
        instead of the bot's. Raises :class:`SandboxTimeout` (an ``AssertionError``)
        showing the transcript.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            version, transcript = await self._version_and_transcript(chat_id, business)
            if condition(transcript):
                return transcript
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise SandboxTimeout(
                    f"waited {timeout} s for {description} in chat {chat_id}; "
                    f"transcript:\n{format_transcript(transcript)}"
                )
            await self.events(after=version, wait=min(remaining, _MAX_POLL), chat_id=chat_id)

    async def wait_for_bot_message(
        self,
        chat_id: int,
        predicate: MessagePredicate | None = None,
        after_message_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the sandbox, not for I/O
        *,
        business: str | None = None,
    ) -> Message:
        """Return the first bot message after ``after_message_id`` that matches ``predicate``.

        ``after_message_id=None`` considers the whole chat. Messages are looked at as they
        are now (edits applied), so this also waits for an edit to show up. ``business``:
        in that business connection's chat with ``chat_id``.
        """
        found: list[Message] = []

        def condition(transcript: list[Message]) -> bool:
            for message in transcript:
                if not message["from"]["is_bot"]:
                    continue
                if after_message_id is not None and message["message_id"] <= after_message_id:
                    continue
                if predicate is None or predicate(message):
                    found.append(message)
                    return True
            return False

        what = "a bot message"
        if after_message_id is not None:
            what += f" after message {after_message_id}"
        if predicate is not None:
            what += " matching the predicate"
        await self.wait_for_transcript(chat_id, condition, timeout, what, business=business)
        return found[0]

    async def wait_for_bot_messages(
        self,
        chat_id: int,
        count: int,
        after_message_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the sandbox, not for I/O
    ) -> list[Message]:
        """Wait until at least ``count`` bot messages follow ``after_message_id``; return them."""

        def newer(transcript: list[Message]) -> list[Message]:
            return [
                m
                for m in transcript
                if m["from"]["is_bot"]
                and (after_message_id is None or m["message_id"] > after_message_id)
            ]

        transcript = await self.wait_for_transcript(
            chat_id,
            lambda t: len(newer(t)) >= count,
            timeout,
            f"{count} bot messages after message {after_message_id}",
        )
        return newer(transcript)

    async def wait_for_callback_answer(
        self,
        callback_query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the sandbox, not for I/O
    ) -> dict[str, Any]:
        """Wait until the bot answers the callback query; return ``{answered, text?, ...}``."""
        answer = await self.callback_answer(callback_query_id, wait=timeout)
        if not answer["answered"]:
            raise SandboxTimeout(
                f"the bot did not answer callback query {callback_query_id} within {timeout} s"
            )
        return answer


def find_button(message: Message, text_contains: str) -> str:
    """Return the ``callback_data`` of the first inline button whose text contains the words.

    Raises ``AssertionError`` listing the buttons there are when none matches.
    """
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    labels = []
    for row in rows:
        for button in row:
            labels.append(button.get("text", ""))
            if text_contains in button.get("text", "") and "callback_data" in button:
                return str(button["callback_data"])
    raise AssertionError(
        f"message {message.get('message_id')} has no button containing {text_contains!r}; "
        f"buttons: {labels}"
    )


def format_transcript(transcript: list[Message]) -> str:
    """Render a transcript one line per message, for failure messages."""
    lines = []
    for message in transcript:
        who = "bot" if message["from"]["is_bot"] else message["from"]["first_name"]
        body = message.get("text") or message.get("caption") or ""
        for kind in (
            "photo", "document", "contact", "sticker", "voice", "video", "animation", "audio",
            "video_note",
        ):  # fmt: skip
            if kind in message:
                body = f"[{kind}] {body}".strip()
        for service in ("forum_topic_created", "forum_topic_edited"):
            if service in message:
                body = f"[{service}] {message[service].get('name', '')}".strip()
        for service in ("forum_topic_closed", "forum_topic_reopened"):
            if service in message:
                body = f"[{service}]"
        extras = []
        if "message_thread_id" in message:
            extras.append(f"topic {message['message_thread_id']}")
        if "reply_markup" in message:
            extras.append(
                "buttons="
                + json.dumps(
                    [
                        b.get("text")
                        for row in message["reply_markup"]["inline_keyboard"]
                        for b in row
                    ],
                    ensure_ascii=False,
                )
            )
        if "reply_keyboard" in message:
            extras.append(
                "keyboard="
                + json.dumps(
                    [
                        b.get("text") if isinstance(b, dict) else b
                        for row in message["reply_keyboard"]["keyboard"]
                        for b in row
                    ],
                    ensure_ascii=False,
                )
            )
        if "edit_date" in message:
            extras.append("edited")
        suffix = f"  ({', '.join(extras)})" if extras else ""
        lines.append(f"  #{message['message_id']} {who}: {body}{suffix}")
    return "\n".join(lines) or "  (empty)"


def _without_none(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
