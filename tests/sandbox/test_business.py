"""Telegram Business in the sandbox: connections, business messages, replies and the rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.sandbox import Sandbox
from bot.sandbox.business import REPLY_WINDOW_SECONDS
from bot.sandbox.client import SandboxClient, SandboxError
from bot.sandbox.limits import RateLimits
from bot.sandbox.spec import SPEC_PATH
from tests.sandbox.conftest import BOT_ID, TOKEN

SPEC_TYPES = json.loads(SPEC_PATH.read_text(encoding="utf-8"))["types"]


class Clock:
    """The sandbox's time, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sandbox(clock: Clock) -> AsyncIterator[Sandbox]:
    async with Sandbox(limits=RateLimits.off(), clock=clock) as running:
        yield running


def assert_fits(type_name: str, value: dict[str, Any]) -> None:
    """``value`` has every required field of the spec's type and no field it lacks."""
    fields = {f["name"]: f for f in SPEC_TYPES[type_name]["fields"]}
    required = {name for name, f in fields.items() if f["required"]}
    assert required <= value.keys(), (type_name, required - value.keys())
    assert value.keys() <= fields.keys(), (type_name, value.keys() - fields.keys())


async def _updates(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    body = (await api.post("getUpdates", json={"timeout": 0})).json()
    assert body["ok"], body
    updates: list[dict[str, Any]] = body["result"]
    if updates:
        await api.post("getUpdates", json={"offset": updates[-1]["update_id"] + 1})
    return updates


async def _people(client: SandboxClient) -> tuple[int, int]:
    owner = await client.create_user("Tea Shop")
    customer = await client.create_user("小红", language_code="zh-hans")
    return owner["id"], customer["id"]


async def test_connect_change_rights_and_disconnect_are_updates_that_fit_the_spec(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    owner, _ = await _people(client)
    connection = await client.connect_business(owner, {"can_reply": True})
    changed = await client.connect_business(owner, {"can_reply": True, "can_read_messages": True})
    gone = await client.disconnect_business(connection["id"])

    updates = [u["business_connection"] for u in await _updates(api)]
    for update in updates:
        assert_fits("BusinessConnection", update)
        assert_fits("BusinessBotRights", update.get("rights", {}))
    assert [u["id"] for u in updates] == [connection["id"]] * 3
    assert changed["id"] == connection["id"]
    assert updates[0]["user"]["id"] == owner and updates[0]["user_chat_id"] == owner
    assert updates[1]["rights"] == {"can_reply": True, "can_read_messages": True}
    assert [u["is_enabled"] for u in updates] == [True, True, False]
    assert gone["is_enabled"] is False
    # getBusinessConnection tells the same.
    result = (
        await api.post("getBusinessConnection", json={"business_connection_id": connection["id"]})
    ).json()["result"]
    assert result == updates[-1]


async def test_unknown_rights_are_refused(client: SandboxClient) -> None:
    owner, _ = await _people(client)
    with pytest.raises(SandboxError, match="unknown business bot rights"):
        await client.connect_business(owner, {"can_fly": True})


async def test_customer_message_edit_and_delete_reach_the_bot_as_business_updates(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    owner, customer = await _people(client)
    connection = await client.connect_business(owner)
    await _updates(api)

    sent = await client.business_write(connection["id"], customer, "/complain 茶是凉的")
    await client.business_edit(connection["id"], customer, sent["message_id"], "茶是冷的")
    await client.business_delete(connection["id"], customer, [sent["message_id"]])

    updates = await _updates(api)
    kinds = [next(k for k in u if k != "update_id") for u in updates]
    assert kinds == ["business_message", "edited_business_message", "deleted_business_messages"]
    message = updates[0]["business_message"]
    assert message["business_connection_id"] == connection["id"]
    assert message["chat"] == {"id": customer, "type": "private", "first_name": "小红"}
    assert message["from"]["id"] == customer
    assert message["entities"][0]["type"] == "bot_command"
    assert updates[1]["edited_business_message"]["text"] == "茶是冷的"
    assert "edit_date" in updates[1]["edited_business_message"]
    deleted = updates[2]["deleted_business_messages"]
    assert_fits("BusinessMessagesDeleted", deleted)
    assert deleted["message_ids"] == [sent["message_id"]]
    # The bot's own chat with the customer is another chat: nothing there.
    assert await client.transcript(customer) == []


async def test_bot_replies_through_the_connection_as_the_account(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    owner, customer = await _people(client)
    connection = await client.connect_business(owner)
    asked = await client.business_write(connection["id"], customer, "有绿茶吗？")

    body = (
        await api.post(
            "sendMessage",
            json={
                "business_connection_id": connection["id"],
                "chat_id": customer,
                "text": "有的",
                "reply_parameters": {"message_id": asked["message_id"]},
            },
        )
    ).json()
    assert body["ok"], body
    reply = body["result"]
    assert reply["business_connection_id"] == connection["id"]
    assert reply["from"]["id"] == owner  # the customer sees the shop answer
    assert reply["sender_business_bot"]["id"] == BOT_ID
    assert reply["reply_to_message"]["message_id"] == asked["message_id"]
    edited = (
        await api.post(
            "editMessageText",
            json={
                "business_connection_id": connection["id"],
                "chat_id": customer,
                "message_id": reply["message_id"],
                "text": "有的，明天到货",
            },
        )
    ).json()
    assert edited["ok"], edited

    transcript = await client.business_transcript(connection["id"], customer)
    assert [m["text"] for m in transcript] == ["有绿茶吗？", "有的，明天到货"]
    assert transcript[1]["sender_business_bot"] is True
    # Only the customer's message was an update: the bot's own is not echoed.
    updates = await _updates(api)
    assert [u.get("business_message", {}).get("text") for u in updates[1:]] == ["有绿茶吗？"]


@pytest.mark.parametrize(
    ("rights", "disconnect", "wanted"),
    [
        ({"can_read_messages": True}, False, "BUSINESS_CONNECTION_NOT_ALLOWED"),
        ({"can_reply": True}, True, "BUSINESS_CONNECTION_NOT_ALLOWED"),
    ],
)
async def test_send_is_refused_without_the_right_or_when_disabled(
    client: SandboxClient,
    api: httpx.AsyncClient,
    rights: dict[str, bool],
    disconnect: bool,
    wanted: str,
) -> None:
    owner, customer = await _people(client)
    connection = await client.connect_business(owner, rights)
    await client.business_write(connection["id"], customer, "在吗")
    if disconnect:
        await client.disconnect_business(connection["id"])
    body = (
        await api.post(
            "sendMessage",
            json={"business_connection_id": connection["id"], "chat_id": customer, "text": "在"},
        )
    ).json()
    assert body == {"ok": False, "error_code": 400, "description": f"Bad Request: {wanted}"}
    transcript = await client.business_transcript(connection["id"], customer)
    assert [m["text"] for m in transcript] == ["在吗"]


async def test_unknown_connection_is_invalid(api: httpx.AsyncClient, client: SandboxClient) -> None:
    _, customer = await _people(client)
    body = (
        await api.post(
            "sendMessage", json={"business_connection_id": "nope", "chat_id": customer, "text": "x"}
        )
    ).json()
    assert body["description"] == "Bad Request: BUSINESS_CONNECTION_INVALID"


async def test_replies_only_within_24_hours_of_the_customers_last_message(
    client: SandboxClient, api: httpx.AsyncClient, clock: Clock
) -> None:
    owner, customer = await _people(client)
    stranger = (await client.create_user("Stranger"))["id"]
    connection = await client.connect_business(owner)
    await client.business_write(connection["id"], customer, "你好")

    async def send(chat_id: int) -> dict[str, Any]:
        payload = {"business_connection_id": connection["id"], "chat_id": chat_id, "text": "好"}
        return dict((await api.post("sendMessage", json=payload)).json())

    clock.now += REPLY_WINDOW_SECONDS
    assert (await send(customer))["ok"] is True  # exactly 24 h: still open
    clock.now += 1
    late = await send(customer)
    assert late["description"] == "Bad Request: BUSINESS_PEER_USAGE_MISSING"
    # Never wrote at all: the same.
    assert (await send(stranger))["description"] == "Bad Request: BUSINESS_PEER_USAGE_MISSING"
    # A new message from the customer opens the window again.
    await client.business_write(connection["id"], customer, "还在吗")
    assert (await send(customer))["ok"] is True


async def test_owner_writing_by_hand_is_a_business_message_from_the_owner(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    owner, customer = await _people(client)
    connection = await client.connect_business(owner)
    await client.business_write(connection["id"], customer, "你好")
    await client.business_write(connection["id"], owner, "您好，我来处理", chat_id=customer)
    updates = [u["business_message"] for u in (await _updates(api))[1:]]
    assert [(m["from"]["id"], m["chat"]["id"]) for m in updates] == [
        (customer, customer),
        (owner, customer),
    ]


async def test_disabled_connection_delivers_no_messages(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    owner, customer = await _people(client)
    connection = await client.connect_business(owner)
    await client.disconnect_business(connection["id"])
    await client.business_write(connection["id"], customer, "有人吗")
    kinds = [next(k for k in u if k != "update_id") for u in await _updates(api)]
    assert kinds == ["business_connection", "business_connection"]


async def test_ptb_reads_business_updates(client: SandboxClient, sandbox: Sandbox) -> None:
    """python-telegram-bot parses what the sandbox sends (its own check of the spec)."""
    from telegram import Bot

    owner, customer = await _people(client)
    connection = await client.connect_business(owner)
    await client.business_write(connection["id"], customer, "你好")
    await client.business_delete(connection["id"], customer, [1])
    async with Bot(TOKEN, base_url=sandbox.bot_base_url) as bot:
        updates = await bot.get_updates(timeout=0)
        assert updates[0].business_connection is not None
        assert updates[0].business_connection.rights is not None
        assert updates[0].business_connection.rights.can_reply is True
        assert updates[1].business_message is not None
        assert updates[1].business_message.business_connection_id == connection["id"]
        assert updates[2].deleted_business_messages is not None
        assert updates[2].deleted_business_messages.message_ids == (1,)
        sent = await bot.send_message(customer, "您好", business_connection_id=connection["id"])
        assert sent.sender_business_bot is not None


async def test_button_press_in_a_business_chat_is_a_callback_query_of_the_business_message(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    owner, customer = await _people(client)
    connection = await client.connect_business(owner)
    await client.business_write(connection["id"], customer, "投诉")
    markup = {"inline_keyboard": [[{"text": "产品", "callback_data": "cat:product"}]]}
    sent = (
        await api.post(
            "sendMessage",
            json={
                "business_connection_id": connection["id"],
                "chat_id": customer,
                "text": "哪一类？",
                "reply_markup": markup,
            },
        )
    ).json()["result"]
    with pytest.raises(SandboxError, match="no button"):
        await client.business_press(connection["id"], customer, sent["message_id"], "forged")
    query_id = await client.business_press(
        connection["id"], customer, sent["message_id"], "cat:product"
    )
    update = (await _updates(api))[-1]["callback_query"]
    assert update["id"] == query_id
    assert update["message"]["business_connection_id"] == connection["id"]
    assert update["from"]["id"] == customer


async def test_customer_sends_the_account_a_photo_the_bot_can_pass_on_by_file(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    owner, customer = await _people(client)
    connection = await client.connect_business(owner)
    group = await client.create_group("Care staff", [owner])
    await _updates(api)
    await client.business_send(connection["id"], customer, photo={}, caption="罐子瘪了")
    (update,) = await _updates(api)
    message = update["business_message"]
    assert (message["business_connection_id"], message["caption"]) == (connection["id"], "罐子瘪了")
    file_id = message["photo"][-1]["file_id"]
    body = (await api.post("sendPhoto", json={"chat_id": group["id"], "photo": file_id})).json()
    assert body["ok"], body
    assert body["result"]["photo"][-1]["file_unique_id"] == message["photo"][-1]["file_unique_id"]


async def test_copy_message_knows_no_business_chats(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    """copyMessage has no business_connection_id in the Bot API (the reference's method
    list): Telegram ignores it, and the message id is taken in the bot's own chat, where
    message 1 is another message than the Business chat's message 1."""
    owner, customer = await _people(client)
    connection = await client.connect_business(owner)
    group = await client.create_group("Care staff", [owner])
    await client.send_text(customer, customer, "给机器人的")
    in_business = await client.business_write(connection["id"], customer, "给商店的")
    assert in_business["message_id"] == 1
    body = (
        await api.post(
            "copyMessage",
            json={
                "chat_id": group["id"],
                "from_chat_id": customer,
                "message_id": 1,
                "business_connection_id": connection["id"],
            },
        )
    ).json()
    assert body["ok"], body
    assert [m.get("text") for m in await client.transcript(group["id"])] == ["给机器人的"]


async def test_a_deletion_names_the_business_chat(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    owner, customer = await _people(client)
    connection = await client.connect_business(owner)
    sent = await client.business_write(connection["id"], customer, "发错了")
    await _updates(api)
    await client.business_delete(connection["id"], customer, [sent["message_id"]])
    (update,) = await _updates(api)
    deleted = update["deleted_business_messages"]
    assert_fits("BusinessMessagesDeleted", deleted)
    assert deleted["chat"]["id"] == customer
    assert await client.transcript(customer) == []


async def test_voice_video_and_sticker_go_by_file_through_the_connection(
    client: SandboxClient, api: httpx.AsyncClient
) -> None:
    """sendVoice, sendVideo, sendVideoNote and sendSticker take business_connection_id:
    the file lands in the Business chat, from the account; stickers and video notes carry
    no caption (the spec has none, so one given is ignored)."""
    owner, customer = await _people(client)
    connection = await client.connect_business(owner)
    voice = (await client.business_send(connection["id"], customer, voice={}))["voice"]
    sticker = (await client.business_send(connection["id"], customer, sticker={}))["sticker"]
    video = (await client.business_send(connection["id"], customer, video={}))["video"]
    note = (await client.business_send(connection["id"], customer, video_note={}))["video_note"]
    await _updates(api)
    through = {"business_connection_id": connection["id"], "chat_id": customer}
    for method, field, file, caption in (
        ("sendVoice", "voice", voice, "听"),
        ("sendVideo", "video", video, "看"),
        ("sendSticker", "sticker", sticker, None),
        ("sendVideoNote", "video_note", note, None),
    ):
        body = (
            await api.post(method, json={**through, field: file["file_id"], "caption": "署名"})
        ).json()
        assert body["ok"], body
        result = body["result"]
        assert result["business_connection_id"] == connection["id"]
        assert result[field]["file_unique_id"] == file["file_unique_id"]
        assert result.get("caption") == ("署名" if caption else None)
    transcript = await client.business_transcript(connection["id"], customer)
    sent = [m for m in transcript if m.get("sender_business_bot")]
    assert [next(k for k in ("voice", "video", "sticker", "video_note") if k in m)
            for m in sent] == ["voice", "video", "sticker", "video_note"]  # fmt: skip
    assert await client.transcript(customer) == [], "nothing in the bot's own chat"
    # A file of another kind, and a blocked connection's rules, as for sendPhoto.
    mismatch = (await api.post("sendVoice", json={**through, "voice": video["file_id"]})).json()
    assert mismatch["description"] == "Bad Request: type of file mismatch"
    missing = (await api.post("sendSticker", json=through)).json()
    assert missing["description"] == "Bad Request: there is no sticker in the request"
