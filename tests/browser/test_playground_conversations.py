"""Conversations in the playground with carebot behind it, in headless Chromium: a
customer's question becomes a topic (forum mode) or a card (plain group), the staff side
of the page answers by typing in the topic or by replying to the card, and the customer
reads the signed answer. The screenshots are the staff guide's pictures
(CAREBOT_UPDATE_SCREENSHOTS=1 refreshes docs/images/ from this test)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox import Sandbox
from care.clock import ManualClock
from tests.browser.conftest import WAIT_MS
from tests.helpers import RunningBot

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def save_screenshot(name: str) -> Path:
    """Where the screenshot goes: /tmp, and docs/images/ when asked to refresh it."""
    return (IMAGES if os.environ.get("CAREBOT_UPDATE_SCREENSHOTS") else Path("/tmp")) / name


@pytest.fixture
async def start_carebot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, engine: AsyncEngine
) -> AsyncIterator[list[RunningBot]]:
    """The carebot a test starts (``run_carebot``) once it has chosen the staff group's
    mode, which carebot reads at start-up; stopped at the end."""
    started: list[RunningBot] = []
    yield started
    for running in started:
        await running.stop()


async def run_carebot(
    sandbox: Sandbox, started: list[RunningBot], database_url: str, clock: ManualClock
) -> None:
    """carebot as `carebot run` sets up the playground: the page's staff group, its Staff
    Agent an admin."""
    group = sandbox.ensure_staff_group()
    staff_user = sandbox.staff_user_id()
    assert staff_user is not None
    running = RunningBot(
        sandbox, database_url, clock, staff_chat_id=group, admins=[staff_user],
        default_locale="en",
    )  # fmt: skip
    await running.start()
    started.append(running)


async def customer_asks(page: Page, name: str, text: str) -> None:
    await page.fill("#customer-name", name)
    await page.select_option("#customer-language", "en")
    await page.click("#customer-create")
    await expect(page.locator("#customer-title")).to_have_text(name, timeout=WAIT_MS)
    await page.fill("#customer-input", text)
    await page.press("#customer-input", "Enter")


def staff_message(page: Page, text: str) -> Locator:
    return page.locator("#staff-chat [data-testid=message]", has_text=text)


def customer_sees(page: Page, text: str) -> Locator:
    return page.locator("#customer-chat [data-testid=message][data-from=bot]", has_text=text)


async def staff_types(page: Page, text: str) -> None:
    await page.fill("#staff-input", text)
    await page.press("#staff-input", "Enter")


async def test_a_conversation_in_a_forum_staff_group(
    page: Page,
    sandbox: Sandbox,
    database_url: str,
    clock: ManualClock,
    start_carebot: list[RunningBot],
) -> None:
    await page.check("#staff-forum")
    await expect(page.locator("#staff-topics")).to_be_visible(timeout=WAIT_MS)
    await run_carebot(sandbox, start_carebot, database_url, clock)

    await customer_asks(page, "Anna", "What are your opening hours?")
    await expect(customer_sees(page, "we got your message")).to_be_visible(timeout=WAIT_MS)
    topic = page.locator("#staff-topics [data-testid=topic]", has_text="Anna · #")
    await expect(topic).to_contain_text("🟢", timeout=WAIT_MS)
    await topic.click()
    await expect(staff_message(page, "What are your opening hours?")).to_be_visible(timeout=WAIT_MS)
    await expect(staff_message(page, "Conversation #")).to_contain_text("Acknowledge")

    await staff_types(page, "// she asked last week too")
    await expect(staff_message(page, "Kept as an internal note")).to_be_visible(timeout=WAIT_MS)
    await staff_types(page, "We are open 9:00 to 18:00, Monday to Friday.")
    await expect(
        customer_sees(page, "Staff Agent (customer care): We are open 9:00 to 18:00")
    ).to_be_visible(timeout=WAIT_MS)
    await expect(customer_sees(page, "she asked last week")).to_have_count(0)
    await expect(topic).to_contain_text("💬", timeout=WAIT_MS)
    await page.screenshot(path=str(save_screenshot("conversation-forum.png")))


async def test_a_conversation_in_a_plain_staff_group(
    page: Page,
    sandbox: Sandbox,
    database_url: str,
    clock: ManualClock,
    start_carebot: list[RunningBot],
) -> None:
    await expect(page.locator("#staff-forum")).not_to_be_checked()
    await run_carebot(sandbox, start_carebot, database_url, clock)

    await customer_asks(page, "Ben", "Do you deliver to Pudong?")
    card = staff_message(page, "Conversation #").first
    await expect(card).to_contain_text("Ben", timeout=WAIT_MS)
    await expect(card).to_contain_text("Reply to this card")
    relayed = staff_message(page, "Do you deliver to Pudong?").last
    await expect(relayed).to_contain_text("💬 #", timeout=WAIT_MS)

    await card.locator("[data-testid=inline-button]", has_text="Take").click()
    await expect(card).to_contain_text("Assignee: Staff Agent", timeout=WAIT_MS)
    await relayed.locator("[data-testid=reply-to]").click()
    await staff_types(page, "Yes, every day before 20:00.")
    await expect(
        customer_sees(page, "Staff Agent (customer care): Yes, every day before 20:00.")
    ).to_be_visible(timeout=WAIT_MS)
    await page.screenshot(path=str(save_screenshot("conversation-plain.png")))
