"""Deleting: deleteMessage's limitations, deleteMessages, deleteForumTopic, and
editMessageCaption (what a message that may no longer be deleted can still become)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from tests.sandbox.conftest import TOKEN

HOURS_48 = 48 * 3600


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def world() -> AsyncIterator[tuple[Clock, SandboxClient, httpx.AsyncClient]]:
    clock = Clock()
    async with (
        Sandbox(clock=clock) as sandbox,
        SandboxClient(sandbox.url) as client,
        httpx.AsyncClient(
            base_url=f"{sandbox.bot_base_url}{TOKEN}/", trust_env=False, timeout=10
        ) as api,
    ):
        yield clock, client, api


async def call(api: httpx.AsyncClient, method: str, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = (await api.post(method, json=params)).json()
    return body


async def test_delete_messages_skips_missing_ones_and_refuses_what_may_not_go(
    world: tuple[Clock, SandboxClient, httpx.AsyncClient],
) -> None:
    clock, client, api = world
    agent = await client.create_user("王丽", language_code="zh-hans")
    group = (await client.create_group("Staff", [agent["id"]]))["id"]
    ours = [
        (await call(api, "sendMessage", chat_id=group, text=f"copy {n}"))["result"]["message_id"]
        for n in range(3)
    ]
    theirs = (await client.send_text(group, agent["id"], "staff words"))["message_id"]

    # Someone else's message in a supergroup needs can_delete_messages: nothing goes.
    refused = await call(api, "deleteMessages", chat_id=group, message_ids=[ours[0], theirs])
    assert refused["description"] == "Bad Request: message can't be deleted"
    assert len(await client.transcript(group)) == 4

    done = await call(api, "deleteMessages", chat_id=group, message_ids=[ours[0], ours[1], 999])
    assert done == {"ok": True, "result": True}, "a missing one is skipped"
    assert [m["message_id"] for m in await client.transcript(group)] == [ours[2], theirs]
    again = await call(api, "deleteMessages", chat_id=group, message_ids=[ours[0]])
    assert again["ok"] is True, "all gone already: skipped"

    assert (await call(api, "deleteMessages", chat_id=group, message_ids=[]))["ok"] is False
    many = await call(api, "deleteMessages", chat_id=group, message_ids=list(range(1, 102)))
    assert many["ok"] is False

    # 48 hours later even the bot's own message stays; an edit still works.
    clock.now += HOURS_48
    old = await call(api, "deleteMessages", chat_id=group, message_ids=[ours[2]])
    assert old["description"] == "Bad Request: message can't be deleted"
    single = await call(api, "deleteMessage", chat_id=group, message_id=ours[2])
    assert single["description"] == "Bad Request: message can't be deleted"
    edited = await call(api, "editMessageText", chat_id=group, message_id=ours[2], text="(gone)")
    assert edited["ok"] is True


async def test_an_administrator_with_the_right_deletes_anybody_s_message(
    world: tuple[Clock, SandboxClient, httpx.AsyncClient],
) -> None:
    _clock, client, api = world
    agent = await client.create_user("王丽", language_code="zh-hans")
    group = await client.create_group(
        "Staff", [agent["id"]], bot_rights={"can_delete_messages": True}
    )
    theirs = (await client.send_text(group["id"], agent["id"], "staff words"))["message_id"]
    assert (await call(api, "deleteMessage", chat_id=group["id"], message_id=theirs))["ok"]
    assert await client.transcript(group["id"]) == []


async def test_delete_forum_topic_takes_every_message_in_it(
    world: tuple[Clock, SandboxClient, httpx.AsyncClient],
) -> None:
    _clock, client, api = world
    agent = await client.create_user("王丽", language_code="zh-hans")
    rights = {"can_manage_topics": True}
    forum = (await client.create_group("Staff", [agent["id"]], is_forum=True, bot_rights=rights))[
        "id"
    ]
    topic = (await call(api, "createForumTopic", chat_id=forum, name="🟢 Anna · #1"))["result"]
    thread = topic["message_thread_id"]
    await call(api, "sendMessage", chat_id=forum, text="in the topic", message_thread_id=thread)
    await client.send_text(forum, agent["id"], "an answer", message_thread_id=thread)
    general = (await call(api, "sendMessage", chat_id=forum, text="in General"))["result"]

    refused = await call(api, "deleteForumTopic", chat_id=forum, message_thread_id=thread)
    assert refused["description"] == "Bad Request: not enough rights to delete a topic"

    await client.update_chat(forum, bot_rights={**rights, "can_delete_messages": True})
    done = await call(api, "deleteForumTopic", chat_id=forum, message_thread_id=thread)
    assert done == {"ok": True, "result": True}
    left = await client.transcript(forum)
    assert [m["message_id"] for m in left] == [general["message_id"]]
    assert [t["name"] for t in await client.topics(forum)] == ["General"]
    again = await call(api, "deleteForumTopic", chat_id=forum, message_thread_id=thread)
    assert again["description"] == "Bad Request: message thread not found"


async def test_edit_message_caption_changes_a_photo_s_caption_not_a_text(
    world: tuple[Clock, SandboxClient, httpx.AsyncClient],
) -> None:
    _clock, client, api = world
    customer = await client.create_user("Anna", language_code="en")
    chat = customer["id"]
    photo = await client.send_photo(chat, chat, caption="my kettle")
    copy = await call(api, "copyMessage", chat_id=chat, from_chat_id=chat,
                      message_id=photo["message_id"])  # fmt: skip
    copied = copy["result"]["message_id"]
    edited = await call(
        api, "editMessageCaption", chat_id=chat, message_id=copied, caption="(erased)"
    )
    assert edited["ok"] is True and edited["result"]["caption"] == "(erased)"
    text = (await call(api, "sendMessage", chat_id=chat, text="hello"))["result"]["message_id"]
    refused = await call(api, "editMessageCaption", chat_id=chat, message_id=text, caption="x")
    assert refused["description"] == "Bad Request: there is no caption in the message to edit"
