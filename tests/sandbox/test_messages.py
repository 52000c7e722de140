"""Messages, edits, deletes, files and transcripts, through the Bot API and the client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient, SandboxTimeout, find_button
from bot.sandbox.media import make_png
from tests.sandbox.conftest import BOT_ID, TOKEN


async def _result(response: httpx.Response) -> Any:
    body = response.json()
    assert body["ok"] is True, body
    return body["result"]


async def test_multipart_uploads_by_name_and_attach_then_download(
    sandbox: Sandbox, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    picture = make_png(12, 8)
    photo = await _result(
        await api.post(
            "sendPhoto",
            data={"chat_id": str(customer["id"]), "caption": "图"},
            files={"photo": ("p.png", picture, "image/png")},
        )
    )
    size = photo["photo"][-1]
    assert (size["width"], size["height"], size["file_size"]) == (12, 8, len(picture))

    document = await _result(
        await api.post(
            "sendDocument",
            data={"chat_id": str(customer["id"]), "document": "attach://report"},
            files={"report": ("报告.csv", b"a,b\n1,2\n", "text/csv")},
        )
    )
    assert document["document"]["file_name"] == "报告.csv"
    assert document["document"]["mime_type"] == "text/csv"

    file = await _result(await api.post("getFile", json={"file_id": size["file_id"]}))
    async with httpx.AsyncClient(trust_env=False) as http:
        download = await http.get(f"{sandbox.file_base_url}{TOKEN}/{file['file_path']}")
        missing = await http.get(f"{sandbox.file_base_url}{TOKEN}/photos/nothing.jpg")
    assert download.content == picture
    assert missing.status_code == 404

    reused = await api.post(
        "sendDocument",
        json={"chat_id": customer["id"], "document": document["document"]["file_id"]},
    )
    assert (await _result(reused))["document"]["file_id"] == document["document"]["file_id"]
    wrong = await api.post("sendPhoto", json={"chat_id": customer["id"], "photo": "nope"})
    assert wrong.json()["description"] == "Bad Request: wrong file identifier/HTTP URL specified"
    mismatch = await api.post(
        "sendPhoto", json={"chat_id": customer["id"], "photo": document["document"]["file_id"]}
    )
    assert mismatch.json()["description"] == "Bad Request: type of file mismatch"


async def test_edits_apply_in_place_and_refuse_no_change(
    client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    chat = customer["id"]
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    sent = await _result(
        await api.post("sendMessage", json={"chat_id": chat, "text": "v1", "reply_markup": markup})
    )
    same = await api.post(
        "editMessageText",
        json={
            "chat_id": chat,
            "message_id": sent["message_id"],
            "text": "v1",
            "reply_markup": markup,
        },
    )
    assert same.status_code == 400
    assert same.json()["description"].startswith("Bad Request: message is not modified")

    new_markup = {"inline_keyboard": [[{"text": "B", "callback_data": "b"}]]}
    edited = await _result(
        await api.post(
            "editMessageReplyMarkup",
            json={"chat_id": chat, "message_id": sent["message_id"], "reply_markup": new_markup},
        )
    )
    assert edited["reply_markup"] == new_markup and "edit_date" in edited
    [message] = await client.transcript(chat)
    assert message["text"] == "v1" and find_button(message, "B") == "b"
    with pytest.raises(AssertionError, match=r"buttons: \['B'\]"):
        find_button(message, "A")

    missing = await api.post(
        "editMessageText", json={"chat_id": chat, "message_id": 99, "text": "x"}
    )
    assert missing.json()["description"] == "Bad Request: message to edit not found"


async def test_users_messages_cannot_be_edited_but_can_be_deleted(
    client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    chat = customer["id"]
    mine = await client.send_text(chat, chat, "secret")
    edit = await api.post(
        "editMessageText", json={"chat_id": chat, "message_id": mine["message_id"], "text": "x"}
    )
    assert edit.json()["description"] == "Bad Request: message can't be edited"
    assert await _result(
        await api.post("deleteMessage", json={"chat_id": chat, "message_id": mine["message_id"]})
    )
    assert await client.transcript(chat) == []
    again = await api.post(
        "deleteMessage", json={"chat_id": chat, "message_id": mine["message_id"]}
    )
    assert again.json()["description"] == "Bad Request: message to delete not found"


async def test_transcript_shows_reply_keyboard_until_removed(
    client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    chat = customer["id"]
    keyboard = {"keyboard": [[{"text": "📱 分享", "request_contact": True}], ["稍后"]]}
    await api.post("sendMessage", json={"chat_id": chat, "text": "号码?", "reply_markup": keyboard})
    [asked] = await client.transcript(chat)
    assert asked["reply_keyboard"]["keyboard"] == [
        [{"text": "📱 分享", "request_contact": True}],
        [{"text": "稍后"}],
    ]
    assert "reply_markup" not in asked
    await api.post(
        "sendMessage",
        json={"chat_id": chat, "text": "好", "reply_markup": {"remove_keyboard": True}},
    )
    assert all("reply_keyboard" not in m for m in await client.transcript(chat))


async def test_transcript_marks_a_message_that_asks_for_a_reply(
    client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    chat = customer["id"]
    ask = {"force_reply": True, "input_field_placeholder": "回复"}
    await api.post("sendMessage", json={"chat_id": chat, "text": "原因?", "reply_markup": ask})
    await api.post("sendMessage", json={"chat_id": chat, "text": "谢谢"})
    asked, thanked = await client.transcript(chat)
    assert asked["force_reply"] is True and "reply_markup" not in asked
    assert "force_reply" not in thanked


async def test_get_chat_and_get_me(
    api: httpx.AsyncClient, client: SandboxClient, customer: dict[str, Any]
) -> None:
    me = await _result(await api.get("getMe"))
    assert me["id"] == BOT_ID and me["is_bot"] is True
    private = await _result(await api.post("getChat", json={"chat_id": customer["id"]}))
    assert private["type"] == "private" and private["first_name"] == "小明"
    group = await client.create_group("Care staff", [customer["id"]])
    info = await _result(await api.post("getChat", json={"chat_id": group["id"]}))
    assert info["type"] == "supergroup" and info["title"] == "Care staff"
    [listed] = [c for c in await client.chats() if c["id"] == group["id"]]
    assert [m["id"] for m in listed["members"]] == [customer["id"]]


async def test_wait_for_bot_message_times_out_with_the_transcript(
    client: SandboxClient, customer: dict[str, Any]
) -> None:
    await client.send_text(customer["id"], customer["id"], "有人吗")
    with pytest.raises(SandboxTimeout) as raised:
        await client.wait_for_bot_message(customer["id"], timeout=0.3)
    assert "有人吗" in str(raised.value) and "waited 0.3 s" in str(raised.value)


async def test_wait_for_bot_message_skips_older_and_non_matching(
    client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    chat = customer["id"]
    await api.post("sendMessage", json={"chat_id": chat, "text": "old"})
    sent = await client.send_text(chat, chat, "question")

    async def reply_later() -> None:
        await client.events(after=(await client.events())["version"], wait=0.2)
        await api.post("sendMessage", json={"chat_id": chat, "text": "typing..."})
        await api.post("sendMessage", json={"chat_id": chat, "text": "answer 42"})

    task = asyncio.create_task(reply_later())
    found = await client.wait_for_bot_message(
        chat,
        predicate=lambda m: "42" in m.get("text", ""),
        after_message_id=sent["message_id"],
        timeout=5,
    )
    await task
    assert found["text"] == "answer 42"


async def test_callback_answer_wait_times_out_clearly(
    client: SandboxClient, api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    sent = await _result(
        await api.post(
            "sendMessage", json={"chat_id": customer["id"], "text": "x", "reply_markup": markup}
        )
    )
    query_id = await client.press(customer["id"], customer["id"], sent["message_id"], "go")
    with pytest.raises(SandboxTimeout, match=query_id):
        await client.wait_for_callback_answer(query_id, timeout=0.2)


async def test_request_log_is_bounded_and_clearable(
    sandbox: Sandbox, client: SandboxClient, api: httpx.AsyncClient
) -> None:
    assert sandbox.world.requests.maxlen is not None
    await api.get("getMe")
    [entry] = await client.requests()
    assert entry["method"] == "getMe" and entry["ok"] is True and entry["error_code"] is None
    assert json.dumps(entry)
    await client.clear_requests()
    assert await client.requests() == []
