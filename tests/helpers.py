"""Builders for end-to-end tests: a running carebot on a sandbox, and people who chat.

The people are personas, so that a test reads like the dialogue it checks: a
:class:`Customer` in their private chat (``say``, ``press("label")``, ``reply_to``,
``command``) and a :class:`StaffMember` (the same verbs, in the staff group or in
private), in a :class:`StaffRoom` (what the group shows: cards, their edits, the bot's
answers). ``zh`` and
``en`` give the words as each locale reads them, so tests keep passing once strings are
translated.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import Built, build_application, finish, prepare
from bot.db import make_engine
from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from bot.settings import Settings
from care.clock import Clock
from handlers.i18n import gettext_in

TOKEN = "7000000001:test-token-abcdef"

Message = dict[str, Any]


def zh(message: str) -> str:
    """Words as someone who reads Chinese sees them (the staff group, by default)."""
    return gettext_in("zh_CN", message)


def en(message: str) -> str:
    """Words as someone who reads English sees them."""
    return gettext_in("en", message)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def buttons(message: Message) -> list[str]:
    """The labels of a message's inline buttons, row by row."""
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


def callback_data(message: Message) -> list[str]:
    """What a message's inline buttons send when pressed, row by row."""
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


class RunningBot:
    """carebot's real PTB application polling a sandbox, started and stopped by tests."""

    def __init__(self, sandbox: Sandbox, database_url: str, clock: Clock, **settings: Any) -> None:
        self.sandbox = sandbox
        self.database_url = database_url
        self.clock = clock
        self.settings_overrides = settings
        self.built: Built | None = None

    def settings(self) -> Settings:
        values: dict[str, Any] = {
            "token": SecretStr(TOKEN),
            "database_url": self.database_url,
            "api_base_url": self.sandbox.bot_base_url,
            "persistence_interval": 0.2,
            "default_locale": "zh_CN",
            "company_name": "Acme",
        }
        values.update(self.settings_overrides)
        return Settings(**values)

    async def start(self) -> Built:
        engine: AsyncEngine = make_engine(self.database_url)
        self.built = build_application(self.settings(), clock=self.clock, engine=engine)
        application = self.built.application
        await application.initialize()
        await prepare(application)
        await application.start()
        await self.built.inbox.start(application)
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        return self.built

    async def stop(self) -> None:
        if self.built is None:
            return
        application = self.built.application
        assert application.updater is not None
        if application.updater.running:
            await application.updater.stop()
        await self.built.inbox.stop()
        if application.running:
            await application.stop()
        await finish(application)
        await self.built.inbox.close()
        await application.shutdown()
        await self.built.engine.dispose()
        self.built = None


