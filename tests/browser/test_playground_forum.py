"""The staff pane as a forum (topics) and as one chat, in headless Chromium.

A python-telegram-bot ``Bot`` stands in for carebot: it relays the customer's message to
the staff group (into a topic of its own in forum mode) and the staff's answer back, as
the conversations feature will. The page shows the topics, the selected topic's
messages, and lets staff reply to a specific message in either mode.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect
from telegram import Bot, ForceReply, Message

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from tests.browser.conftest import WAIT_MS

TOKEN = "7000000002:playground-forum-test"
SCREENSHOT = Path("/tmp/playground-forum.png")
# The staff guide's picture: CAREBOT_UPDATE_SCREENSHOTS=1 refreshes it from this test.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "playground-forum.png"


class Relay:
    """The stand-in bot: reads updates with long polling, bounded by a deadline."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.offset = 0

    async def next_message(self, chat_id: int) -> Message:
        deadline = time.monotonic() + WAIT_MS / 1000
        while time.monotonic() < deadline:
            for update in await self.bot.get_updates(offset=self.offset, timeout=1):
                self.offset = update.update_id + 1
                if update.message is not None and update.message.chat_id == chat_id:
                    return update.message
        raise AssertionError(f"no message in chat {chat_id} within {WAIT_MS} ms")


@pytest.fixture
async def relay(sandbox: Sandbox) -> AsyncIterator[Relay]:
    async with Bot(TOKEN, base_url=sandbox.bot_base_url) as bot:
        yield Relay(bot)


async def staff_group(client: SandboxClient) -> int:
    [group] = [chat for chat in await client.chats() if chat["type"] == "supergroup"]
    assert group["bot_rights"]["can_manage_topics"] is True  # as the page sets it up
    return int(group["id"])


async def customer_writes(page: Page, client: SandboxClient, name: str, text: str) -> int:
    await page.fill("#customer-name", name)
    await page.select_option("#customer-language", "en")
    await page.click("#customer-create")
    await expect(page.locator("#customer-title")).to_have_text(name, timeout=WAIT_MS)
    await page.fill("#customer-input", text)
    await page.press("#customer-input", "Enter")
    [user] = [u for u in await client.users() if u["first_name"] == name]
    return int(user["id"])


def staff_message(page: Page, text: str) -> Locator:
    return page.locator("#staff-chat [data-testid=message]", has_text=text)


def topic_item(page: Page, name: str) -> Locator:
    return page.locator("#staff-topics [data-testid=topic]", has_text=name)


async def staff_reply(page: Page, to: Locator, text: str) -> None:
    await to.locator("[data-testid=reply-to]").click()
    await expect(page.locator("#staff-reply-bar")).to_be_visible()
    await page.fill("#staff-input", text)
    await page.press("#staff-input", "Enter")
    await expect(page.locator("#staff-reply-bar")).to_be_hidden()


def told_customer(page: Page, text: str) -> Locator:
    return page.locator("#customer-chat [data-testid=message][data-from=bot]", has_text=text)


