"""The playground with carebot behind it: a customer files a complaint by clicking, the
staff side of the page acknowledges it, and the customer is told."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from care.models import Complaint
from tests.browser.conftest import WAIT_MS
from tests.helpers import RunningBot

SCREENSHOT = Path("/tmp/playground-complaint.png")


def customer_sees(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("#customer-chat [data-testid=message][data-from=bot]", has_text=text)


async def test_file_and_acknowledge_a_complaint_in_the_playground(
    playground_bot: RunningBot, page: Page, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await page.fill("#customer-name", "Anna")
    await page.select_option("#customer-language", "en")
    await page.click("#customer-create")
    await expect(page.locator("#customer-title")).to_have_text("Anna", timeout=WAIT_MS)

    async def send(text: str) -> None:
        await page.fill("#customer-input", text)
        await page.press("#customer-input", "Enter")

    async def click(text: str) -> None:
        await page.locator("#customer-chat [data-testid=inline-button]", has_text=text).last.click()

    await send("/complain")
    await expect(customer_sees(page, "What is the complaint about?")).to_be_visible(timeout=WAIT_MS)
    await click("Delivery")
    await expect(customer_sees(page, "describe what happened")).to_be_visible(timeout=WAIT_MS)
    await send("The parcel arrived crushed.")
    await page.click("#customer-send-photo")
    await expect(customer_sees(page, "1/10")).to_be_visible(timeout=WAIT_MS)
    await click("Continue")
    await expect(customer_sees(page, "order number")).to_be_visible(timeout=WAIT_MS)
    await send("A-1001")
    await click("Submit")
    await expect(customer_sees(page, "Your complaint number is")).to_be_visible(timeout=WAIT_MS)

    card = page.locator("#staff-chat [data-testid=message]", has_text="Complaint C-").first
    await expect(card).to_be_visible(timeout=WAIT_MS)
    await expect(card).to_contain_text("The parcel arrived crushed.")
    await card.locator("[data-testid=inline-button]", has_text="Acknowledge").click()
    await expect(customer_sees(page, "We have received your complaint")).to_be_visible(
        timeout=WAIT_MS
    )
    await expect(card).to_contain_text("acknowledged", timeout=WAIT_MS)
    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    async with sessionmaker() as session:
        [complaint] = (await session.scalars(select(Complaint))).all()
    assert (complaint.status, complaint.reference) == ("acknowledged", "A-1001")