@dataclass
class Customer:
    """Someone chatting with the bot in their private chat, through the sandbox."""

    client: SandboxClient
    user: dict[str, Any]
    timeout: float = 10.0
    seen: int = field(default=0)

    @property
    def id(self) -> int:
        return int(self.user["id"])

    async def transcript(self) -> list[Message]:
        return await self.client.transcript(self.id)

    async def bot_messages(self) -> list[Message]:
        return [m for m in await self.transcript() if m["from"]["is_bot"]]

    async def _last_id(self) -> int:
        transcript = await self.transcript()
        return max((m["message_id"] for m in transcript), default=0)

    async def wait_reply(
        self, after: int, predicate: Callable[[Message], bool] | None = None
    ) -> Message:
        return await self.client.wait_for_bot_message(
            self.id, predicate=predicate, after_message_id=after, timeout=self.timeout
        )

    async def say(self, text: str, **kwargs: Any) -> Message:
        """Send a text and return the bot's first reply."""
        sent = await self.client.send_text(self.id, self.id, text, **kwargs)
        return await self.wait_reply(sent["message_id"])

    async def say_and_wait(self, text: str, predicate: Callable[[Message], bool]) -> Message:
        """Send a text and return the first bot reply that satisfies ``predicate``."""
        sent = await self.client.send_text(self.id, self.id, text)
        return await self.wait_reply(sent["message_id"], predicate)

    async def command(self, text: str) -> str:
        """Send a command and return the words of the bot's first reply."""
        return text_of(await self.say(text))

    async def reply_to(self, message: Message, text: str) -> Message:
        """Answer ``message`` (quoting it) and return the bot's first reply."""
        sent = await self.client.send_text(
            self.id, self.id, text, reply_to_message_id=message["message_id"]
        )
        return await self.wait_reply(sent["message_id"])

    async def share_contact(self, phone: str, user_id: int | None = None) -> Message:
        sent = await self.client.send_contact(
            self.id,
            self.id,
            phone,
            first_name=self.user["first_name"],
            user_id=self.id if user_id is None else user_id,
        )
        return await self.wait_reply(sent["message_id"])

    async def send_sticker(self) -> Message:
        sent = await self.client.send_sticker(self.id, self.id)
        return await self.wait_reply(sent["message_id"])

    async def send_photo(self, caption: str | None = None) -> Message:
        sent = await self.client.send_photo(self.id, self.id, caption=caption)
        return await self.wait_reply(sent["message_id"])

    async def press(
        self,
        label: str,
        predicate: Callable[[Message], bool] | None = None,
        message: Message | None = None,
        *,
        edited: Callable[[Message], bool] | None = None,
    ) -> tuple[str, Message | None]:
        """Press the inline button whose label contains ``label`` on the newest bot
        message that has one (or on ``message``).

        Returns the callback answer text and the first bot message sent after the press
        (None when ``predicate`` is False, meaning no new message is expected), or, with
        ``edited``, the pressed message once an edit makes ``edited`` true of it.
        """
        if message is None:
            for candidate in reversed(await self.bot_messages()):
                if _find_button(candidate, label) is not None:
                    message = candidate
                    break
            else:
                raise AssertionError(f"no bot message has a button {label!r}")
        data = _find_button(message, label)
        assert data is not None, f"message {message['message_id']} has no button {label!r}"
        if edited is None:
            return await self.press_data(message["message_id"], data, predicate)
        pressed = message["message_id"]
        answer, _ = await self.press_data(pressed, data, expect_message=False)
        changed = await self.client.wait_for_bot_message(
            self.id, lambda m: m["message_id"] == pressed and edited(m), timeout=self.timeout
        )
        return answer, changed

    async def press_data(
        self,
        message_id: int,
        data: str,
        predicate: Callable[[Message], bool] | None = None,
        expect_message: bool = True,
    ) -> tuple[str, Message | None]:
        before = await self._last_id()
        query_id = await self.client.press(self.id, self.id, message_id, data)
        answer = await self.client.wait_for_callback_answer(query_id, timeout=self.timeout)
        reply = await self.wait_reply(before, predicate) if expect_message else None
        return str(answer.get("text") or ""), reply


Person = Customer  # the name older tests use


@dataclass
class BusinessCustomer:
    """Someone writing to the company's Telegram Business account (which the bot serves
    through ``connection_id``), through the sandbox."""

    client: SandboxClient
    user: dict[str, Any]
    connection_id: str
    timeout: float = 10.0

    @property
    def id(self) -> int:
        return int(self.user["id"])

    async def transcript(self) -> list[Message]:
        return await self.client.business_transcript(self.connection_id, self.id)

    async def bot_messages(self) -> list[Message]:
        return [m for m in await self.transcript() if m["from"]["is_bot"]]

    async def _last_id(self) -> int:
        return max((m["message_id"] for m in await self.transcript()), default=0)

    async def wait_reply(
        self, after: int, predicate: Callable[[Message], bool] | None = None
    ) -> Message:
        return await self.client.wait_for_bot_message(
            self.id,
            predicate=predicate,
            after_message_id=after,
            timeout=self.timeout,
            business=self.connection_id,
        )

    async def say(self, text: str) -> Message:
        """Write to the business account and return the bot's first answer there."""
        sent = await self.client.business_write(self.connection_id, self.id, text)
        return await self.wait_reply(sent["message_id"])

    async def press(
        self, label: str, predicate: Callable[[Message], bool] | None = None
    ) -> tuple[str, Message]:
        """Press the button ``label`` on the newest bot message that has one; return the
        callback answer and the first bot message after the press."""
        for message in reversed(await self.bot_messages()):
            data = _find_button(message, label)
            if data is not None:
                break
        else:
            raise AssertionError(f"no bot message has a button {label!r}")
        before = await self._last_id()
        query_id = await self.client.business_press(
            self.connection_id, self.id, message["message_id"], data
        )
        answer = await self.client.wait_for_callback_answer(query_id, timeout=self.timeout)
        return str(answer.get("text") or ""), await self.wait_reply(before, predicate)


