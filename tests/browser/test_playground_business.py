"""The playground's Telegram Business: connect a Business account from the page, write to
it as the customer, and see the bot answer there (as the account) apart from the
customer's chat with the bot, where a dialogue begun meanwhile waits untouched."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, expect

from tests.browser.conftest import WAIT_MS
from tests.helpers import RunningBot

SCREENSHOT = Path("/tmp/playground-business.png")


def customer_sees(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("#customer-chat [data-testid=message][data-from=bot]", has_text=text)


async def test_write_to_the_business_account_apart_from_the_bot_chat(
    playground_bot: RunningBot, page: Page
) -> None:
    await page.fill("#customer-name", "Lena")
    await page.select_option("#customer-language", "en")
    await page.click("#customer-create")
    await expect(page.locator("#customer-title")).to_have_text("Lena", timeout=WAIT_MS)

    async def send(text: str) -> None:
        await page.fill("#customer-input", text)
        await page.press("#customer-input", "Enter")

    # In the chat with the bot, she starts a complaint.
    await send("/complain")
    await expect(customer_sees(page, "What is the complaint about?")).to_be_visible(timeout=WAIT_MS)
    await page.locator("#customer-chat [data-testid=inline-button]", has_text="Delivery").click()
    await expect(customer_sees(page, "describe what happened")).to_be_visible(timeout=WAIT_MS)

    # The company connects its Business account: staff hear of it, and her chat with the
    # account opens, empty.
    await page.click("[data-testid=business-connect]")
    business_tab = page.locator("[data-testid=chat-tab-business]")
    await expect(business_tab).to_have_attribute("aria-selected", "true", timeout=WAIT_MS)
    await expect(business_tab).to_contain_text("Tea Shop")
    await expect(page.locator("[data-testid=business-connect]")).to_be_hidden()
    await expect(
        page.locator("#staff-chat [data-testid=message]", has_text="Tea Shop connected the bot")
    ).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#customer-sub")).to_contain_text("Business account")
    await expect(page.locator("#customer-chat [data-testid=message]")).to_have_count(0)
    assert "Lena" in await page.locator("#customer-select").inner_text()
    assert "Tea Shop" not in await page.locator("#customer-select").inner_text()

    # She writes to the shop: the bot answers there, as the shop; the complaint's
    # question in the other chat does not take it.
    await send("Do you sell green tea?")
    answer = customer_sees(page, "we got your message")
    await expect(answer).to_be_visible(timeout=WAIT_MS)
    await expect(answer.locator("[data-testid=via-bot]")).to_contain_text("Tea Shop")
    await expect(customer_sees(page, "describe what happened")).to_have_count(0)

    # Staff answer her message; the answer reaches her in the Business chat.
    relayed = page.locator("#staff-chat [data-testid=message]", has_text="Do you sell green tea?")
    await expect(relayed).to_be_visible(timeout=WAIT_MS)
    await relayed.last.locator("[data-testid=reply-to]").click()
    await page.fill("#staff-input", "Yes: Longjing and Biluochun.")
    await page.press("#staff-input", "Enter")
    staff_answer = customer_sees(page, "Longjing")
    await expect(staff_answer).to_be_visible(timeout=WAIT_MS)
    await expect(staff_answer.locator("[data-testid=via-bot]")).to_be_visible()

    # A photo to the shop reaches staff as the photo (the bot cannot copy it from there).
    await page.click("#customer-send-photo")
    await expect(
        page.locator("#customer-chat [data-testid=message][data-from=user] img.photo")
    ).to_have_count(1, timeout=WAIT_MS)
    await expect(page.locator("#staff-chat [data-testid=message] img.photo")).to_have_count(
        1, timeout=WAIT_MS
    )
    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Back in her chat with the bot: nothing of that, and the complaint goes on where
    # it was.
    await page.click("[data-testid=chat-tab-bot]")
    await expect(page.locator("[data-testid=chat-tab-bot]")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(customer_sees(page, "describe what happened")).to_be_visible(timeout=WAIT_MS)
    await expect(customer_sees(page, "Longjing")).to_have_count(0)
    await expect(page.locator("#customer-chat [data-testid=via-bot]")).to_have_count(0)
    await expect(page.locator("#customer-chat img.photo")).to_have_count(0)
    await send("The tin arrived dented.")
    await expect(customer_sees(page, "You can add photos or documents now")).to_be_visible(
        timeout=WAIT_MS
    )
