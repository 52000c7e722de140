"""Inbound updates: how many updates carebot handles per second and how fast it replies.

Measured next to a bare python-telegram-bot echo bot (bench/bots.py) on the same sandbox
in the same run, so the ratio between the two says what carebot's own work costs::

    python bench/inbound.py                       # 200 customers, 50 updates/s for 20 s
    python bench/inbound.py --quick               # a smoke run, well under a minute
    python bench/inbound.py --users 300 --rate 80 --seconds 30 --json out.json
    python bench/inbound.py --conversations       # and the conversation mix (step 6)
    python bench/inbound.py --webhook --instances 1 2 3   # polling and webhook instances

Three processes share the machine: the sandbox (``python -m bot.sandbox``), the bot under
test (``python bench/bots.py``) and this one, which plays the customers through the
sandbox's control API and measures. Each bot in turn goes through:

1. warm-up: a few customers do the whole script; not measured.
2. throughput: ``--users`` new customers at once, each registering (/start, language
   button, consent button, Skip, Skip) and then writing 5 free texts; every action waits
   for the bot's reply to the one before (a closed loop per customer).
3. order: every customer of step 2 writes a burst of 5 texts without waiting; the bot's
   replies must come in the order of the texts (see ``check_order``).
4. latency: new customers act at a fixed pace of ``--rate`` updates/s for ``--seconds``
   (open loop), each customer still one action at a time, never before the last reply.
5. flood: one registered customer sends ``--flood`` texts at once (a forwarded chat
   history), and meanwhile ``FLOOD_OTHERS`` other registered customers each write
   ``FLOOD_OTHER_TEXTS`` texts, one after the reply to the one before. Their latency
   says whether one chat's backlog holds up everybody else.
6. conversations (``--conversations``, carebot only, a fresh carebot and database):
   registered customers ask questions and ``CONVERSATION_AGENTS`` agents answer them by
   typing in the customers' topics of a forum staff group, ``--conversation-rate``
   (default ``--rate``) updates/s in all for ``--seconds``. Measured: customer → staff
   (the question accepted → its copy made in the topic) and staff → customer (the agent's
   message accepted → the bot's message in the customer's chat), beside the echo bot's
   paced reply latency as the floor.

**What a free text's "reply" is.** The echo bot answers every text in the customer's
chat. carebot, since conversations (issue 11), answers only a conversation's first
message in the customer's chat ("we got your message…"); every text goes to staff. So in
steps 1-5 carebot runs with a plain staff group and a free text's reply is its relay into
that group (``StaffDesk``): the work carebot does for a text and what a customer waits
for, a person seeing it. The echo bot's reply goes to the customer's own chat, which makes
the comparison a floor, not a like-for-like pair: carebot's relay is owed (written in the
update's transaction, sent by the owed-message sender after the commit, one message at a
time per staff chat), the echo is sent at once.

Latency is the sandbox's own timestamp of the bot's first reply in the chat (the moment
its sendMessage or editMessageText call reached the sandbox, from ``GET /sandbox/requests``)
minus the moment this process's ``POST /sandbox/messages`` (or ``/callbacks``) returned.
Because every customer waits for the reply before acting again, each reply belongs to
the last action before it in its chat. A relay to staff is found by its text in the staff
chat's transcript and timed by the ``sendMessage`` (plain group) or ``copyMessage``
(forum) call that made it: the sender posts into one chat one message at a time, so the
calls and the messages they made come in the same order (``StaffDesk.relay_times``).
docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import math
import os
import platform
import random
import re
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table

from bot.sandbox.state import REQUEST_LOG_SIZE

BOTS = ("echo", "carebot")
BOTS_SCRIPT = Path(__file__).with_name("bots.py")
ROOT = Path(__file__).resolve().parent.parent

REGISTRATION_STEPS = 5  # /start, language, consent, Skip (phone), Skip (birthday)
FREE_TEXTS = 5
SCRIPT_STEPS = REGISTRATION_STEPS + FREE_TEXTS
BURST = 5
WARM_UP_CUSTOMERS = 10
REPLY_TIMEOUT = 30.0
TARGET_RATIO = 0.6
TARGET_P99_MS = 100.0
FLOOD = 300
FLOOD_OTHERS = 20
FLOOD_OTHER_TEXTS = 5
CONVERSATION_AGENTS = 4
CONVERSATION_ROUNDS = 3  # questions (each with its answer) per customer, on average
TARGET_TO_STAFF_MS = 2000.0
WEBHOOK_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"  # bench/webhook.py's default

# Bot API calls that show the customer something new in their chat.
REPLY_METHODS = frozenset(
    {
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "sendPhoto",
        "sendDocument",
        "copyMessage",
        "forwardMessage",
    }
)

Message = dict[str, Any]


# -- processes ----------------------------------------------------------------------------


@dataclass
class Child:
    """A process this benchmark started, with its stderr kept in a file."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far, all threads (Linux only)."""
        return process_cpu_seconds(self.process.pid)

    def error_lines(self) -> list[str]:
        """Lines the process logged at ERROR level or worse."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [line for line in text.splitlines() if re.search(r" (ERROR|CRITICAL) ", line)]

    async def stop(self) -> None:
        """Ask the process to stop (SIGTERM) and wait; kill it if it does not."""
        if self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


def process_cpu_seconds(pid: int) -> float:
    """Read utime + stime of ``pid`` from /proc; NaN where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_environment() -> dict[str, str]:
    """Our environment without CAREBOT_* settings, so no local config changes the bot."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CAREBOT_")}
    env["CAREBOT_CONFIG"] = os.devnull
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


async def spawn(
    name: str, args: Sequence[str], workdir: Path, ready: re.Pattern[str]
) -> tuple[Child, re.Match[str]]:
    """Start ``args`` and wait for a stdout line matching ``ready``."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=child_environment(),
            cwd=workdir,
        )
    child = Child(name, process, log_path)
    assert process.stdout is not None
    try:
        async with asyncio.timeout(60):
            while True:
                line = (await process.stdout.readline()).decode()
                if not line:
                    raise RuntimeError(f"{name} exited early:\n{log_path.read_text()[-3000:]}")
                match = ready.search(line)
                if match:
                    return child, match
    except BaseException:
        await child.stop()
        raise


async def start_sandbox(workdir: Path) -> tuple[Child, str]:
    """Run ``python -m bot.sandbox`` without rate limits on a free port."""
    child, match = await spawn(
        "sandbox",
        [sys.executable, "-m", "bot.sandbox", "--port", "0", "--limits", "off"],
        workdir,
        re.compile(r"playground: (http://\S+?)/?$"),
    )
    return child, match.group(1)


