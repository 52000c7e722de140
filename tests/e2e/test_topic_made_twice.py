"""A createForumTopic whose answer is lost (Telegram made the topic, the answer came
after the bot's read timeout) is retried and makes a second topic: the bot finds the
first one, which no update and no Bot API method would show it, and deletes it; without
the right to, it tells staff in the topic in use, with a link (issue 11)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.owed_jobs import owed_sender
from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from handlers.lost_topics import MAX_PROBES
from tests.e2e.test_conversations import (  # noqa: F401 (fixtures)
    forum_bot,
    forum_team,
    topic_of,
)
from tests.helpers import Customer, RunningBot, text_of, wait_until, zh

LOST = zh(
    "⚠ Telegram's answer to creating this topic was lost, so it was created again. The bot "
    "could not delete the first one, which is empty: please delete it."
)


async def dora_asks(
    forum_bot: RunningBot,  # noqa: F811
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    team: dict[str, Any],
) -> tuple[Customer, list[dict[str, Any]]]:
    """Dora's first question; Telegram makes her topic but its answer comes too late.
    Returns her and the topics of the chat once her question is in the topic in use."""
    assert forum_bot.built is not None
    # On Telegram a supergroup's message 1 is its creation, and General's id: no topic
    # is ever 1 (the bot does not probe it). The sandbox's chat starts empty.
    group = team["group"]
    await client.send_text(group, team["agent"]["id"], "早上好")
    owed_sender(forum_bot.built.application).read_timeout = 0.5
    await client.fault(kind="late_answer", method="createForumTopic", seconds=1.5, count=1)
    dora = Customer(client, await client.create_user("Dora", language_code="en"), timeout=20)
    await dora.say("Is the shop open on Sunday?")

    async def copied() -> bool:
        clock.advance(timedelta(seconds=2))  # the retry's backoff runs on the test clock
        topic = await topic_of(sessionmaker, dora.id)
        if topic is None or topic.thread_id is None:
            return False
        shown = await client.transcript(group, topic.thread_id)
        return any("Sunday" in text_of(m) for m in shown)

    await wait_until(copied, 30, interval=0.2)
    return dora, [t for t in await client.topics(group) if not t["is_general"]]


async def test_the_topic_made_by_the_lost_attempt_is_found_and_deleted(
    forum_bot: RunningBot,  # noqa: F811
    client: SandboxClient,
    forum_team: dict[str, Any],  # noqa: F811
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group = forum_team["group"]
    await client.clear_requests()
    dora, _shown = await dora_asks(forum_bot, client, sessionmaker, clock, forum_team)

    async def one_topic() -> bool:
        return len([t for t in await client.topics(group) if not t["is_general"]]) == 1

    await wait_until(one_topic, 20)
    [kept] = [t for t in await client.topics(group) if not t["is_general"]]
    topic = await topic_of(sessionmaker, dora.id)
    assert topic is not None and kept["message_thread_id"] == topic.thread_id
    calls = [r["method"] for r in await client.requests()]
    # The sandbox logs a call once it answers: the late create is not (its client left).
    assert calls.count("createForumTopic") == 1 and calls.count("deleteForumTopic") == 1
    assert "editForumTopic" in calls, "the window was probed"
    # The probe message sent into the lost topic went with it; nothing else is left.
    assert not [m for m in await client.transcript(group) if text_of(m) == "·"]
    assert not [m for m in await client.transcript(group, kept["message_thread_id"])
                if LOST in text_of(m)]  # fmt: skip


async def test_without_the_right_to_delete_it_staff_get_a_link_to_it(
    forum_bot: RunningBot,  # noqa: F811
    client: SandboxClient,
    forum_team: dict[str, Any],  # noqa: F811
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group = forum_team["group"]
    await client.update_chat(group, bot_rights={"can_manage_topics": True})
    dora, topics = await dora_asks(forum_bot, client, sessionmaker, clock, forum_team)
    topic = await topic_of(sessionmaker, dora.id)
    assert topic is not None and topic.thread_id is not None
    assert len(topics) == 2, "the first one stays: the bot may not delete it"
    [lost] = [t["message_thread_id"] for t in topics if t["message_thread_id"] != topic.thread_id]
    notice = await client.wait_for_bot_message(group, lambda m: LOST in text_of(m), timeout=20)
    assert notice.get("message_thread_id") == topic.thread_id, "told in the topic in use"
    assert f"https://t.me/c/{str(group)[4:]}/{lost}" in text_of(notice)
    assert not [m for m in await client.transcript(group) if text_of(m) == "·"]


async def test_when_too_much_came_in_between_to_check_staff_are_told_to_look(
    forum_bot: RunningBot,  # noqa: F811
    client: SandboxClient,
    forum_team: dict[str, Any],  # noqa: F811
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group, agent = forum_team["group"], forum_team["agent"]["id"]
    assert forum_bot.built is not None
    await client.send_text(group, agent, "早上好")
    owed_sender(forum_bot.built.application).read_timeout = 0.5
    await client.fault(kind="late_answer", method="createForumTopic", seconds=1.5, count=1)
    dora = Customer(client, await client.create_user("Dora", language_code="en"), timeout=20)
    await dora.say("Is the shop open on Sunday?")

    async def made_once() -> bool:
        return len([t for t in await client.topics(group) if not t["is_general"]]) == 1

    await wait_until(made_once, 20)
    # Before the retry (its backoff runs on the test clock), staff chat a lot in General.
    for n in range(MAX_PROBES + 5):
        await client.send_text(group, agent, f"午饭吃什么？{n}")
    unsure = zh(
        "⚠ Telegram's answer to creating this topic was lost, so it was created again. The "
        "bot could not check the whole forum for the first one: if you see an empty topic "
        "with this topic's name, please delete it."
    )

    async def told() -> bool:
        clock.advance(timedelta(seconds=2))
        return any(unsure in text_of(m) for m in await client.bot_messages(group))

    await wait_until(told, 30, interval=0.2)
    topic = await topic_of(sessionmaker, dora.id)
    assert topic is not None and topic.thread_id is not None
    [notice] = [m for m in await client.bot_messages(group) if unsure in text_of(m)]
    assert notice.get("message_thread_id") == topic.thread_id, "told in the topic in use"
    names = [t["name"] for t in await client.topics(group) if not t["is_general"]]
    assert len(names) == 2 and names[0] == names[1], "the first one was not reached"
