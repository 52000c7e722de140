"""Calls are checked against botapi.json and Telegram's limits, answered in its words."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.sandbox.client import SandboxClient, SandboxError
from tests.sandbox.conftest import TOKEN


def _error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["ok"] is False
    assert body["error_code"] == response.status_code
    return response.status_code, body["description"]


def _keyboard(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"inline_keyboard": [list(buttons)]}


async def test_text_of_4096_characters_passes_and_4097_fails(
    api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    ok = await api.post("sendMessage", json={"chat_id": customer["id"], "text": "字" * 4096})
    assert ok.status_code == 200 and ok.json()["result"]["text"] == "字" * 4096

    too_long = await api.post("sendMessage", json={"chat_id": customer["id"], "text": "a" * 4097})
    assert _error(too_long) == (400, "Bad Request: message is too long")


async def test_length_counts_text_after_entity_parsing(
    api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    text = "<b>" + "a" * 4096 + "</b>"
    response = await api.post(
        "sendMessage", json={"chat_id": customer["id"], "text": text, "parse_mode": "HTML"}
    )
    assert response.status_code == 200
    assert response.json()["result"]["text"] == text, "text is stored as sent"


async def test_missing_or_blank_text_is_empty(
    api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    for body in ({"chat_id": customer["id"]}, {"chat_id": customer["id"], "text": "  "}):
        response = await api.post("sendMessage", json=body)
        assert _error(response) == (400, "Bad Request: message text is empty")


async def test_missing_chat_id_and_unknown_chat(api: httpx.AsyncClient) -> None:
    assert _error(await api.post("sendMessage", json={"text": "hi"})) == (
        400,
        "Bad Request: chat_id is empty",
    )
    unknown = await api.post("sendMessage", json={"chat_id": 42, "text": "hi"})
    assert _error(unknown) == (400, "Bad Request: chat not found")
    assert _error(await api.post("getChat", json={"chat_id": 42})) == (
        400,
        "Bad Request: chat not found",
    )


async def test_unknown_method_is_not_found_and_bad_token_unauthorized(
    sandbox: Any, api: httpx.AsyncClient
) -> None:
    assert _error(await api.post("sendTelepathy", json={})) == (404, "Not Found")
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(f"{sandbox.bot_base_url}not-a-token/getMe")
    assert _error(response) == (401, "Unauthorized")


async def test_method_names_ignore_case_like_telegram(api: httpx.AsyncClient) -> None:
    response = await api.get("getme")
    assert response.json()["result"]["username"] == "carebot_sandbox_bot"
    assert response.json()["result"]["id"] == int(TOKEN.split(":")[0])


async def test_wrong_types_are_bad_requests(
    api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    response = await api.post(
        "deleteMessage", json={"chat_id": customer["id"], "message_id": "seven"}
    )
    status, description = _error(response)
    assert status == 400 and "message_id" in description and "Integer" in description

    response = await api.post(
        "sendMessage", json={"chat_id": customer["id"], "text": "x", "disable_notification": 3}
    )
    status, description = _error(response)
    assert status == 400 and "Boolean" in description

    response = await api.post(
        "sendMessage", data={"chat_id": customer["id"], "text": "x", "reply_markup": "{nope"}
    )
    status, description = _error(response)
    assert status == 400 and description.startswith("Bad Request: can't parse")


async def test_callback_data_is_limited_to_64_bytes(
    api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    async def send(data: str) -> httpx.Response:
        markup = _keyboard({"text": "Go", "callback_data": data})
        return await api.post(
            "sendMessage", json={"chat_id": customer["id"], "text": "x", "reply_markup": markup}
        )

    assert (await send("a" * 64)).status_code == 200
    assert (await send("好" * 21)).status_code == 200  # 63 bytes
    assert _error(await send("a" * 65)) == (400, "Bad Request: BUTTON_DATA_INVALID")
    assert _error(await send("好" * 22)) == (400, "Bad Request: BUTTON_DATA_INVALID")  # 66 bytes


@pytest.mark.parametrize(
    ("markup", "words"),
    [
        ({"inline_keyboard": {"text": "a", "callback_data": "b"}}, "must be an Array"),
        ({"inline_keyboard": [{"text": "a", "callback_data": "b"}]}, "Array"),
        (_keyboard({"text": "a"}), "Text buttons are unallowed"),
        (_keyboard({"text": "a", "callback_data": "b", "url": "https://x.org"}), "exactly one"),
        (_keyboard({"callback_data": "b"}), "text"),
        (_keyboard({"text": "a", "url": "javascript:alert(1)"}), "BUTTON_URL_INVALID"),
        ({"inline_keyboard": [[{"text": str(i), "callback_data": "x"}] for i in range(101)]},
         "too many"),
    ],
)  # fmt: skip
async def test_bad_inline_keyboards_are_rejected(
    api: httpx.AsyncClient, customer: dict[str, Any], markup: dict[str, Any], words: str
) -> None:
    response = await api.post(
        "sendMessage", json={"chat_id": customer["id"], "text": "x", "reply_markup": markup}
    )
    status, description = _error(response)
    assert status == 400 and words in description


async def test_caption_and_callback_answer_limits(
    api: httpx.AsyncClient, client: SandboxClient, customer: dict[str, Any]
) -> None:
    photo = await client.send_photo(customer["id"], customer["id"])
    file_id = photo["photo"][-1]["file_id"]
    ok = await api.post(
        "sendPhoto", json={"chat_id": customer["id"], "photo": file_id, "caption": "c" * 1024}
    )
    assert ok.status_code == 200
    too_long = await api.post(
        "sendPhoto", json={"chat_id": customer["id"], "photo": file_id, "caption": "c" * 1025}
    )
    assert _error(too_long) == (400, "Bad Request: message caption is too long")

    sent = await api.post(
        "sendMessage",
        json={
            "chat_id": customer["id"],
            "text": "x",
            "reply_markup": _keyboard({"text": "Go", "callback_data": "go"}),
        },
    )
    query_id = await client.press(
        customer["id"], customer["id"], sent.json()["result"]["message_id"], "go"
    )
    answer = await api.post(
        "answerCallbackQuery", json={"callback_query_id": query_id, "text": "t" * 201}
    )
    assert _error(answer) == (400, "Bad Request: MESSAGE_TOO_LONG")
    assert (await client.callback_answer(query_id)) == {"answered": False}
    ok = await api.post("answerCallbackQuery", json={"callback_query_id": query_id, "text": "好"})
    assert ok.json() == {"ok": True, "result": True}
    again = await api.post("answerCallbackQuery", json={"callback_query_id": query_id})
    assert _error(again)[1].startswith("Bad Request: query is too old")


async def test_markup_errors_in_html_and_markdown_v2(
    api: httpx.AsyncClient, customer: dict[str, Any]
) -> None:
    async def send(text: str, mode: str) -> httpx.Response:
        return await api.post(
            "sendMessage", json={"chat_id": customer["id"], "text": text, "parse_mode": mode}
        )

    assert (await send("<b>粗体</b> &lt;ok&gt;", "HTML")).status_code == 200
    status, description = _error(await send("Hi A<B", "HTML"))
    assert status == 400 and "can't parse entities" in description
    status, description = _error(await send("<b>open", "HTML"))
    assert status == 400 and "end tag" in description

    assert (await send("*bold* and \\. escaped", "MarkdownV2")).status_code == 200
    status, description = _error(await send("Price: 5.00", "MarkdownV2"))
    assert status == 400 and "Character '.' is reserved" in description
    assert _error(await send("x", "Klingon")) == (400, "Bad Request: unsupported parse_mode")


async def test_form_encoded_values_are_decoded_like_ptb_sends_them(
    api: httpx.AsyncClient, client: SandboxClient, customer: dict[str, Any]
) -> None:
    markup = {"inline_keyboard": [[{"text": "是", "callback_data": "yes"}]]}
    response = await api.post(
        "sendMessage",
        data={
            "chat_id": str(customer["id"]),
            "text": "确认?",
            "reply_markup": json.dumps(markup),
            "disable_notification": "true",
        },
    )
    assert response.status_code == 200
    [message] = await client.bot_messages(customer["id"])
    assert message["text"] == "确认?" and message["reply_markup"] == markup


async def test_set_my_commands_validates_command_names(
    api: httpx.AsyncClient, client: SandboxClient
) -> None:
    bad = await api.post(
        "setMyCommands", json={"commands": [{"command": "Start", "description": "x"}]}
    )
    assert _error(bad) == (400, "Bad Request: BOT_COMMAND_INVALID")
    good = await api.post(
        "setMyCommands",
        json={
            "commands": [{"command": "start", "description": "开始"}],
            "language_code": "zh",
            "scope": {"type": "all_private_chats"},
        },
    )
    assert good.json() == {"ok": True, "result": True}
    assert await client.commands() == [
        {
            "scope": {"type": "all_private_chats"},
            "language_code": "zh",
            "commands": [{"command": "start", "description": "开始"}],
        }
    ]
    listed = await api.post(
        "getMyCommands", json={"language_code": "zh", "scope": {"type": "all_private_chats"}}
    )
    assert listed.json()["result"] == [{"command": "start", "description": "开始"}]
    assert (await api.post("getMyCommands", json={})).json()["result"] == []


async def test_user_messages_must_come_from_known_members(
    client: SandboxClient, customer: dict[str, Any]
) -> None:
    other = await client.create_user("Other")
    with pytest.raises(SandboxError) as unknown_chat:
        await client.send_text(999, customer["id"], "hi")
    assert unknown_chat.value.status == 404
    with pytest.raises(SandboxError, match="not a member"):
        await client.send_text(customer["id"], other["id"], "hi")
    with pytest.raises(SandboxError, match="unknown user"):
        await client.send_text(customer["id"], 5, "hi")
    with pytest.raises(SandboxError, match="not found"):
        await client.press(customer["id"], customer["id"], 77, "data")
    with pytest.raises(SandboxError, match="not found"):
        await client.send_text(customer["id"], customer["id"], "re", reply_to_message_id=3)