async def start_bot(
    kind: str,
    sandbox_url: str,
    workdir: Path,
    staff_chat_id: int | None = None,
    agents: Sequence[int] = (),
    census: Path | None = None,
) -> Child:
    """Run one of bench/bots.py's bots against the sandbox; carebot gets a fresh database
    and the staff chat its conversations reach."""
    args = [sys.executable, str(BOTS_SCRIPT), kind, "--sandbox", sandbox_url]
    if kind == "carebot":
        args += ["--database", f"sqlite+aiosqlite:///{carebot_database(workdir)}"]
    if staff_chat_id is not None:
        args += ["--staff-chat", str(staff_chat_id)]
    for agent in agents:
        args += ["--agent", str(agent)]
    if census is not None:
        args += ["--census", str(census)]
    child, _match = await spawn(kind, args, workdir, re.compile(r"^ready$"))
    return child


def carebot_database(workdir: Path) -> Path:
    return workdir / "carebot.db"


def prepare_kept_workdir(workdir: Path) -> None:
    """Create ``--keep``'s folder, without the database of an earlier run."""
    workdir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{carebot_database(workdir)}{suffix}").unlink(missing_ok=True)


# -- the sandbox's control API ------------------------------------------------------------


class Control:
    """The control API through one aiohttp session.

    aiohttp rather than the project's httpx-based SandboxClient: this process shares two
    cores with the bot, and aiohttp's client costs less CPU per request.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = aiohttp.ClientSession(
            base_url=url,
            connector=aiohttp.TCPConnector(limit=512),
            timeout=aiohttp.ClientTimeout(total=90),
        )

    async def close(self) -> None:
        await self._http.close()

    async def _call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        async with self._http.request(method, path, json=body, params=query or None) as answer:
            payload = await answer.json(content_type=None)
            if answer.status != 200:
                raise RuntimeError(f"{method} {path} answered {answer.status}: {payload}")
            return payload

    async def create_user(self, first_name: str, language_code: str) -> dict[str, Any]:
        return dict(
            await self._call(
                "POST", "/sandbox/users", {"first_name": first_name, "language_code": language_code}
            )
        )

    async def create_group(self, title: str, member_ids: list[int], forum: bool = False) -> int:
        body: dict[str, Any] = {"title": title, "member_ids": member_ids}
        if forum:  # carebot manages the topics: an administrator with that right
            body |= {"is_forum": True, "bot_rights": {"can_manage_topics": True}}
        return int((await self._call("POST", "/sandbox/groups", body))["id"])

    async def send_in_topic(self, chat_id: int, from_id: int, thread: int, text: str) -> Message:
        body = {"chat_id": chat_id, "from_id": from_id, "text": text, "message_thread_id": thread}
        return dict(await self._call("POST", "/sandbox/messages", body))

    async def send_text(self, chat_id: int, text: str) -> Message:
        body = {"chat_id": chat_id, "from_id": chat_id, "text": text}
        return dict(await self._call("POST", "/sandbox/messages", body))

    async def press(self, chat_id: int, message_id: int, data: str) -> str:
        body = {"chat_id": chat_id, "from_id": chat_id, "message_id": message_id, "data": data}
        return str((await self._call("POST", "/sandbox/callbacks", body))["callback_query_id"])

    async def transcript(self, chat_id: int) -> list[Message]:
        return list(await self._call("GET", f"/sandbox/chats/{chat_id}/transcript"))

    async def events(self, after: int, wait: float) -> dict[str, Any]:
        return dict(await self._call("GET", "/sandbox/events", after=after, timeout=wait))

    async def requests(self) -> list[dict[str, Any]]:
        """The sandbox's log of Bot API calls; an error if it was full (entries lost)."""
        log = list(await self._call("GET", "/sandbox/requests"))
        if len(log) >= REQUEST_LOG_SIZE:
            raise RuntimeError("the sandbox's request log overflowed: use fewer --users")
        return log

    async def clear_requests(self) -> None:
        await self._call("DELETE", "/sandbox/requests")

    async def reset(self) -> None:
        await self._call("POST", "/sandbox/reset")


