"""setMyCommands, getMyCommands and deleteMyCommands with scopes and languages, as
Telegram keeps them: one menu per scope and language, the scope's chat checked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bot.sandbox.client import SandboxClient

START = [{"command": "start", "description": "Start"}]
QUEUE = [{"command": "queue", "description": "Open complaints"}]


def _error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["ok"] is False
    return body["error_code"], body["description"]


async def _get(api: httpx.AsyncClient, **params: Any) -> Any:
    response = await api.post("getMyCommands", json=params)
    assert response.json()["ok"], response.json()
    return response.json()["result"]


async def test_each_scope_and_language_has_its_own_menu(
    api: httpx.AsyncClient, client: SandboxClient
) -> None:
    ann = await client.create_user("Ann", language_code="en")
    group = await client.create_group("Staff", [ann["id"]])
    chat_scope = {"type": "chat", "chat_id": group["id"]}
    assert (await api.post("setMyCommands", json={"commands": START})).json()["ok"]
    made = await api.post(
        "setMyCommands", json={"commands": QUEUE, "scope": chat_scope, "language_code": "en"}
    )
    assert made.json() == {"ok": True, "result": True}
    assert await _get(api) == START
    assert await _get(api, scope=chat_scope, language_code="en") == QUEUE
    assert await _get(api, scope=chat_scope) == [], "no menu without a language there yet"
    member_scope = {"type": "chat_member", "chat_id": group["id"], "user_id": ann["id"]}
    assert (
        await api.post("setMyCommands", json={"commands": QUEUE, "scope": member_scope})
    ).json()["ok"]
    assert await _get(api, scope=member_scope) == QUEUE
    deleted = await api.post("deleteMyCommands", json={"scope": chat_scope, "language_code": "en"})
    assert deleted.json() == {"ok": True, "result": True}
    assert await _get(api, scope=chat_scope, language_code="en") == []
    assert await _get(api) == START, "other menus stay"


async def test_a_scope_names_a_chat_that_exists_and_a_member_of_it(
    api: httpx.AsyncClient, client: SandboxClient
) -> None:
    ann = await client.create_user("Ann")
    bob = await client.create_user("Bob")
    group = await client.create_group("Staff", [ann["id"]])
    missing = await api.post(
        "setMyCommands", json={"commands": QUEUE, "scope": {"type": "chat", "chat_id": -42}}
    )
    assert _error(missing) == (400, "Bad Request: chat not found")
    outsider = await api.post(
        "getMyCommands",
        json={"scope": {"type": "chat_member", "chat_id": group["id"], "user_id": bob["id"]}},
    )
    assert _error(outsider) == (400, "Bad Request: user not found")
    unknown = await api.post(
        "setMyCommands", json={"commands": QUEUE, "scope": {"type": "everyone"}}
    )
    assert unknown.json()["ok"] is False and unknown.json()["error_code"] == 400


@pytest.mark.parametrize("code", ["english", "EN", "z", "zh-hans"])
async def test_a_language_code_is_two_lowercase_letters(api: httpx.AsyncClient, code: str) -> None:
    for method, params in (
        ("setMyCommands", {"commands": START, "language_code": code}),
        ("getMyCommands", {"language_code": code}),
        ("deleteMyCommands", {"language_code": code}),
    ):
        refused = await api.post(method, json=params)
        assert _error(refused) == (400, "Bad Request: invalid language code specified"), method