async def connect_business_account(
    client: SandboxClient,
    staff_chat_id: int,
    rights: dict[str, bool] | None = None,
    name: str = "Tea Shop",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shop's Business account connects the bot; returns the account and the
    connection once staff heard of it."""
    shop = await client.create_user(name, language_code="en")
    before = max((m["message_id"] for m in await client.transcript(staff_chat_id)), default=0)
    connection = await client.connect_business(shop["id"], rights)
    await client.wait_for_bot_message(
        staff_chat_id, lambda m: name in text_of(m), after_message_id=before
    )
    return shop, connection


@dataclass
class StaffRoom:
    """The staff group: its transcript, the complaint cards in it, the bot's answers.

    Its members act through :meth:`member` (or :meth:`members`) as :class:`StaffMember`.
    """

    client: SandboxClient
    id: int  # the group's chat id
    timeout: float = 10.0

    def member(self, user: dict[str, Any]) -> StaffMember:
        return StaffMember(self, user)

    async def transcript(self) -> list[Message]:
        return await self.client.transcript(self.id)

    async def message(self, message_id: int) -> Message:
        for message in await self.transcript():
            if message["message_id"] == message_id:
                return message
        raise AssertionError(f"no message {message_id} in the staff group")

    async def card(self, sessionmaker: async_sessionmaker[AsyncSession], complaint_id: int) -> int:
        """The message id of the complaint's card (which the bot has posted)."""
        from care.models import Complaint

        async with sessionmaker() as session:
            complaint = await session.get_one(Complaint, complaint_id)
        assert complaint.alert_message_id is not None, "the card was posted"
        return complaint.alert_message_id

    async def last_id(self) -> int:
        """The id of the newest message in the group (0: none yet)."""
        return max((m["message_id"] for m in await self.transcript()), default=0)

    async def bot_message_after(
        self, message_id: int, predicate: Callable[[Message], bool] | None = None
    ) -> Message:
        """The first message the bot posts in the group after ``message_id`` (that
        satisfies ``predicate``), such as the prompt a card button asks."""
        return await self.client.wait_for_bot_message(
            self.id, predicate=predicate, after_message_id=message_id, timeout=self.timeout
        )

    async def answer_to(self, sent: Message) -> Message:
        """The bot's reply to a message (it quotes it in the group)."""
        return await self.client.wait_for_bot_message(
            self.id,
            lambda m: m.get("reply_to_message_id") == sent["message_id"],
            after_message_id=sent["message_id"],
            timeout=self.timeout,
        )

    async def wait_card(self, card_id: int, condition: Callable[[Message], bool]) -> Message:
        """The card, once an edit makes ``condition`` true of it."""
        found: list[Message] = []

        def edited(transcript: list[Message]) -> bool:
            for message in transcript:
                if message["message_id"] == card_id and condition(message):
                    found.append(message)
                    return True
            return False

        await self.client.wait_for_transcript(self.id, edited, self.timeout, "the card to change")
        return found[0]


@dataclass
class StaffMember:
    """A member of the care staff in the staff group (and in their private chat).

    In the group most messages get no answer from the bot (a reply to a card goes to the
    customer), so :meth:`say` returns the message sent; :meth:`command` waits for the
    bot's answer to it.
    """

    room: StaffRoom
    user: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.user["id"])

    @property
    def client(self) -> SandboxClient:
        return self.room.client

    async def say(self, text: str, reply_to: Message | int | None = None) -> Message:
        """Write in the staff group (quoting ``reply_to``); returns the message sent."""
        return await self.client.send_text(
            self.room.id, self.id, text, reply_to_message_id=_message_id(reply_to)
        )

    async def reply_to(self, message: Message | int, text: str) -> Message:
        """Answer ``message`` in the staff group; returns the message sent."""
        return await self.say(text, reply_to=message)

    async def send_photo(self, caption: str, reply_to: Message | int | None = None) -> Message:
        return await self.client.send_photo(
            self.room.id, self.id, caption=caption, reply_to_message_id=_message_id(reply_to)
        )

    async def command(self, text: str, reply_to: Message | int | None = None) -> str:
        """Send a command in the staff group; the words of the bot's answer to it."""
        return text_of(await self.room.answer_to(await self.say(text, reply_to)))

    async def command_in_private(self, text: str) -> str:
        """Send a command in their private chat with the bot; the words of its answer."""
        sent = await self.client.send_text(self.id, self.id, text)
        answer = await self.client.wait_for_bot_message(
            self.id, after_message_id=sent["message_id"], timeout=self.room.timeout
        )
        return text_of(answer)

    async def press(self, label: str, message: Message | int) -> str:
        """Press the button labelled ``label`` (as shown) on a message in the group, such
        as a card; returns the answer the bot shows for it."""
        if isinstance(message, int):
            message = await self.room.message(message)
        data = _find_button(message, label, exact=True)
        assert data is not None, f"message {message['message_id']} has no button {label!r}"
        return await self.press_data(message, data)

    async def press_data(self, message: Message | int, data: str) -> str:
        """Press a button sending ``data`` on a message, whether or not it still shows it
        (a stale or forged press); returns the answer the bot shows for it."""
        message_id = message if isinstance(message, int) else message["message_id"]
        query = await self.client.press(self.room.id, self.id, message_id, data)
        answer = await self.client.wait_for_callback_answer(query, timeout=self.room.timeout)
        return str(answer.get("text") or "")