class ChatChanges:
    """One long poll of ``/sandbox/events`` for all chats; wakes whoever waits on a chat.

    One poll rather than one per customer: the sandbox wakes every waiting poll on each
    change, so hundreds of them would cost it work that grows with their square.
    """

    def __init__(self, control: Control) -> None:
        self._control = control
        self._events: dict[int, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None

    def event(self, chat_id: int) -> asyncio.Event:
        """The event set whenever ``chat_id`` changes (the waiter clears it)."""
        return self._events.setdefault(chat_id, asyncio.Event())

    async def start(self) -> None:
        version = int((await self._control.events(after=-1, wait=0))["version"])
        self._task = asyncio.create_task(self._poll(version))

    async def _poll(self, version: int) -> None:
        while True:
            answer = await self._control.events(after=version, wait=10)
            version = int(answer["version"])
            for chat_id in answer["chats_changed"]:
                event = self._events.get(chat_id)
                if event is not None:
                    event.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class StaffDesk:
    """carebot's staff chat, watched for the relays of the customers' texts.

    Since conversations (issue 11) a free text's answer is the text's relay into the staff
    chat, not a message to the customer: every text a customer writes is registered here
    first (``expect``), and each time the staff chat changes one task reads its new bot
    messages and marks the registered texts they carry as relayed (a text is unique: it
    names its chat). ``relay_times`` then gives each text the sandbox's time of the
    ``sendMessage`` that relayed it.
    """

    def __init__(
        self, control: Control, changes: ChatChanges, chat_id: int, forum: bool = False
    ) -> None:
        self._control = control
        self._changes = changes
        self.chat_id = chat_id
        # A plain group gets each text under a header by sendMessage; a forum gets the
        # text itself, copied into the customer's topic.
        self.forum = forum
        self._expected: dict[str, int] = {}  # text -> the customer's chat
        self.relayed: dict[str, int] = {}  # text -> the staff chat's message id of its relay
        self.topic: dict[str, int] = {}  # text -> the forum topic it was copied into
        self._seen = 0  # the newest staff chat message already read
        self._task: asyncio.Task[None] | None = None

    def expect(self, chat_id: int, text: str) -> None:
        self._expected[text] = chat_id

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        changed = self._changes.event(self.chat_id)
        while True:
            await changed.wait()
            changed.clear()
            transcript = await self._control.transcript(self.chat_id)
            for message in transcript:
                if message["message_id"] <= self._seen or not message["from"]["is_bot"]:
                    continue
                text = str(message.get("text", ""))
                for line in [text] if self.forum else text.splitlines():
                    customer = self._expected.get(line)
                    if customer is not None and line not in self.relayed:
                        self.relayed[line] = int(message["message_id"])
                        if "message_thread_id" in message:
                            self.topic[line] = int(message["message_thread_id"])
                        self._changes.event(customer).set()
            self._seen = max((int(m["message_id"]) for m in transcript), default=self._seen)

    async def wait_for_relays(self, chat_id: int, texts: Sequence[str]) -> None:
        """Wait until every one of ``texts`` has reached the staff chat."""
        changed = self._changes.event(chat_id)
        deadline = time.monotonic() + REPLY_TIMEOUT
        while not all(text in self.relayed for text in texts):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReplyMissing(f"chat {chat_id}: a text never reached the staff chat")
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def relay_times(self, log: list[dict[str, Any]]) -> dict[str, float]:
        """The sandbox's time of each relayed text's call into the staff chat.

        The owed-message sender posts into one chat one message after another, so in a
        plain group the n-th successful ``sendMessage`` of the log into the staff chat made
        the n-th newest of the bot's messages there (cards and relays alike), counted from
        the end; in a forum the n-th ``copyMessage`` made the n-th copy of a text.
        """
        method = "copyMessage" if self.forum else "sendMessage"
        calls = sorted(
            float(entry["time"])
            for entry in log
            if entry["ok"] and entry["chat_id"] == self.chat_id and entry["method"] == method
        )
        if self.forum:
            posted = sorted(self.relayed.values())
        else:
            transcript = await self._control.transcript(self.chat_id)
            posted = sorted(int(m["message_id"]) for m in transcript if m["from"]["is_bot"])
        made_at = dict(zip(posted[len(posted) - len(calls) :], calls, strict=True))
        return {
            text: made_at[message_id]
            for text, message_id in self.relayed.items()
            if message_id in made_at
        }

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


# -- customers ----------------------------------------------------------------------------


class ReplyMissing(Exception):
    """The bot did not answer an action within REPLY_TIMEOUT."""


@dataclass
class Action:
    """One update a customer caused, with this process's clock around the injection."""

    chat_id: int
    what: str  # start, language, consent, skip, text
    sent: float  # just before the control API request
    accepted: float  # the control API request returned: the update is queued
    text: str | None = None  # a free text's words, which its relay to staff carries


class Customer:
    """A simulated customer in a private chat, following the registration script."""

    def __init__(
        self,
        control: Control,
        changes: ChatChanges,
        user: dict[str, Any],
        desk: StaffDesk | None = None,
    ) -> None:
        self.control = control
        self.changes = changes
        self.desk = desk  # carebot's staff chat, where free texts are answered
        self.chat_id = int(user["id"])
        self.locale = "en" if user.get("language_code") == "en" else "zh_CN"
        self.step = 0
        self.newest_id = 0  # the newest message id in the chat we know of
        self.last_bot: Message | None = None  # the newest bot message we know of

    async def act(self, actions: list[Action]) -> None:
        """Take the next step of the script and wait for the bot's reply to it."""
        step = self.step
        sent = time.time()
        if step == 0:
            what = "start"
            after = (await self.control.send_text(self.chat_id, "/start"))["message_id"]
        elif step in (1, 2):
            what = "language" if step == 1 else "consent"
            data = f"lang:{self.locale}" if step == 1 else "consent:yes"
            pressed = self.last_bot
            await self.control.press(self.chat_id, self._button_message(data), data)
            after = self.newest_id
        else:
            what = "skip" if step < REGISTRATION_STEPS else "text"
            text = self._skip_label() if what == "skip" else self._free_text(step)
            if what == "text":
                await self.write(text, actions)
                self.step += 1
                return
            after = (await self.control.send_text(self.chat_id, text))["message_id"]
        actions.append(Action(self.chat_id, what, sent, time.time()))
        if what == "language":
            # carebot asks the next question in the pressed message (an edit); the echo
            # bot answers with a new message. Either is the reply.
            await self.wait_for_bot_messages(after, 1, edited=pressed)
        else:
            await self.wait_for_bot_messages(after, 1)
        self.step += 1

    async def write(self, text: str, actions: list[Action]) -> None:
        """Write a free text and wait for its answer: the echo, or carebot's relay to staff."""
        if self.desk is not None:
            self.desk.expect(self.chat_id, text)
        sent = time.time()
        after = (await self.control.send_text(self.chat_id, text))["message_id"]
        actions.append(Action(self.chat_id, "text", sent, time.time(), text))
        if self.desk is not None:
            await self.desk.wait_for_relays(self.chat_id, [text])
        else:
            await self.wait_for_bot_messages(after, 1)

    def burst_texts(self, count: int) -> list[str]:
        return [f"Order check {self.chat_id} #{n}" for n in range(1, count + 1)]

    async def burst(self, texts: list[str]) -> None:
        """Write the texts one after another without waiting, then wait for their answers."""
        first = 0
        for text in texts:
            if self.desk is not None:
                self.desk.expect(self.chat_id, text)
            sent = await self.control.send_text(self.chat_id, text)
            first = first or int(sent["message_id"])
        if self.desk is not None:
            await self.desk.wait_for_relays(self.chat_id, texts)
        else:
            await self.wait_for_bot_messages(first, len(texts))

    async def wait_for_bot_messages(
        self, after: int, count: int, edited: Message | None = None
    ) -> list[Message]:
        """Wait until the bot has sent ``count`` messages newer than message ``after``,
        or has edited message ``edited`` (then that message, as it is now, is the one)."""
        changed = self.changes.event(self.chat_id)
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            # Clear before reading: a change during the read sets it again.
            changed.clear()
            transcript = await self.control.transcript(self.chat_id)
            newer = [m for m in transcript if m["from"]["is_bot"] and m["message_id"] > after]
            if edited is not None and not newer:
                newer = [
                    m
                    for m in transcript
                    if m["message_id"] == edited["message_id"]
                    and (m.get("text"), m.get("reply_markup"))
                    != (edited.get("text"), edited.get("reply_markup"))
                ]
            if len(newer) >= count:
                self.newest_id = max(m["message_id"] for m in transcript)
                self.last_bot = newer[-1]
                return newer
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ReplyMissing(f"chat {self.chat_id}: no reply after message {after}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _button_message(self, data: str) -> int:
        """The bot's newest message, which must carry the button if it has any buttons.

        The echo bot's messages have none: its customers press on its newest message.
        """
        assert self.last_bot is not None, "a button is pressed only after a bot message"
        rows = (self.last_bot.get("reply_markup") or {}).get("inline_keyboard", [])
        buttons = [button.get("callback_data") for row in rows for button in row]
        if buttons and data not in buttons:
            raise RuntimeError(f"chat {self.chat_id}: no {data!r} button, only {buttons}")
        return int(self.last_bot["message_id"])

    def _skip_label(self) -> str:
        """What the reply keyboard's Skip button says, in the customer's language."""
        keyboard = (self.last_bot or {}).get("reply_keyboard") or {}
        for row in keyboard.get("keyboard", []):
            for button in row:
                if isinstance(button, str):
                    return button
                if not button.get("request_contact"):
                    return str(button["text"])
        return "Skip"

    def _free_text(self, step: int) -> str:
        number = step - REGISTRATION_STEPS + 1
        return f"Question {number} from chat {self.chat_id}: where is my order?"


async def new_customers(
    control: Control,
    changes: ChatChanges,
    count: int,
    prefix: str,
    desk: StaffDesk | None = None,
) -> list[Customer]:
    """Create ``count`` sandbox users, half of them writing in Chinese, half in English."""
    users = await asyncio.gather(
        *(control.create_user(f"{prefix} {n}", "en" if n % 2 else "zh-hans") for n in range(count))
    )
    return [Customer(control, changes, user, desk) for user in users]


# -- measurements -------------------------------------------------------------------------


@dataclass
class Replies:
    """Each action paired with the sandbox's times of the bot's replies to it."""

    first: list[float]  # seconds from the action's acceptance to the first reply
    finished: float  # when the last reply of the last action reached the sandbox
    missing: int  # actions with no reply at all
    api_errors: int  # Bot API calls the sandbox refused
    early: int  # replies that reached the sandbox before we saw our POST return


def pair_replies(
    actions: list[Action], log: list[dict[str, Any]], relays: dict[str, float] | None = None
) -> Replies:
    """Match each action with the bot's calls into its chat before the chat's next action.

    Valid because a customer never acts before the reply to their previous action. With
    ``relays`` (carebot with a staff chat) a free text's reply is its relay to staff.
    """
    reply_times: dict[int, list[float]] = defaultdict(list)
    api_errors = 0
    for entry in log:
        if not entry["ok"]:
            api_errors += 1
        elif entry["method"] in REPLY_METHODS and isinstance(entry["chat_id"], int):
            reply_times[entry["chat_id"]].append(float(entry["time"]))
    by_chat: dict[int, list[Action]] = defaultdict(list)
    for action in actions:
        by_chat[action.chat_id].append(action)
    first: list[float] = []
    finished = 0.0
    missing = early = 0
    for chat_id, chat_actions in by_chat.items():
        times = sorted(reply_times.get(chat_id, []))
        chat_actions.sort(key=lambda a: a.sent)
        for n, action in enumerate(chat_actions):
            if relays is not None and action.text is not None:
                relayed = relays.get(action.text)
                if relayed is None:
                    missing += 1
                    continue
                early += relayed < action.accepted
                first.append(max(relayed - action.accepted, 0.0))
                finished = max(finished, relayed)
                continue
            end = chat_actions[n + 1].sent if n + 1 < len(chat_actions) else math.inf
            lo = bisect.bisect_left(times, action.sent)
            hi = bisect.bisect_left(times, end)
            if lo == hi:
                missing += 1
                continue
            # The reply may reach the sandbox before this busy process notices that its
            # POST returned; such a reply counts as immediate (and is counted).
            early += times[lo] < action.accepted
            first.append(max(times[lo] - action.accepted, 0.0))
            finished = max(finished, times[hi - 1])
    return Replies(first, finished, missing, api_errors, early)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (the value below which ``fraction`` of them lie)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


@dataclass
class Cpu:
    """CPU seconds used by each process during a phase."""

    bot: float
    sandbox: float
    load: float  # this process: the customers and the measuring

    @staticmethod
    def snapshot(bot: Child, sandbox: Child) -> Cpu:
        return Cpu(bot.cpu_seconds(), sandbox.cpu_seconds(), time.process_time())

    def since(self, before: Cpu) -> Cpu:
        return Cpu(self.bot - before.bot, self.sandbox - before.sandbox, self.load - before.load)


@dataclass
class Throughput:
    customers: int
    updates: int
    seconds: float
    per_second: float
    missing: int
    api_errors: int
    cpu: Cpu

    @property
    def bot_ms_per_update(self) -> float:
        return 1000 * self.cpu.bot / self.updates if self.updates else math.nan

    @property
    def bot_core_share(self) -> float:
        """The bot's CPU time over the phase's length: near 1 when it is the bottleneck."""
        return self.cpu.bot / self.seconds if self.seconds else math.nan


@dataclass
class Latency:
    customers: int
    updates: int
    offered_per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    missing: int
    api_errors: int
    replies_before_accepted: int
    cpu: Cpu


@dataclass
class Order:
    chats: int
    messages: int
    kept: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class Flood:
    """The other customers' reply latency while one customer floods the bot."""

    flood: int  # texts the flooding customer sent at once
    others: int  # customers writing meanwhile
    updates: int  # their texts
    p50_ms: float
    p99_ms: float
    max_ms: float
    missing: int
    flood_missing: int  # the flooding customer's texts left without a reply
    flood_seconds: float  # from the first flood text to its last reply


@dataclass
class BotRun:
    bot: str
    throughput: Throughput
    latency: Latency
    order: Order
    flood: Flood
    errors_logged: int
    census: dict[str, Any] | None = None


# -- phases -------------------------------------------------------------------------------


async def replies_to(control: Control, actions: list[Action], desk: StaffDesk | None) -> Replies:
    """Pair the actions with their replies in the sandbox's request log."""
    log = await control.requests()
    relays = await desk.relay_times(log) if desk is not None else None
    return pair_replies(actions, log, relays)


async def closed_loop(
    control: Control, customers: list[Customer], steps: int, bot: Child, sandbox: Child
) -> Throughput:
    """Every customer takes ``steps`` actions, each after the reply to the one before."""
    actions: list[Action] = []

    async def follow_script(customer: Customer) -> None:
        # A customer left without a reply stops; pair_replies counts the action missing.
        with contextlib.suppress(ReplyMissing):
            for _step in range(steps):
                await customer.act(actions)

    await control.clear_requests()
    before = Cpu.snapshot(bot, sandbox)
    await asyncio.gather(*(follow_script(c) for c in customers))
    cpu = Cpu.snapshot(bot, sandbox).since(before)
    replies = await replies_to(control, actions, customers[0].desk)
    seconds = replies.finished - min(a.sent for a in actions)
    return Throughput(
        customers=len(customers),
        updates=len(actions),
        seconds=seconds,
        per_second=len(actions) / seconds,
        missing=replies.missing,
        api_errors=replies.api_errors,
        cpu=cpu,
    )


async def paced(
    control: Control,
    customers: list[Customer],
    rate: float,
    seconds: float,
    bot: Child,
    sandbox: Child,
    rng: random.Random,
) -> Latency:
    """Inject ``rate`` updates/s for ``seconds``, each from a customer not awaiting a reply.

    The customer for each tick is drawn at random from those whose last action was
    answered, so registration steps and free texts of many chats interleave.
    """
    total = max(round(rate * seconds), 1)
    idle = list(customers)
    someone_idle = asyncio.Event()
    actions: list[Action] = []
    running: set[asyncio.Task[None]] = set()
    gone: list[Customer] = []

    async def take_step(customer: Customer) -> None:
        try:
            await customer.act(actions)
        except ReplyMissing:
            gone.append(customer)  # leaves; pair_replies counts the unanswered action
        else:
            idle.append(customer)
        someone_idle.set()

    await control.clear_requests()
    before = Cpu.snapshot(bot, sandbox)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for tick in range(total):
        delay = start + tick / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        while not idle:
            if len(gone) == len(customers):
                raise ReplyMissing("no customer is left: the bot stopped answering")
            someone_idle.clear()
            await someone_idle.wait()
        customer = idle.pop(rng.randrange(len(idle)))
        task = asyncio.create_task(take_step(customer))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    cpu = Cpu.snapshot(bot, sandbox).since(before)
    replies = await replies_to(control, actions, customers[0].desk)
    first_ms = [1000 * value for value in replies.first]
    span = max(a.sent for a in actions) - min(a.sent for a in actions)
    return Latency(
        customers=len(customers),
        updates=len(actions),
        offered_per_second=(len(actions) - 1) / span if span > 0 else math.nan,
        p50_ms=percentile(first_ms, 0.50),
        p99_ms=percentile(first_ms, 0.99),
        max_ms=max(first_ms, default=math.nan),
        missing=replies.missing,
        api_errors=replies.api_errors,
        replies_before_accepted=replies.early,
        cpu=cpu,
    )


async def bursts(customers: list[Customer]) -> dict[int, tuple[list[str], list[Message]]]:
    """Each customer writes BURST texts at once; return what they wrote and the replies."""

    async def one(customer: Customer) -> tuple[int, tuple[list[str], list[Message]]]:
        texts = customer.burst_texts(BURST)
        with contextlib.suppress(ReplyMissing):  # check_order reports the missing replies
            await customer.burst(texts)
        transcript = await customer.control.transcript(customer.chat_id)
        return customer.chat_id, (texts, transcript)

    return dict(await asyncio.gather(*(one(c) for c in customers)))


async def flood(control: Control, flooder: Customer, others: list[Customer], count: int) -> Flood:
    """``flooder`` sends ``count`` texts at once; the ``others`` write meanwhile."""
    actions: list[Action] = []
    started = asyncio.Event()
    flood_started = time.time()
    desk = flooder.desk
    texts = [f"Forwarded message {n + 1} from chat {flooder.chat_id}" for n in range(count)]

    async def send_flood() -> int:
        first = 0
        for n, text in enumerate(texts):
            if desk is not None:
                desk.expect(flooder.chat_id, text)
            sent = await control.send_text(flooder.chat_id, text)
            first = first or int(sent["message_id"])
            if n == min(count, 10) - 1:
                started.set()  # the others start once the flood is under way
        return first

    async def write(customer: Customer) -> None:
        await started.wait()
        with contextlib.suppress(ReplyMissing):  # pair_replies counts the missing reply
            for n in range(FLOOD_OTHER_TEXTS):
                await customer.write(f"Meanwhile {n + 1} from chat {customer.chat_id}", actions)

    await control.clear_requests()
    first, *_ = await asyncio.gather(send_flood(), *(write(c) for c in others))
    assert first is not None
    flood_missing = 0
    try:
        if desk is not None:
            await desk.wait_for_relays(flooder.chat_id, texts)
        else:
            await flooder.wait_for_bot_messages(first - 1, count)
    except ReplyMissing:
        if desk is not None:
            flood_missing = sum(text not in desk.relayed for text in texts)
        else:
            transcript = await control.transcript(flooder.chat_id)
            answered = [m for m in transcript if m["from"]["is_bot"] and m["message_id"] >= first]
            flood_missing = count - len(answered)
    log = await control.requests()
    relays = await desk.relay_times(log) if desk is not None else None
    replies = pair_replies(actions, log, relays)
    if relays is not None:
        flood_replies = [relays[text] for text in texts if text in relays]
    else:
        flood_replies = [
            float(entry["time"])
            for entry in log
            if entry["ok"]
            and entry["chat_id"] == flooder.chat_id
            and entry["method"] in REPLY_METHODS
        ]
    first_ms = [1000 * value for value in replies.first]
    return Flood(
        flood=count,
        others=len(others),
        updates=len(actions),
        p50_ms=percentile(first_ms, 0.50),
        p99_ms=percentile(first_ms, 0.99),
        max_ms=max(first_ms, default=math.nan),
        missing=replies.missing,
        flood_missing=flood_missing,
        flood_seconds=max(flood_replies, default=flood_started) - flood_started,
    )


def check_order(
    written: dict[int, tuple[list[str], list[Message]]], desk: StaffDesk | None
) -> Order:
    """Did each chat's answers come in the order of the customer's texts?

    The echo bot's replies repeat the texts, so the transcript shows their order.
    carebot's answer to a text is its relay into the staff chat: the relays of one
    chat's burst must follow one another there in the order of the texts.
    """
    problems: list[str] = []
    for chat_id, (texts, transcript) in written.items():
        if desk is not None:
            relayed = [desk.relayed.get(text) for text in texts]
            if None in relayed:
                missing = relayed.count(None)
                problems.append(f"chat {chat_id}: {missing} of {len(texts)} texts not relayed")
            elif relayed != sorted(relayed):  # type: ignore[type-var]
                problems.append(f"chat {chat_id}: relayed out of order")
            continue
        sent_ids = [
            m["message_id"]
            for m in transcript
            if not m["from"]["is_bot"] and m.get("text") in texts
        ]
        if len(sent_ids) != len(texts):
            problems.append(f"chat {chat_id}: the burst is not in the transcript")
            continue
        replies = [m for m in transcript if m["from"]["is_bot"] and m["message_id"] > min(sent_ids)]
        if len(replies) != len(texts):
            problems.append(f"chat {chat_id}: {len(replies)} replies to {len(texts)} texts")
        elif [m.get("text") for m in replies] != texts:
            problems.append(f"chat {chat_id}: replies out of order")
    return Order(
        chats=len(written),
        messages=sum(len(texts) for texts, _transcript in written.values()),
        kept=not problems,
        problems=problems[:10],
    )


# -- the conversation mix ------------------------------------------------------------------


@dataclass
class ConversationMix:
    """Customers' questions and staff answers through a forum staff group, paced."""

    customers: int
    agents: int
    questions: int
    answers: int
    offered_per_second: float
    to_staff_p50_ms: float  # customer's message accepted → its copy made in the topic
    to_staff_p99_ms: float
    to_staff_max_ms: float
    to_staff_missing: int
    to_customer_p50_ms: float  # staff message in the topic accepted → the bot's message
    to_customer_p99_ms: float  # in the customer's chat
    to_customer_max_ms: float
    to_customer_missing: int
    topics: int
    api_errors: int
    api_error_kinds: dict[str, int]  # "method: description" -> how many
    errors_logged: int
    cpu: Cpu
    census: dict[str, Any] | None = None


async def conversation_mix(
    sandbox: Child,
    sandbox_url: str,
    workdir: Path,
    options: Options,
    progress: Callable[[str], None],
) -> ConversationMix:
    """Registered customers ask and agents answer in their topics, ``--conversation-rate``
    updates/s in all (questions and answers alike) for ``--seconds``.

    A customer asks, waits for the copy of the question in their topic (and, for a
    conversation's first message, for the bot's "we got your message"); then an agent's
    answer to it is due; once the customer has the answer they may ask again. Each tick
    of the pace takes one due action, drawn at random: a question or an answer.
    """
    workdir = workdir / "conversations"
    workdir.mkdir(exist_ok=True)
    control = Control(sandbox_url)
    changes = ChatChanges(control)
    bot: Child | None = None
    desk: StaffDesk | None = None
    rate = options.conversation_rate
    total = max(round(rate * options.seconds), 2)
    census_file = workdir / "census-conversations.json" if options.census else None
    try:
        await control.reset()
        agents = [
            int((await control.create_user(f"Agent {n}", "zh-hans"))["id"])
            for n in range(CONVERSATION_AGENTS)
        ]
        staff_chat = await control.create_group("Care staff", agents, forum=True)
        desk = StaffDesk(control, changes, staff_chat, forum=True)
        bot = await start_bot("carebot", sandbox_url, workdir, staff_chat, agents, census_file)
        await changes.start()
        desk.start()
        count = max(math.ceil(total / (2 * CONVERSATION_ROUNDS)), 1)
        progress(f"conversations: registering {count} customers")
        customers = await new_customers(control, changes, count, "Asking")
        await asyncio.gather(*(_register(c) for c in customers))
        progress(
            f"conversations: {rate:g} updates/s for {options.seconds:g} s,"
            f" {count} customers, {len(agents)} agents, a forum staff group"
        )
        asked: list[Action] = []
        answered: list[Action] = []
        rng = random.Random(options.seed)
        due: list[Callable[[], Coroutine[Any, Any, None]]] = []
        someone_due = asyncio.Event()
        running: set[asyncio.Task[None]] = set()
        rounds: dict[int, int] = defaultdict(int)

        def make_due(action: Callable[[], Coroutine[Any, Any, None]]) -> None:
            due.append(action)
            someone_due.set()

        def question_of(customer: Customer) -> Callable[[], Coroutine[Any, Any, None]]:
            async def ask() -> None:
                rounds[customer.chat_id] += 1
                text = (
                    f"Question {rounds[customer.chat_id]} from chat {customer.chat_id}: 几点营业?"
                )
                desk.expect(customer.chat_id, text)
                sent = time.time()
                message = await control.send_text(customer.chat_id, text)
                asked.append(Action(customer.chat_id, "text", sent, time.time(), text))
                after = int(message["message_id"])
                with contextlib.suppress(ReplyMissing):  # counted missing from the log
                    if rounds[customer.chat_id] == 1:  # "we got your message"
                        after = int(
                            (await customer.wait_for_bot_messages(after, 1))[-1]["message_id"]
                        )
                    await desk.wait_for_relays(customer.chat_id, [text])
                    make_due(answer_of(customer, text, after))

            return ask

        def answer_of(
            customer: Customer, text: str, after: int
        ) -> Callable[[], Coroutine[Any, Any, None]]:
            async def answer() -> None:
                agent = agents[customer.chat_id % len(agents)]
                sent = time.time()
                await control.send_in_topic(
                    staff_chat, agent, desk.topic[text], f"Answer to chat {customer.chat_id}"
                )
                answered.append(Action(customer.chat_id, "answer", sent, time.time()))
                with contextlib.suppress(ReplyMissing):  # counted missing from the log
                    await customer.wait_for_bot_messages(after, 1)
                    make_due(question_of(customer))

            return answer

        for customer in customers:
            make_due(question_of(customer))
        await control.clear_requests()
        before = Cpu.snapshot(bot, sandbox)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for tick in range(total):
            delay = start + tick / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            while not due:
                someone_due.clear()
                try:
                    await asyncio.wait_for(someone_due.wait(), REPLY_TIMEOUT)
                except TimeoutError:
                    raise ReplyMissing("nothing is due: the bot stopped answering") from None
            task = asyncio.create_task(due.pop(rng.randrange(len(due)))())
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)
        cpu = Cpu.snapshot(bot, sandbox).since(before)
        log = await control.requests()
        relays = await desk.relay_times(log)
        topics = sum(1 for entry in log if entry["ok"] and entry["method"] == "createForumTopic")
    finally:
        if desk is not None:
            await desk.stop()
        await changes.stop()
        await control.close()
        if bot is not None:
            await bot.stop()
    to_staff = [1000 * max(relays[a.text] - a.accepted, 0.0) for a in asked if a.text in relays]
    to_customer = pair_replies(answered, log).first
    to_customer_ms = [1000 * value for value in to_customer]
    actions = asked + answered
    span = max(a.sent for a in actions) - min(a.sent for a in actions)
    return ConversationMix(
        customers=len(customers),
        agents=len(agents),
        questions=len(asked),
        answers=len(answered),
        offered_per_second=(len(actions) - 1) / span if span > 0 else math.nan,
        to_staff_p50_ms=percentile(to_staff, 0.50),
        to_staff_p99_ms=percentile(to_staff, 0.99),
        to_staff_max_ms=max(to_staff, default=math.nan),
        to_staff_missing=len(asked) - len(to_staff),
        to_customer_p50_ms=percentile(to_customer_ms, 0.50),
        to_customer_p99_ms=percentile(to_customer_ms, 0.99),
        to_customer_max_ms=max(to_customer_ms, default=math.nan),
        to_customer_missing=len(answered) - len(to_customer_ms),
        topics=topics,
        api_errors=sum(1 for entry in log if not entry["ok"]),
        api_error_kinds=dict(
            Counter(
                f"{entry['method']}: {entry.get('description')}" for entry in log if not entry["ok"]
            )
        ),
        errors_logged=len(bot.error_lines()),
        cpu=cpu,
        census=read_census(census_file, workdir, progress),
    )


def read_census(
    path: Path | None, workdir: Path, progress: Callable[[str], None]
) -> dict[str, Any] | None:
    """``--census``: what carebot did, per update it took in (its inbox rows)."""
    if path is None or not path.exists():
        return None
    counted = json.loads(path.read_text())
    with contextlib.closing(sqlite3.connect(carebot_database(workdir))) as database:
        [updates] = database.execute("SELECT count(*) FROM inbox_update").fetchone()
    per = max(updates, 1)
    summary = {
        "updates": updates,
        "statements_per_update": counted["statements_total"] / per,
        "commits_per_update": counted["commits"] / per,
        "api_calls_per_update": sum(counted["api_calls"].values()) / per,
        "statements": {k: v / per for k, v in counted["statements"].items()},
        "api_calls": {k: v / per for k, v in counted["api_calls"].items()},
    }
    top = ", ".join(f"{k} {v:.2f}" for k, v in list(summary["statements"].items())[:12])
    calls = ", ".join(f"{k} {v:.2f}" for k, v in summary["api_calls"].items())
    progress(
        f"census over {updates} updates, per update: {summary['statements_per_update']:.1f}"
        f" statements, {summary['commits_per_update']:.1f} commits,"
        f" {summary['api_calls_per_update']:.2f} Bot API calls\n  statements: {top}\n"
        f"  calls: {calls}"
    )
    return summary


async def _register(customer: Customer) -> None:
    for _step in range(REGISTRATION_STEPS):
        await customer.act([])


# -- one bot, the whole run ---------------------------------------------------------------


@dataclass
class Options:
    users: int = 200
    rate: float = 50.0
    seconds: float = 20.0
    warm_up: int = WARM_UP_CUSTOMERS
    seed: int = 1
    flood: int = FLOOD
    conversations: bool = False
    conversation_rate: float = 50.0
    census: bool = False

    @property
    def paced_customers(self) -> int:
        """Enough customers that each goes through the script about once: the same mix
        of registration steps and free texts as the closed loop."""
        return max(math.ceil(self.rate * self.seconds / SCRIPT_STEPS), 1)


async def measure_bot(
    kind: str,
    sandbox: Child,
    sandbox_url: str,
    workdir: Path,
    options: Options,
    progress: Callable[[str], None],
) -> BotRun:
    """Start one bot, run every phase against it, stop it."""
    control = Control(sandbox_url)
    changes = ChatChanges(control)
    bot: Child | None = None
    desk: StaffDesk | None = None
    census_file = workdir / "census.json" if options.census and kind == "carebot" else None
    try:
        await control.reset()
        if kind == "carebot":
            # A plain staff group: each free text's answer is its relay there.
            desk = StaffDesk(control, changes, await control.create_group("Care staff", []))
        bot = await start_bot(
            kind, sandbox_url, workdir, desk.chat_id if desk else None, census=census_file
        )
        await changes.start()
        if desk is not None:
            desk.start()
        rng = random.Random(options.seed)
        if options.warm_up:
            progress(f"{kind}: warm-up")
            warm = await new_customers(control, changes, options.warm_up, "Warm", desk)
            await asyncio.gather(*(_run_script(c) for c in warm))
        progress(f"{kind}: throughput, {options.users} customers")
        customers = await new_customers(control, changes, options.users, "Customer", desk)
        throughput = await closed_loop(control, customers, SCRIPT_STEPS, bot, sandbox)
        progress(f"{kind}: order, {len(customers)} bursts of {BURST}")
        written = await bursts(customers)
        progress(f"{kind}: latency, {options.rate:g} updates/s for {options.seconds:g} s")
        paced_customers = await new_customers(
            control, changes, options.paced_customers, "Paced", desk
        )
        latency = await paced(
            control, paced_customers, options.rate, options.seconds, bot, sandbox, rng
        )
        others = customers[1 : 1 + FLOOD_OTHERS]
        progress(f"{kind}: flood, {options.flood} texts at once, {len(others)} others writing")
        flooded = await flood(control, customers[0], others, options.flood)
    finally:
        if desk is not None:
            await desk.stop()
        await changes.stop()
        await control.close()
        if bot is not None:
            await bot.stop()
    order = check_order(written, desk)
    counted = read_census(census_file, workdir, progress)
    return BotRun(kind, throughput, latency, order, flooded, len(bot.error_lines()), counted)


async def _run_script(customer: Customer) -> None:
    for _step in range(SCRIPT_STEPS):
        await customer.act([])


async def run(
    options: Options, progress: Callable[[str], None], keep: Path | None = None
) -> dict[str, Any]:
    """Run both bots against one sandbox and return the report.

    The processes' logs and carebot's database go to a temporary folder, or to ``keep``
    (created if need be, and left in place) when given.
    """
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    with contextlib.ExitStack() as stack:
        if keep is None:
            workdir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="carebot-bench-"))
            )
        else:
            workdir = keep
            prepare_kept_workdir(workdir)
        sandbox, url = await start_sandbox(workdir)
        runs: list[BotRun] = []
        try:
            for kind in BOTS:
                runs.append(await measure_bot(kind, sandbox, url, workdir, options, progress))
            mix = None
            if options.conversations:
                mix = await conversation_mix(sandbox, url, workdir, options, progress)
        finally:
            await sandbox.stop()
    return report(options, runs, load_before, mix)


