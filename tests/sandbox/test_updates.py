"""getUpdates long polling, offset confirmation, and the playground's events long poll."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient


async def _poll(api: httpx.AsyncClient, **params: Any) -> tuple[list[dict[str, Any]], float]:
    started = time.monotonic()
    response = await api.post("getUpdates", json=params)
    body = response.json()
    assert body["ok"] is True, body
    return body["result"], time.monotonic() - started


async def _until(condition: Any, seconds: float = 2.0) -> None:
    """Yield to the loop until ``condition()`` holds (bounded: fails after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    sandbox: Sandbox, client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    poll = asyncio.create_task(_poll(api, timeout=5))
    await _until(lambda: sandbox.world.poll_generation == 1)  # the poll is waiting
    assert not poll.done()
    sent = await client.send_text(customer["id"], customer["id"], "来了")
    updates, elapsed = await poll
    assert elapsed < 1.0
    assert [u["message"] for u in updates] == [sent]
    assert updates[0]["message"]["from"]["language_code"] == "zh-hans"


async def test_empty_list_after_timeout(api: httpx.AsyncClient) -> None:
    updates, elapsed = await _poll(api, timeout=1)
    assert updates == []
    assert 0.9 <= elapsed < 2.0


async def test_offset_confirms_and_limit_cuts(
    client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    for text in ("one", "two", "three"):
        await client.send_text(customer["id"], customer["id"], text)
    updates, _ = await _poll(api)
    ids = [u["update_id"] for u in updates]
    assert [u["message"]["text"] for u in updates] == ["one", "two", "three"]
    assert ids == sorted(ids) and len(set(ids)) == 3

    again, _ = await _poll(api, limit=2)
    assert [u["update_id"] for u in again] == ids[:2], "nothing is confirmed without offset"
    rest, _ = await _poll(api, offset=ids[1])
    assert [u["update_id"] for u in rest] == ids[1:]
    assert (await _poll(api, offset=ids[2] + 1))[0] == []

    await client.send_text(customer["id"], customer["id"], "four")
    newer, _ = await _poll(api, offset=ids[0])  # old offsets confirm nothing new
    assert [u["message"]["text"] for u in newer] == ["four"]
    assert newer[0]["update_id"] > ids[2], "update ids only grow"


async def test_negative_offset_keeps_the_last_updates(
    client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    for text in ("a", "b", "c"):
        await client.send_text(customer["id"], customer["id"], text)
    last, _ = await _poll(api, offset=-1)
    assert [u["message"]["text"] for u in last] == ["c"]


async def test_a_newer_poll_ends_the_older_with_conflict(
    sandbox: Sandbox, api: httpx.AsyncClient
) -> None:
    older = asyncio.create_task(api.post("getUpdates", json={"timeout": 5}))
    await _until(lambda: sandbox.world.poll_generation == 1)
    newer, _ = await _poll(api, timeout=0)
    response = await older
    assert response.status_code == 409
    assert response.json()["description"].startswith("Conflict: terminated by other getUpdates")
    assert newer == []


async def test_callback_query_update_carries_the_message(
    client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    sent = await api.post(
        "sendMessage", json={"chat_id": customer["id"], "text": "Sure?", "reply_markup": markup}
    )
    message = sent.json()["result"]
    query_id = await client.press(customer["id"], customer["id"], message["message_id"], "yes")
    [update], _ = await _poll(api)
    callback = update["callback_query"]
    assert callback["id"] == query_id and callback["data"] == "yes"
    assert callback["from"]["id"] == customer["id"]
    assert callback["message"] == message


async def test_allowed_updates_filters_new_updates(
    client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    await _poll(api, allowed_updates=["callback_query"])
    await client.send_text(customer["id"], customer["id"], "ignored")
    assert (await _poll(api))[0] == []
    await _poll(api, allowed_updates=[])
    await client.send_text(customer["id"], customer["id"], "seen")
    assert [u["message"]["text"] for u in (await _poll(api))[0]] == ["seen"]


async def test_webhook_blocks_get_updates_until_deleted(api: httpx.AsyncClient) -> None:
    await api.post("setWebhook", json={"url": "https://example.invalid/hook"})
    assert (await api.post("getWebhookInfo")).json()["result"]["url"].endswith("/hook")
    assert (await api.post("getUpdates")).status_code == 409
    await api.post("deleteWebhook")
    assert (await _poll(api))[0] == []


async def test_events_long_poll_wakes_on_change_and_times_out(
    client: SandboxClient, customer: dict[str, Any]
) -> None:
    now = await client.events()
    waiting = asyncio.create_task(client.events(after=now["version"], wait=5))
    started = time.monotonic()
    await client.send_text(customer["id"], customer["id"], "hi")
    event = await waiting
    assert time.monotonic() - started < 1.0
    assert event["version"] > now["version"]
    assert event["chats_changed"] == [customer["id"]]

    started = time.monotonic()
    quiet = await client.events(after=event["version"], wait=0.5)
    assert quiet["chats_changed"] == [] and quiet["version"] == event["version"]
    assert time.monotonic() - started >= 0.45


async def test_events_for_one_chat_and_after_reset(client: SandboxClient) -> None:
    first = (await client.create_user("A"))["id"]
    second = (await client.create_user("B"))["id"]
    version = (await client.events())["version"]
    waiting = asyncio.create_task(client.events(after=version, wait=5, chat_id=second))
    await client.send_text(first, first, "not for you")
    await client.send_text(second, second, "for you")
    event = await waiting
    assert event["chats_changed"] == [second]

    await client.reset()
    after_reset = await client.events(after=event["version"], wait=5)
    assert after_reset["reset"] is True
    assert await client.chats() == []


async def test_events_list_each_changed_chat_once_in_change_order(client: SandboxClient) -> None:
    first = (await client.create_user("A"))["id"]
    second = (await client.create_user("B"))["id"]
    version = (await client.events())["version"]
    await client.send_text(second, second, "1")
    await client.send_text(first, first, "2")
    await client.send_text(second, second, "3")
    event = await client.events(after=version)
    assert event["chats_changed"] == [first, second]
    assert event["version"] == version + 3
