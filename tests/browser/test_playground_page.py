"""The playground page in headless Chromium: create a customer, chat, press buttons.

Needs Debian's chromium (``apt-get install -y chromium``); without it the test fails with
that instruction rather than skipping.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from tests.browser.conftest import WAIT_MS

SCREENSHOT = Path("/tmp/playground.png")
TOKEN = "7000000001:playground-browser-test"


@pytest.fixture
async def bot_api(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """The Bot API as the bot would call it (no bot runs in this test)."""
    async with httpx.AsyncClient(
        base_url=f"{sandbox.bot_base_url}{TOKEN}/", trust_env=False, timeout=10
    ) as http:
        yield http


async def _next_update(bot_api: httpx.AsyncClient, offset: int, kind: str) -> dict[str, Any]:
    """Long-poll getUpdates until an update of ``kind`` arrives (bounded by a deadline)."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while time.monotonic() < deadline:
        response = await bot_api.post("getUpdates", json={"offset": offset, "timeout": 1})
        for update in response.json()["result"]:
            offset = update["update_id"] + 1
            if kind in update:
                await bot_api.post("getUpdates", json={"offset": offset, "timeout": 0})
                return dict(update)
    raise AssertionError(f"no {kind} update within {WAIT_MS} ms")


async def test_customer_chats_presses_buttons_and_shares_contact(
    page: Page, client: SandboxClient, bot_api: httpx.AsyncClient
) -> None:
    # The page made the staff side on load.
    [group] = [chat for chat in await client.chats() if chat["type"] == "supergroup"]
    assert group["title"] == "Care staff"
    assert [m["first_name"] for m in group["members"]] == ["Staff Agent"]

    await page.fill("#customer-name", "王小明")
    await page.select_option("#customer-language", "zh-hans")
    await page.click("#customer-create")
    await expect(page.locator("#customer-title")).to_have_text("王小明", timeout=WAIT_MS)
    [customer] = [u for u in await client.users() if u["first_name"] == "王小明"]
    assert customer["language_code"] == "zh-hans"
    chat = customer["id"]

    await page.fill("#customer-input", "你好，我的快递还没到")
    await page.press("#customer-input", "Enter")
    mine = page.locator("#customer-chat [data-testid=message][data-from=user]")
    await expect(mine.first).to_contain_text("你好，我的快递还没到", timeout=WAIT_MS)
    message_update = await _next_update(bot_api, 0, "message")
    assert message_update["message"]["text"] == "你好，我的快递还没到"
    assert message_update["message"]["from"]["language_code"] == "zh-hans"

    # A bot message with an inline keyboard renders a button; clicking it makes a
    # callback query for the bot, whose answer shows as a toast.
    keyboard = {"inline_keyboard": [[{"text": "满意 👍", "callback_data": "rate:5"}]]}
    sent = await bot_api.post(
        "sendMessage",
        json={"chat_id": chat, "text": "<b>请评价</b>我们的服务", "parse_mode": "HTML",
              "reply_markup": keyboard},
    )  # fmt: skip
    bot_message_id = sent.json()["result"]["message_id"]
    button = page.locator("#customer-chat [data-testid=inline-button]", has_text="满意")
    await expect(button).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#customer-chat b", has_text="请评价")).to_be_visible()
    await button.click()
    callback = (await _next_update(bot_api, 0, "callback_query"))["callback_query"]
    assert callback["data"] == "rate:5"
    assert callback["from"]["id"] == chat
    assert callback["message"]["message_id"] == bot_message_id
    await bot_api.post(
        "answerCallbackQuery", json={"callback_query_id": callback["id"], "text": "谢谢您的评价"}
    )
    await expect(page.locator("#toast")).to_have_text("谢谢您的评价", timeout=WAIT_MS)

    # A reply keyboard's request_contact button shares the customer's own number.
    await bot_api.post(
        "sendMessage",
        json={
            "chat_id": chat,
            "text": "请分享手机号",
            "reply_markup": {
                "keyboard": [
                    [{"text": "分享手机号", "request_contact": True}],
                    [{"text": "以后再说"}],
                ],
                "one_time_keyboard": True,
            },
        },
    )
    share = page.locator("#customer-keyboard [data-testid=reply-button]", has_text="分享手机号")
    await expect(share).to_be_visible(timeout=WAIT_MS)
    await share.click()
    contact = (await _next_update(bot_api, 0, "message"))["message"]["contact"]
    assert contact == {"phone_number": "+8613800138000", "first_name": "王小明", "user_id": chat}
    await expect(page.locator("#customer-keyboard [data-testid=reply-button]")).to_have_count(
        0, timeout=WAIT_MS
    )

    # Sample photo and sticker buttons send real media.
    await page.click("#customer-send-photo")
    photo = (await _next_update(bot_api, 0, "message"))["message"]["photo"]
    assert photo[-1]["width"] == 160 and photo[-1]["height"] == 120
    await page.click("#customer-send-sticker")
    sticker = (await _next_update(bot_api, 0, "message"))["message"]["sticker"]
    assert sticker["emoji"]
    await expect(page.locator("#customer-chat img.photo")).to_be_visible(timeout=WAIT_MS)

    # The staff group shows what the bot sends there.
    await bot_api.post(
        "sendMessage", json={"chat_id": group["id"], "text": "新投诉 #1 来自 王小明"}
    )
    await expect(page.locator("#staff-chat [data-testid=message]")).to_contain_text(
        ["新投诉 #1 来自 王小明"], timeout=WAIT_MS
    )

    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    # The sandbox keeps the state: a reload shows the same chats and customer.
    await page.reload()
    await expect(page.locator("#customer-title")).to_have_text("王小明", timeout=WAIT_MS)
    count = len(await client.transcript(chat))
    await expect(page.locator("#customer-chat [data-testid=message]")).to_have_count(
        count, timeout=WAIT_MS
    )
    assert len([c for c in await client.chats() if c["type"] == "supergroup"]) == 1


async def test_page_recovers_after_a_reset(page: Page, client: SandboxClient) -> None:
    await page.fill("#customer-name", "Ann")
    await page.select_option("#customer-language", "en")
    await page.click("#customer-create")
    await expect(page.locator("#customer-title")).to_have_text("Ann", timeout=WAIT_MS)
    await client.reset()
    await expect(page.locator("#customer-title")).to_have_text("Bot", timeout=WAIT_MS)
    await asyncio.wait_for(_staff_group_exists(client), WAIT_MS / 1000)


async def _staff_group_exists(client: SandboxClient) -> None:
    while True:
        chats = await client.chats()
        if any(c["type"] == "supergroup" and c["title"] == "Care staff" for c in chats):
            return
        await client.events(after=(await client.events())["version"], wait=1)