def report(
    options: Options,
    runs: list[BotRun],
    load_before: tuple[float, float, float] | None,
    mix: ConversationMix | None = None,
) -> dict[str, Any]:
    """The figures as plain JSON-ready values, with the machine and the targets."""
    by_bot = {run.bot: run for run in runs}
    echo, care = by_bot["echo"], by_bot["carebot"]
    ratio = care.throughput.per_second / echo.throughput.per_second
    cpu_ratio = echo.throughput.bot_ms_per_update / care.throughput.bot_ms_per_update
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": load_before,
        },
        "options": asdict(options),
        "bots": {
            run.bot: {
                **asdict(run),
                "throughput": {
                    **asdict(run.throughput),
                    "bot_ms_per_update": run.throughput.bot_ms_per_update,
                    "bot_core_share": run.throughput.bot_core_share,
                },
            }
            for run in runs
        },
        "ratio": ratio,
        "cpu_ratio": cpu_ratio,
        "targets": {
            "ratio_at_least": TARGET_RATIO,
            "ratio_met": ratio >= TARGET_RATIO,
            "p99_ms_under": TARGET_P99_MS,
            "p99_met": care.latency.p99_ms < TARGET_P99_MS,
            "order_kept": care.order.kept and echo.order.kept,
            "to_staff_p99_ms_under": TARGET_TO_STAFF_MS,
            "to_staff_met": None if mix is None else mix.to_staff_p99_ms < TARGET_TO_STAFF_MS,
        },
        "conversations": None if mix is None else asdict(mix),
    }