def _message_id(message: Message | int | None) -> int | None:
    return message["message_id"] if isinstance(message, dict) else message


def _find_button(message: Message, label: str, *, exact: bool = False) -> str | None:
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            text = button.get("text", "")
            if label == text or (not exact and label in text):
                return str(button.get("callback_data"))
    return None


def reply_keyboard_labels(message: Message) -> list[str]:
    keyboard = message.get("reply_keyboard") or {}
    return [
        button if isinstance(button, str) else button.get("text", "")
        for row in keyboard.get("keyboard", [])
        for button in row
    ]


def text_of(message: Message) -> str:
    return str(message.get("text") or message.get("caption") or "")


async def wait_until(
    condition: Callable[[], Awaitable[bool]], within: float = 10.0, interval: float = 0.05
) -> None:
    """Wait until ``condition()`` is true, failing after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


async def filed_complaint(
    bot: RunningBot,
    client: SandboxClient,
    *,
    text: str = "The kettle I bought leaks from the bottom.",
    language: str = "en",
    first_name: str | None = None,
    category: str = "product",
) -> tuple[int, dict[str, Any]]:
    """A registered customer with a freshly filed complaint whose card is in the staff group.

    Built with care functions directly (not through the filing dialogue), so that staff
    tests do not depend on it.

    Returns:
        The complaint's id and the customer's sandbox user.
    """
    from care import complaints, customers
    from handlers.staff_card import owe_card

    assert bot.built is not None, "start the bot first"
    services = bot.built.services
    name = first_name or ("小红" if language == "zh_CN" else "Emma")
    user = await client.create_user(
        name, language_code="zh-hans" if language == "zh_CN" else language
    )
    now = services.clock.now()
    async with services.sessionmaker.begin() as session:
        identity = customers.TelegramIdentity(
            user_id=user["id"], chat_id=user["id"], first_name=name
        )
        customer, _created = await customers.get_or_create_customer(session, identity, now)
        customers.set_language(customer, language)
        customers.complete_onboarding(customer, now)
        draft = await complaints.start_draft(session, customer, now)
        complaints.set_category(draft, category)
        complaints.set_description(draft, text)
        filed = await complaints.file_complaint(
            session, draft, services.sla, services.triage, now, services.timezone
        )
        complaint_id = filed.id
        loaded = await complaints.facts(session, complaint_id)
        assert loaded is not None
        owe_card(session, loaded, services)

    async def card_posted() -> bool:
        async with services.sessionmaker() as session:
            complaint = await session.get_one(complaints.Complaint, complaint_id)
            return complaint.alert_message_id is not None

    if services.staff_chat_id is not None:
        await wait_until(card_posted)
    return complaint_id, user


async def all_owed_delivered(bot: RunningBot, within: float = 10.0) -> None:
    """Wait until every owed message (cards, notices, relays, alerts) has been settled."""
    from sqlalchemy import func, select

    from care.models import OwedMessage, OwedState

    assert bot.built is not None, "start the bot first"
    sessionmaker = bot.built.services.sessionmaker

    async def settled() -> bool:
        async with sessionmaker() as session:
            unsettled = await session.scalar(
                select(func.count())
                .select_from(OwedMessage)
                .where(OwedMessage.state.in_((OwedState.PENDING.value, OwedState.SENDING.value)))
            )
            return unsettled == 0

    await wait_until(settled, within)