async def test_a_conversation_in_forum_mode(
    page: Page, client: SandboxClient, relay: Relay
) -> None:
    group = await staff_group(client)
    await expect(page.locator("#staff-topics")).to_be_hidden()
    await page.check("#staff-forum")
    await expect(page.locator("#staff-topics")).to_be_visible(timeout=WAIT_MS)
    await expect(topic_item(page, "General")).to_have_count(1, timeout=WAIT_MS)
    assert (await client.update_chat(group))["is_forum"] is True

    bot = relay.bot
    other = await bot.create_forum_topic(group, "💬 Li · refund", icon_color=16766590)
    await bot.send_message(group, "Refund approved", message_thread_id=other.message_thread_id)
    await bot.send_message(group, "Good morning, team")  # General

    anna = await customer_writes(page, client, "Anna", "My kettle leaks")
    asked = await relay.next_message(anna)
    topic = await bot.create_forum_topic(group, "Anna · kettle")
    thread = topic.message_thread_id
    copied = await bot.copy_message(group, anna, asked.message_id, message_thread_id=thread)

    # The list: General first, then the topics, the latest activity first.
    names = page.locator("#staff-topics [data-testid=topic-name]")
    await expect(names).to_have_text(
        ["General", "Anna · kettle", "💬 Li · refund"], timeout=WAIT_MS
    )
    # A topic's icon is the first character of its name, an emoji whole (not half of it).
    icons = page.locator("#staff-topics .topic-icon")
    await expect(icons).to_have_text(["#", "A", "💬"], timeout=WAIT_MS)
    # General is shown first: its messages only.
    await expect(staff_message(page, "Good morning, team")).to_be_visible(timeout=WAIT_MS)
    await expect(staff_message(page, "My kettle leaks")).to_have_count(0)

    await topic_item(page, "Anna · kettle").click()
    await expect(topic_item(page, "Anna · kettle")).to_have_class("topic selected")
    await expect(page.locator("#staff-topic-head")).to_have_text("Anna · kettle")
    await expect(page.locator("#staff-chat [data-testid=service]")).to_have_text(
        "Topic “Anna · kettle” created"
    )
    question = staff_message(page, "My kettle leaks")
    await expect(question).to_be_visible(timeout=WAIT_MS)
    await expect(staff_message(page, "Good morning, team")).to_have_count(0)

    # Staff answer by replying to the customer's message; it lands in the topic.
    await staff_reply(page, question, "A new kettle is on its way")
    answer = await relay.next_message(group)
    assert (answer.message_thread_id, answer.is_topic_message) == (thread, True)
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.message_id == copied.message_id
    await expect(
        staff_message(page, "A new kettle is on its way").locator("[data-testid=quote]")
    ).to_contain_text("My kettle leaks", timeout=WAIT_MS)
    await bot.copy_message(anna, group, answer.message_id)
    await expect(told_customer(page, "A new kettle is on its way")).to_be_visible(timeout=WAIT_MS)

    # A plain message in the topic goes there too.
    await page.fill("#staff-input", "Anything else?")
    await page.press("#staff-input", "Enter")
    follow_up = await relay.next_message(group)
    assert follow_up.message_thread_id == thread and follow_up.text == "Anything else?"

    await bot.set_message_reaction(group, copied.message_id, "👀")
    await expect(question.locator("[data-testid=reaction]")).to_have_text("👀", timeout=WAIT_MS)
    await page.screenshot(path=str(SCREENSHOT))
    if os.environ.get("CAREBOT_UPDATE_SCREENSHOTS"):
        shutil.copyfile(SCREENSHOT, DOCS_SCREENSHOT)
    await bot.close_forum_topic(group, thread)
    await expect(
        topic_item(page, "Anna · kettle").locator("[data-testid=topic-closed]")
    ).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#staff-topic-head")).to_contain_text("closed")
    await expect(page.locator("#staff-input")).to_be_disabled()
    await expect(page.locator("#staff-chat [data-testid=service]").last).to_have_text(
        "Carebot Sandbox closed the topic"
    )

    await topic_item(page, "General").click()
    await expect(page.locator("#staff-input")).to_be_enabled()
    await expect(staff_message(page, "Good morning, team")).to_be_visible()

    # A prompt asking for a reply (ForceReply) in another topic opens that topic and the
    # reply to it, as Telegram's apps do.
    await bot.send_message(
        group,
        "Your note for Li, please",
        message_thread_id=other.message_thread_id,
        reply_markup=ForceReply(),
    )
    await expect(topic_item(page, "Li · refund")).to_have_class("topic selected", timeout=WAIT_MS)
    await expect(page.locator("#staff-reply-bar")).to_contain_text("Your note for Li, please")
    await page.fill("#staff-input", "Refund sent")
    await page.press("#staff-input", "Enter")
    note = await relay.next_message(group)
    assert note.message_thread_id == other.message_thread_id
    assert (
        note.reply_to_message is not None
        and note.reply_to_message.text == "Your note for Li, please"
    )


async def test_a_conversation_in_plain_mode_and_switching_modes(
    page: Page, client: SandboxClient, relay: Relay
) -> None:
    group = await staff_group(client)
    await expect(page.locator("#staff-forum")).not_to_be_checked()
    bot = relay.bot

    anna = await customer_writes(page, client, "Anna", "Where is my parcel?")
    asked = await relay.next_message(anna)
    copied = await bot.copy_message(group, anna, asked.message_id)
    question = staff_message(page, "Where is my parcel?")
    await expect(question).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#staff-topics")).to_be_hidden()

    await staff_reply(page, question.first, "It arrives tomorrow")
    answer = await relay.next_message(group)
    assert not answer.is_topic_message  # its thread id is the reply chain's, no topic
    assert answer.message_thread_id == copied.message_id
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.message_id == copied.message_id
    await bot.copy_message(anna, group, answer.message_id)
    await expect(told_customer(page, "It arrives tomorrow")).to_be_visible(timeout=WAIT_MS)

    # Switched to a forum (here by the control API, as an operator would): topics show.
    await client.set_forum(group, True)
    await expect(page.locator("#staff-forum")).to_be_checked(timeout=WAIT_MS)
    topic = await bot.create_forum_topic(group, "Anna · parcel")
    await bot.send_message(group, "Tracking: SF123", message_thread_id=topic.message_thread_id)
    names = page.locator("#staff-topics [data-testid=topic-name]")
    await expect(names).to_have_text(["General", "Anna · parcel"], timeout=WAIT_MS)
    await expect(question).to_have_count(2)  # the question and the quote of it, in General
    await expect(staff_message(page, "Tracking: SF123")).to_have_count(0)

    # Back to plain with the switch: one flow with every message again.
    await page.uncheck("#staff-forum")
    await expect(page.locator("#staff-topics")).to_be_hidden(timeout=WAIT_MS)
    await expect(staff_message(page, "Tracking: SF123")).to_be_visible(timeout=WAIT_MS)
    await expect(question).to_have_count(2)
    assert (await client.update_chat(group))["is_forum"] is False
    await page.fill("#staff-input", "Done here")
    await page.press("#staff-input", "Enter")
    done = await relay.next_message(group)
    assert done.text == "Done here" and done.message_thread_id is None