# -- output -------------------------------------------------------------------------------


def print_report(result: dict[str, Any], console: Console) -> None:
    bots = result["bots"]
    options = result["options"]
    table = Table(title="Inbound updates: carebot next to a bare PTB echo bot")
    table.add_column("")
    for bot in BOTS:
        table.add_column(bot, justify="right")
    table.add_column("target", justify="right")

    def row(label: str, values: Callable[[dict[str, Any]], str], target: str = "") -> None:
        table.add_row(label, *(values(bots[bot]) for bot in BOTS), target)

    targets = result["targets"]
    mark = {True: "[green]met[/]", False: "[red]missed[/]"}
    table.add_row(f"[bold]closed loop: {options['users']} × {SCRIPT_STEPS}[/]", "", "", "")
    row("updates handled / s", lambda b: f"{b['throughput']['per_second']:.0f}")
    table.add_row(
        "carebot / echo",
        "",
        f"{result['ratio']:.2f}",
        f"≥ {TARGET_RATIO} {mark[targets['ratio_met']]}",
    )
    row("updates", lambda b: str(b["throughput"]["updates"]))
    row("bot CPU ms / update", lambda b: f"{b['throughput']['bot_ms_per_update']:.2f}")
    table.add_row("echo CPU / carebot CPU", "", f"{result['cpu_ratio']:.2f}", "")
    row("bot busy (of one core)", lambda b: f"{b['throughput']['bot_core_share']:.0%}")
    row("CPU s bot/sandbox/load", lambda b: _cpu(b["throughput"]["cpu"]))
    table.add_row(
        f"[bold]paced: {options['rate']:g}/s for {options['seconds']:g} s[/]",
        "",
        "",
        "",
    )
    row("offered updates / s", lambda b: f"{b['latency']['offered_per_second']:.1f}")
    row("latency p50 ms", lambda b: f"{b['latency']['p50_ms']:.1f}")
    row(
        "latency p99 ms",
        lambda b: f"{b['latency']['p99_ms']:.1f}",
        f"< {TARGET_P99_MS:g} {mark[targets['p99_met']]}",
    )
    row("latency max ms", lambda b: f"{b['latency']['max_ms']:.1f}")
    row("CPU s bot/sandbox/load", lambda b: _cpu(b["latency"]["cpu"]))
    table.add_row(
        f"[bold]flood: {options['flood']} at once, others writing[/]",
        "",
        "",
        "",
    )
    row("others' latency p50 ms", lambda b: f"{b['flood']['p50_ms']:.1f}")
    row("others' latency p99 ms", lambda b: f"{b['flood']['p99_ms']:.1f}")
    row("others' latency max ms", lambda b: f"{b['flood']['max_ms']:.1f}")
    row("flood answered in s", lambda b: f"{b['flood']['flood_seconds']:.1f}")
    table.add_row("[bold]correctness[/]", "", "", "")
    row(
        "order kept (chats)",
        lambda b: f"{'yes' if b['order']['kept'] else 'NO'} ({b['order']['chats']})",
        mark[targets["order_kept"]],
    )
    row(
        "replies missing",
        lambda b: str(
            b["throughput"]["missing"]
            + b["latency"]["missing"]
            + b["flood"]["missing"]
            + b["flood"]["flood_missing"]
        ),
    )
    row(
        "API errors / bot errors",
        lambda b: (
            f"{b['throughput']['api_errors'] + b['latency']['api_errors']} / {b['errors_logged']}"
        ),
    )
    console.print(table)
    machine = result["machine"]
    console.print(
        f"{result['date']}, {machine['cpus']} CPUs, {machine['platform']},"
        f" Python {machine['python']}"
    )
    for bot in BOTS:
        for problem in bots[bot]["order"]["problems"]:
            console.print(f"[red]{bot}: {problem}[/]")
    if result["conversations"] is not None:
        print_conversations(result, console)


