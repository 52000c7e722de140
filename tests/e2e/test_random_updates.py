"""Random updates in any order: no unhandled exception, nobody left without an answer.

Hypothesis plays customers who type anything, send commands (real and made up), media,
contacts, and press buttons with any callback data (real prefixes with forged ids, or
junk) on any message of their chat. After each action the bot must answer: a message
after theirs, or an answer to the button press; or, for a message in a conversation
(which staff answer, not the bot), show it to staff. The error handler must never run.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.sandbox.client import SandboxClient
from tests.conftest import CareTeam
from tests.helpers import RunningBot, wait_until

COMMANDS = [
    "/start", "/help", "/profile", "/language", "/stop", "/forget", "/complain", "/status",
    "/status C-2026-000001", "/cancel", "/skip", "/queue", "/complaint C-2026-000001",
    "/note C-2026-000001 hi", "/staff list", "/resolve C-2026-000001 done", "/weather",
]  # fmt: skip
PREFIXES = [
    "lang:", "consent:", "prof:", "forget:", "cx:cat:", "cx:file:", "cx:dup:add:", "cx:dup:",
    "cx:rate:", "cx:reopen:", "st:ack:", "st:take:", "st:res:", "st:reply:", "st:",
]  # fmt: skip
KNOWN_DATA = [
    "lang:en", "lang:zh_CN", "consent:yes", "consent:no", "prof:phone", "prof:birthday",
    "prof:language", "forget:no", "cx:cat:delivery", "cx:cat:other", "cx:file:go",
    "cx:file:continue", "cx:file:noref", "cx:file:submit", "cx:file:edit", "cx:file:cancel",
    "cx:dup:new", "cx:rate:1:5", "cx:rate:1:2", "cx:reopen:1", "st:ack:1", "st:take:1",
]  # fmt: skip

texts = st.text(min_size=1, max_size=120).filter(lambda s: s.strip() != "")
callback_data = st.one_of(
    st.sampled_from(KNOWN_DATA),
    st.builds(lambda p, n: f"{p}{n}", st.sampled_from(PREFIXES), st.integers(-5, 10**6)),
    st.text(min_size=1, max_size=30).filter(lambda s: 0 < len(s.encode()) <= 64),
)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("text"), texts),
        st.tuples(st.just("text"), st.sampled_from(COMMANDS)),
        st.tuples(st.just("text"), st.sampled_from(["Skip", "跳过", "1990-05-20", "农历八月十五"])),
        st.tuples(st.just("press"), callback_data),
        st.tuples(st.just("sticker"), st.none()),
        st.tuples(st.just("photo"), st.none()),
        st.tuples(st.just("contact"), st.booleans()),
    ),
    min_size=1,
    max_size=8,
)


class ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def act(
    client: SandboxClient, user: dict[str, Any], kind: str, value: Any, group: int
) -> None:
    chat = user["id"]
    shown_before = max((m["message_id"] for m in await client.transcript(group)), default=0)
    if kind == "press":
        transcript = await client.transcript(chat)
        bot_messages = [m for m in transcript if m["from"]["is_bot"]] or transcript
        if not bot_messages:
            sent = await client.send_text(chat, chat, "/start")
            await client.wait_for_bot_message(chat, after_message_id=sent["message_id"], timeout=10)
            bot_messages = await client.bot_messages(chat)
        query_id = await client.press(chat, chat, bot_messages[-1]["message_id"], value)
        await client.wait_for_callback_answer(query_id, timeout=10)
        return
    if kind == "text":
        sent = await client.send_text(chat, chat, value)
    elif kind == "sticker":
        sent = await client.send_sticker(chat, chat)
    elif kind == "photo":
        sent = await client.send_photo(chat, chat)
    else:
        sent = await client.send_contact(
            chat, chat, "+8613800138000", first_name=user["first_name"],
            user_id=chat if value else 4242,
        )  # fmt: skip

    async def answered_or_shown() -> bool:
        mine = await client.transcript(chat)
        if any(m["from"]["is_bot"] and m["message_id"] > sent["message_id"] for m in mine):
            return True
        staff_saw = await client.transcript(group)
        return any(m["from"]["is_bot"] and m["message_id"] > shown_before for m in staff_saw)

    await wait_until(answered_or_shown, 10)


@pytest.mark.timeout(600)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=actions, language=st.sampled_from(["en", "zh-hans", "de", None]))
async def test_random_updates_never_crash_and_always_get_an_answer(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    script: list[tuple[str, Any]],
    language: str | None,
) -> None:
    collector = ErrorCollector()
    logging.getLogger().addHandler(collector)
    try:
        user = await client.create_user("Rand", language_code=language)
        for kind, value in script:
            await act(client, user, kind, value, care_team.group_id)
    finally:
        logging.getLogger().removeHandler(collector)
    problems = [
        f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
        for r in collector.records
    ]
    assert problems == []
