"""Forum supergroups through the real python-telegram-bot ``Bot`` over HTTP: topics, threads,
the bot's administrator rights, users' edits and the bot's reactions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from telegram import Bot, ChatMemberAdministrator, Message, ReactionTypeEmoji, ReplyParameters
from telegram.error import BadRequest

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient, SandboxError
from tests.sandbox.conftest import TOKEN

TOPICS = {"can_manage_topics": True}
BLUE, YELLOW = 7322096, 16766590


@pytest.fixture
async def ptb(sandbox: Sandbox) -> AsyncIterator[Bot]:
    async with Bot(
        TOKEN, base_url=sandbox.bot_base_url, base_file_url=sandbox.file_base_url
    ) as running:
        yield running


@pytest.fixture
async def agent(client: SandboxClient) -> dict[str, Any]:
    return await client.create_user("王丽", language_code="zh-hans")


@pytest.fixture
async def forum(client: SandboxClient, agent: dict[str, Any]) -> int:
    group = await client.create_group("Care staff", [agent["id"]], is_forum=True, bot_rights=TOPICS)
    return int(group["id"])


async def _updates(bot: Bot, offset: int = 0) -> list[Any]:
    return list(await bot.get_updates(offset=offset, timeout=0))


async def test_topics_are_created_written_to_edited_closed_and_reopened(
    ptb: Bot, client: SandboxClient, forum: int, agent: dict[str, Any]
) -> None:
    chat = await ptb.get_chat(forum)
    assert chat.is_forum is True

    topic = await ptb.create_forum_topic(forum, "Anna · C-1")
    assert (topic.name, topic.icon_color) == ("Anna · C-1", BLUE)
    other = await ptb.create_forum_topic(forum, "Li · C-2", icon_color=YELLOW)
    assert other.icon_color == YELLOW
    thread = topic.message_thread_id
    [created] = await client.transcript(forum, thread)
    assert created["message_id"] == thread
    assert created["forum_topic_created"] == {"name": "Anna · C-1", "icon_color": BLUE}
    assert created["from"]["is_bot"] is True

    in_topic = await ptb.send_message(forum, "New complaint from Anna", message_thread_id=thread)
    assert (in_topic.message_thread_id, in_topic.is_topic_message) == (thread, True)
    # As on Telegram: a message in a topic replies to the topic's creation message.
    assert in_topic.reply_to_message is not None
    assert in_topic.reply_to_message.forum_topic_created is not None
    assert in_topic.reply_to_message.forum_topic_created.name == "Anna · C-1"
    general = await ptb.send_message(forum, "Morning, team")
    assert general.message_thread_id is None and not general.is_topic_message

    texts = [m.get("text") for m in await client.transcript(forum, thread)]
    assert texts == [None, "New complaint from Anna"]
    assert [m["text"] for m in await client.transcript(forum, "general")] == ["Morning, team"]
    topics = await client.topics(forum)
    assert [t["name"] for t in topics] == ["General", "Anna · C-1", "Li · C-2"]
    assert topics[0]["message_thread_id"] is None and topics[0]["is_general"] is True
    assert topics[1]["message_count"] == 2 and topics[1]["is_closed"] is False

    assert await ptb.edit_forum_topic(forum, thread, name="Anna · C-1 (kettle)")
    with pytest.raises(BadRequest, match=r"(?i)topic_not_modified"):
        await ptb.edit_forum_topic(forum, thread, name="Anna · C-1 (kettle)")
    assert await ptb.close_forum_topic(forum, thread)
    with pytest.raises(BadRequest, match=r"(?i)topic_not_modified"):
        await ptb.close_forum_topic(forum, thread)
    topics = await client.topics(forum)
    assert (topics[1]["name"], topics[1]["is_closed"]) == ("Anna · C-1 (kettle)", True)

    # A closed topic refuses its members; the bot, an admin with can_manage_topics, writes.
    with pytest.raises(SandboxError, match="TOPIC_CLOSED"):
        await client.send_text(forum, agent["id"], "still there?", message_thread_id=thread)
    await ptb.send_message(forum, "Closed: resolved", message_thread_id=thread)
    assert await ptb.reopen_forum_topic(forum, thread)
    await client.send_text(forum, agent["id"], "reopened", message_thread_id=thread)

    services = [
        next(k for k in m if k.startswith("forum_topic_"))
        for m in await client.transcript(forum, thread)
        if any(k.startswith("forum_topic_") for k in m)
    ]
    assert services == [
        "forum_topic_created",
        "forum_topic_edited",
        "forum_topic_closed",
        "forum_topic_reopened",
    ]
    # The topic with the latest activity comes right after General.
    assert [t["name"] for t in await client.topics(forum)][1] == "Anna · C-1 (kettle)"


async def test_users_write_reply_and_edit_in_topics_and_the_bot_answers_there(
    ptb: Bot, client: SandboxClient, forum: int, agent: dict[str, Any]
) -> None:
    customer = await client.create_user("Anna", language_code="en")
    topic = await ptb.create_forum_topic(forum, "Anna")
    thread = topic.message_thread_id
    asked = await client.send_text(customer["id"], customer["id"], "My kettle leaks")
    copied = await ptb.copy_message(
        forum, customer["id"], asked["message_id"], message_thread_id=thread
    )

    typed = await client.send_text(
        forum, agent["id"], "We will send a new one", message_thread_id=thread
    )
    updates = await _updates(ptb)
    assert [u.message.text for u in updates] == ["My kettle leaks", "We will send a new one"]
    message = updates[-1].message
    assert isinstance(message, Message)
    assert (message.message_id, message.message_thread_id) == (typed["message_id"], thread)
    assert message.is_topic_message is True
    assert message.reply_to_message is not None
    assert message.reply_to_message.message_id == thread  # the topic's root, not a real reply

    # A reply to a specific message: that message, and the reply lands in its topic.
    quoted = await client.send_text(
        forum, agent["id"], "this one", reply_to_message_id=copied.message_id
    )
    assert quoted["message_thread_id"] == thread
    assert quoted["reply_to_message"]["message_id"] == copied.message_id
    # PTB's reply_text keeps the topic by itself (message_thread_id of the message).
    replied = await message.reply_text("Noted", do_quote=True)
    assert replied.message_thread_id == thread
    assert replied.reply_to_message is not None
    assert replied.reply_to_message.message_id == typed["message_id"]
    answer = await ptb.send_message(
        forum,
        "ok",
        message_thread_id=thread,
        reply_parameters=ReplyParameters(message_id=typed["message_id"]),
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.message_id == typed["message_id"]

    assert await ptb.send_chat_action(forum, "typing", message_thread_id=thread)
    forwarded = await ptb.forward_message(
        forum, customer["id"], asked["message_id"], message_thread_id=thread
    )
    assert forwarded.message_thread_id == thread and forwarded.forward_origin is not None
    photo = await client.send_photo(forum, agent["id"], caption="label", message_thread_id=thread)
    recaptioned = await client.edit_message(forum, photo["message_id"], caption="new label")
    assert (recaptioned["caption"], recaptioned["message_thread_id"]) == ("new label", thread)
    assert (await ptb.get_chat_member(forum, agent["id"])).status == "member"
    assert (await ptb.get_chat_member(forum, customer["id"])).status == "left"
    assert await ptb.edit_forum_topic(forum, thread, icon_custom_emoji_id="5312536423851630001")
    [listed] = [t for t in await client.topics(forum) if t["message_thread_id"] == thread]
    assert listed["icon_custom_emoji_id"] == "5312536423851630001"
    await _updates(ptb, offset=updates[-1].update_id + 1)  # the photo's update
    updates = await _updates(ptb)

    edited = await client.edit_message(forum, typed["message_id"], text="We will send TWO")
    assert "edit_date" in edited
    last = (await _updates(ptb, offset=updates[-1].update_id + 1))[-1]
    assert last.edited_message is not None
    assert last.edited_message.text == "We will send TWO"
    assert last.edited_message.message_thread_id == thread
    assert last.edited_message.edit_date is not None
    [shown] = [
        m for m in await client.transcript(forum, thread) if m["message_id"] == typed["message_id"]
    ]
    assert shown["text"] == "We will send TWO" and "edit_date" in shown
    assert shown["message_thread_id"] == thread and shown["is_topic_message"] is True

    # A customer edits in the private chat too.
    await client.edit_message(customer["id"], asked["message_id"], text="My kettle leaks badly")
    tail = await _updates(ptb, offset=last.update_id + 1)
    assert tail[-1].edited_message.text == "My kettle leaks badly"


async def test_rights_and_mode_are_enforced(
    ptb: Bot, client: SandboxClient, forum: int, agent: dict[str, Any]
) -> None:
    plain = await client.create_group("Plain", [agent["id"]], bot_rights=TOPICS)
    with pytest.raises(BadRequest, match=r"(?i)the chat is not a forum"):
        await ptb.create_forum_topic(plain["id"], "x")
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await ptb.send_message(plain["id"], "x", message_thread_id=5)

    topic = await ptb.create_forum_topic(forum, "Anna")
    thread = topic.message_thread_id
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await ptb.send_message(forum, "x", message_thread_id=thread + 100)
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await ptb.close_forum_topic(forum, thread + 100)
    with pytest.raises(BadRequest, match=r"(?i)topic_icon_color_invalid"):
        await ptb.create_forum_topic(forum, "x", icon_color=123)
    with pytest.raises(BadRequest, match=r"(?i)topic_title_too_long"):
        await ptb.create_forum_topic(forum, "x" * 129)
    with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
        await ptb.delete_message(forum, thread)
    with pytest.raises(BadRequest, match=r"(?i)message can't be copied"):
        await ptb.copy_message(forum, forum, thread)

    member = await ptb.get_chat_member(forum, ptb.id)
    assert isinstance(member, ChatMemberAdministrator) and member.can_manage_topics

    # Without can_manage_topics the bot creates nothing, but still manages its own topic;
    # writing into a closed topic is refused to it then, like to any member.
    await client.set_bot_rights(forum, None)
    assert (await ptb.get_chat_member(forum, ptb.id)).status == "member"
    with pytest.raises(BadRequest, match=r"(?i)not enough rights to create a topic"):
        await ptb.create_forum_topic(forum, "Li")
    assert await ptb.close_forum_topic(forum, thread)
    with pytest.raises(BadRequest, match=r"(?i)topic_closed"):
        await ptb.send_message(forum, "x", message_thread_id=thread)
    await ptb.send_message(forum, "General still open")

    # Plain mode: one flow, no threads; back to forum mode, the topics are there again.
    switched = await client.set_forum(forum, False)
    assert switched["is_forum"] is False
    assert not (await ptb.get_chat(forum)).is_forum
    assert all("message_thread_id" not in m for m in await client.transcript(forum))
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await ptb.send_message(forum, "x", message_thread_id=thread)
    with pytest.raises(SandboxError, match="not a forum"):
        await client.topics(forum)
    await client.set_forum(forum, True)
    assert [t["name"] for t in await client.topics(forum)] == ["General", "Anna"]


async def test_bot_reactions(
    ptb: Bot, client: SandboxClient, forum: int, agent: dict[str, Any]
) -> None:
    typed = await client.send_text(forum, agent["id"], "done")
    assert await ptb.set_message_reaction(forum, typed["message_id"], ReactionTypeEmoji("👍"))
    [shown] = await client.transcript(forum)
    assert shown["reactions"] == [{"type": "emoji", "emoji": "👍"}]
    with pytest.raises(BadRequest, match=r"(?i)reaction_invalid"):
        await ptb.set_message_reaction(forum, typed["message_id"], ReactionTypeEmoji("🚗"))
    with pytest.raises(BadRequest, match=r"(?i)reactions_too_many"):
        await ptb.set_message_reaction(forum, typed["message_id"], ["👍", "🔥"])
    with pytest.raises(BadRequest, match=r"(?i)message to react not found"):
        await ptb.set_message_reaction(forum, 999, "👍")
    assert await ptb.set_message_reaction(forum, typed["message_id"], [])
    assert "reactions" not in (await client.transcript(forum))[0]


async def test_forum_calls_are_validated_against_the_spec(
    api: httpx.AsyncClient, forum: int
) -> None:
    async def error(method: str, body: dict[str, Any]) -> str:
        response = await api.post(method, json=body)
        assert response.status_code == 400, response.text
        return str(response.json()["description"])

    assert await error("createForumTopic", {"chat_id": forum}) == "Bad Request: name is empty"
    assert await error(
        "createForumTopic", {"chat_id": forum, "name": "x", "icon_color": "blue"}
    ) == ('Bad Request: parameter "icon_color" must be of type Integer')
    assert await error("closeForumTopic", {"chat_id": forum}) == (
        "Bad Request: message_thread_id is empty"
    )
    assert await error(
        "sendMessage", {"chat_id": forum, "text": "x", "message_thread_id": "a"}
    ) == ('Bad Request: parameter "message_thread_id" must be of type Integer')
    assert await error(
        "setMessageReaction", {"chat_id": forum, "message_id": 1, "reaction": [{"type": "nope"}]}
    ) == ("Bad Request: can't parse reaction JSON object: unsupported ReactionType type")


async def test_control_api_refuses_bad_forum_input(
    ptb: Bot, client: SandboxClient, forum: int, agent: dict[str, Any]
) -> None:
    cases: list[tuple[Callable[[], Awaitable[Any]], int, str]] = [
        (lambda: client.update_chat(forum, is_forum="yes"), 400, "is_forum must be true or false"),
        (
            lambda: client.create_group("x", [], bot_rights={"can_fly": True}),
            400,
            "unknown administrator",
        ),
        (
            lambda: client.update_chat(forum, bot_rights={"can_manage_topics": "yes"}),
            400,
            "true or false",
        ),
        (lambda: client.update_chat(forum, title="x"), 400, "unknown chat fields"),
        (lambda: client.update_chat(agent["id"], is_forum=True), 400, "only groups"),
        (
            lambda: client.send_text(forum, agent["id"], "x", message_thread_id=77),
            404,
            "topic 77 not found",
        ),
        (
            lambda: client.send_message(forum, agent["id"], text="x", message_thread_id="1"),
            400,
            "integer",
        ),
        (lambda: client.transcript(forum, 77), 404, "topic 77 not found"),
        (lambda: client.edit_message(forum, 99, text="x"), 404, "message 99 not found"),
    ]
    for call, status, words in cases:
        with pytest.raises(SandboxError) as raised:
            await call()
            pytest.fail(f"no error, expected {words!r}")
        assert raised.value.status == status and words in str(raised.value), raised.value

    plain = await client.create_group("Plain", [agent["id"]])
    with pytest.raises(SandboxError, match="not a forum"):
        await client.send_text(plain["id"], agent["id"], "x", message_thread_id=1)
    with pytest.raises(SandboxError, match="not a forum"):
        await client.transcript(plain["id"], "general")
    typed = await client.send_text(forum, agent["id"], "hello")
    with pytest.raises(SandboxError, match="message is not modified"):
        await client.edit_message(forum, typed["message_id"], text="hello")
    with pytest.raises(SandboxError, match="a photo, document, voice or video"):
        await client.edit_message(forum, typed["message_id"], caption="hello")
    with pytest.raises(SandboxError, match="exactly one of text, caption"):
        await client.edit_message(forum, typed["message_id"])
    own = await ptb.send_message(forum, "the bot's own")
    with pytest.raises(SandboxError, match="only users' messages"):
        await client.edit_message(forum, own.message_id, text="changed")


async def test_the_playground_staff_group_lets_the_bot_open_topics_once_a_forum(
    sandbox: Sandbox, ptb: Bot, client: SandboxClient
) -> None:
    group = sandbox.ensure_staff_group()
    with pytest.raises(BadRequest, match=r"(?i)the chat is not a forum"):
        await ptb.create_forum_topic(group, "Anna")
    await client.set_forum(group)
    topic = await ptb.create_forum_topic(group, "Anna")
    assert [t["name"] for t in await client.topics(group)] == ["General", topic.name]


async def test_reply_chains_outside_topics_carry_their_root_as_thread(
    ptb: Bot, client: SandboxClient, agent: dict[str, Any]
) -> None:
    """Telegram's other thread id: a reply in a plain supergroup carries the chain's first
    message as message_thread_id, without is_topic_message; it is no topic to send to."""
    plain = (await client.create_group("Plain", [agent["id"]]))["id"]
    card = await ptb.send_message(plain, "Complaint C-1")
    first = await client.send_text(plain, agent["id"], "on it", reply_to_message_id=card.message_id)
    second = await client.send_text(
        plain, agent["id"], "done", reply_to_message_id=first["message_id"]
    )
    assert first["message_thread_id"] == second["message_thread_id"] == card.message_id
    assert "is_topic_message" not in second
    assert "message_thread_id" not in card.to_dict()
    [*_, update] = await _updates(ptb)
    assert update.message is not None and update.message.message_thread_id == card.message_id
    answer = await update.message.reply_text("thanks", do_quote=True)  # PTB leaves the thread out
    assert answer.message_thread_id == card.message_id and not answer.is_topic_message
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await ptb.send_message(plain, "x", message_thread_id=card.message_id)
    assert all("message_thread_id" not in m for m in await client.transcript(plain))