def print_conversations(result: dict[str, Any], console: Console) -> None:
    """The conversation mix, next to the echo bot's paced reply latency as the floor."""
    mix, echo = result["conversations"], result["bots"]["echo"]["latency"]
    mark = {True: "[green]met[/]", False: "[red]missed[/]"}
    table = Table(
        title=(
            f"Conversations in a forum staff group: {mix['customers']} customers,"
            f" {mix['agents']} agents, {mix['offered_per_second']:.1f} updates/s offered"
        )
    )
    for column in ("", "p50 ms", "p99 ms", "max ms", "missing", "target"):
        table.add_column(column, justify="right" if column else "left")
    met = mark[result["targets"]["to_staff_met"]]
    table.add_row(
        f"customer → topic ({mix['questions']} questions)",
        f"{mix['to_staff_p50_ms']:.1f}",
        f"{mix['to_staff_p99_ms']:.1f}",
        f"{mix['to_staff_max_ms']:.1f}",
        str(mix["to_staff_missing"]),
        f"p99 < {TARGET_TO_STAFF_MS:g} {met}",
    )
    table.add_row(
        f"topic → customer ({mix['answers']} answers)",
        f"{mix['to_customer_p50_ms']:.1f}",
        f"{mix['to_customer_p99_ms']:.1f}",
        f"{mix['to_customer_max_ms']:.1f}",
        str(mix["to_customer_missing"]),
        "",
    )
    table.add_row(
        "echo bot's reply (paced phase)",
        f"{echo['p50_ms']:.1f}",
        f"{echo['p99_ms']:.1f}",
        f"{echo['max_ms']:.1f}",
        str(echo["missing"]),
        "floor",
    )
    console.print(table)
    console.print(
        f"topics made: {mix['topics']}, API errors: {mix['api_errors']},"
        f" bot errors: {mix['errors_logged']}, CPU s bot/sandbox/load: {_cpu(mix['cpu'])}"
    )
    for kind, count in mix["api_error_kinds"].items():
        console.print(f"  {count} × {kind}")


