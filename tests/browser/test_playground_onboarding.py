"""A newcomer's first minute: the playground page with carebot behind it, in Chromium.

Registers a customer by clicking and typing in the page, in Chinese, and checks what the
page shows and what the database holds.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from care.models import Customer
from tests.browser.conftest import WAIT_MS
from tests.helpers import RunningBot

SCREENSHOT = Path("/tmp/playground-onboarding.png")


async def send(page: Page, text: str) -> None:
    await page.fill("#customer-input", text)
    await page.press("#customer-input", "Enter")


def bot_says(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("#customer-chat [data-testid=message][data-from=bot]", has_text=text)


async def test_register_in_the_playground_by_clicking(
    bot: RunningBot, page: Page, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await page.fill("#customer-name", "王小明")
    await page.select_option("#customer-language", "zh-hans")
    await page.click("#customer-create")
    await expect(page.locator("#customer-title")).to_have_text("王小明", timeout=WAIT_MS)

    await send(page, "/start")
    await expect(bot_says(page, "客户关怀助手")).to_be_visible(timeout=WAIT_MS)
    await page.locator("#customer-chat [data-testid=inline-button]", has_text="中文").click()
    await expect(bot_says(page, "语言：中文")).to_be_visible(timeout=WAIT_MS)

    await page.locator("#customer-chat [data-testid=inline-button]", has_text="好的").click()
    share = page.locator("#customer-keyboard [data-testid=reply-button]", has_text="分享我的手机号")
    await expect(share).to_be_visible(timeout=WAIT_MS)
    await share.click()
    await expect(bot_says(page, "您的生日是哪天")).to_be_visible(timeout=WAIT_MS)

    await send(page, "农历八月十五")
    await expect(bot_says(page, "一切就绪")).to_be_visible(timeout=WAIT_MS)
    await expect(bot_says(page, "生日：农历八月十五")).to_be_visible()
    await expect(page.locator("#customer-keyboard [data-testid=reply-button]")).to_have_count(0)
    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    async with sessionmaker() as session:
        customer = await session.scalar(select(Customer).where(Customer.first_name == "王小明"))
    assert customer is not None and customer.onboarded_at is not None
    assert (customer.language, customer.consent_care, customer.phone) == (
        "zh_CN",
        True,
        "+8613800138000",
    )
    assert (customer.birthday_calendar, customer.birthday_month, customer.birthday_day) == (
        "lunar",
        8,
        15,
    )