def _cpu(cpu: dict[str, float]) -> str:
    return f"{cpu['bot']:.1f} / {cpu['sandbox']:.1f} / {cpu['load']:.1f}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/inbound.py",
        description="Updates/s and reply latency of carebot next to a bare PTB echo bot.",
    )
    parser.add_argument(
        "--users", type=int, default=200, help="customers in the closed loop (default 200)"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="paced updates/s (default 50)")
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="length of the paced phase (default 20)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 30 customers, 5 s paced (< 1 min)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the paced phase's draws")
    parser.add_argument(
        "--flood",
        type=int,
        default=FLOOD,
        help=f"texts one customer sends at once in the flood phase (default {FLOOD})",
    )
    parser.add_argument(
        "--conversations",
        action="store_true",
        help="also run the conversation mix: questions and agents' answers through a forum"
        " staff group for --seconds (carebot only)",
    )
    parser.add_argument(
        "--conversation-rate",
        type=float,
        help="updates/s of the conversation mix, questions and answers (default: --rate)",
    )
    parser.add_argument(
        "--census",
        action="store_true",
        help="count carebot's SQL statements, commits and Bot API calls per update (costs a"
        " little CPU: not for the timed figures)",
    )
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="instead: carebot on PostgreSQL polling, then by webhook with --instances"
        " instances behind a load balancer (bench/webhook.py); no echo bot, no flood",
    )
    parser.add_argument(
        "--instances",
        type=int,
        nargs="+",
        default=[1, 2, 3],
        help="with --webhook: the numbers of instances to measure (default 1 2 3)",
    )
    parser.add_argument(
        "--mix",
        choices=("texts", "commands"),
        default="texts",
        help="with --webhook: customers write free texts (answered by their relay to staff,"
        " default) or send /help, /status, /profile (answered in their chat)",
    )
    parser.add_argument(
        "--database-server",
        help="with --webhook: the PostgreSQL server to make databases on (default"
        f" $CAREBOT_BENCH_PG_URL or {WEBHOOK_SERVER})",
    )
    parser.add_argument("--json", type=Path, help="also write the report to this file")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep the logs and carebot's database in DIR"
    )
    args = parser.parse_args(argv)
    if args.users < 1 or args.rate <= 0 or args.seconds <= 0 or args.flood < 1:
        parser.error("--users, --rate, --seconds and --flood must be positive")
    if any(n < 1 for n in args.instances):
        parser.error("--instances must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the table, return the report."""
    args = parse_args(argv)
    options = Options(
        users=args.users,
        rate=args.rate,
        seconds=args.seconds,
        seed=args.seed,
        flood=args.flood,
        conversations=args.conversations,
        conversation_rate=args.conversation_rate or args.rate,
        census=args.census,
    )
    if args.quick:
        options.users, options.seconds = 30, 5.0
    options.warm_up = min(WARM_UP_CUSTOMERS, options.users)
    if args.webhook:
        if str(ROOT) not in sys.path:  # run as a script: bench/ and tests/ from the checkout
            sys.path.insert(0, str(ROOT))
        from bench import webhook

        return webhook.main(
            options, args.instances, args.database_server, args.json, args.keep, args.mix
        )
    console = Console(stderr=True)
    result = asyncio.run(run(options, lambda text: console.log(text), args.keep))
    print_report(result, Console())
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


if __name__ == "__main__":
    main()
