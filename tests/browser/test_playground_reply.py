"""Replying to a specific message in the playground, as in Telegram: the staff side
answers the card's Reply and Resolve prompts ("reply to this message") and the customer
gets the answer."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.models import Complaint
from tests.browser.conftest import WAIT_MS
from tests.helpers import RunningBot, filed_complaint

SCREENSHOT = Path("/tmp/playground-reply.png")


def staff_message(page: Page, text: str) -> Locator:
    return page.locator("#staff-chat [data-testid=message]", has_text=text)


async def send_staff(page: Page, text: str) -> None:
    await page.fill("#staff-input", text)
    await page.press("#staff-input", "Enter")


async def test_staff_complete_the_reply_and_resolve_prompts_in_the_playground(
    playground_bot: RunningBot,
    page: Page,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, customer = await filed_complaint(playground_bot, client, first_name="Anna")
    await expect(page.locator("#customer-select option", has_text="Anna")).to_have_count(
        1, timeout=WAIT_MS
    )
    await page.select_option("#customer-select", str(customer["id"]))
    await expect(page.locator("#customer-title")).to_have_text("Anna", timeout=WAIT_MS)
    card = staff_message(page, "Complaint C-").first
    await expect(card).to_be_visible(timeout=WAIT_MS)
    reply_bar = page.locator("#staff-reply-bar")
    await expect(reply_bar).to_be_hidden()

    # Reply: the prompt asks for a reply to itself. The page opens that reply, as Telegram
    # does for a ForceReply prompt; cancelled, it is opened again with ↩ on the bubble.
    await card.locator("[data-testid=inline-button]", has_text="Reply").click()
    prompt = staff_message(page, "Your reply to the customer for").last
    await expect(prompt).to_be_visible(timeout=WAIT_MS)
    await expect(reply_bar).to_be_visible(timeout=WAIT_MS)
    await expect(reply_bar).to_contain_text("Your reply to the customer for")
    await page.click("#staff-reply-cancel")
    await expect(reply_bar).to_be_hidden()
    await prompt.locator("[data-testid=reply-to]").click()
    await expect(reply_bar).to_contain_text("Reply to Carebot Sandbox")
    await expect(reply_bar).to_contain_text("Your reply to the customer for")
    await send_staff(page, "A new kettle is on its way to you.")
    await expect(reply_bar).to_be_hidden()
    answer = staff_message(page, "A new kettle is on its way to you.")
    await expect(answer.locator("[data-testid=quote]")).to_contain_text(
        "Your reply to the customer for", timeout=WAIT_MS
    )
    told = page.locator(
        "#customer-chat [data-testid=message][data-from=bot]",
        has_text="(customer care): A new kettle is on its way to you.",
    )
    await expect(told).to_be_visible(timeout=WAIT_MS)

    # Resolve: the note is the reply to the resolution prompt.
    await card.locator("[data-testid=inline-button]", has_text="Resolve").click()
    await expect(staff_message(page, "Resolution note for")).to_be_visible(timeout=WAIT_MS)
    await expect(reply_bar).to_contain_text("Resolution note for", timeout=WAIT_MS)
    await send_staff(page, "Sent a new kettle.")
    resolved = page.locator(
        "#customer-chat [data-testid=message][data-from=bot]", has_text="is resolved"
    )
    await expect(resolved).to_be_visible(timeout=WAIT_MS)
    await expect(resolved).to_contain_text("What we did: Sent a new kettle.")
    await expect(card).to_contain_text("resolved", timeout=WAIT_MS)
    await page.screenshot(path=str(SCREENSHOT), full_page=True)

    async with sessionmaker() as session:
        complaint = await session.get_one(Complaint, complaint_id)
    assert (complaint.status, complaint.resolution) == ("resolved", "Sent a new kettle.")


async def test_a_customer_replies_to_a_message_with_a_double_click(
    playground_bot: RunningBot, page: Page, client: SandboxClient
) -> None:
    await page.fill("#customer-name", "Li")
    await page.select_option("#customer-language", "en")
    await page.click("#customer-create")
    await expect(page.locator("#customer-title")).to_have_text("Li", timeout=WAIT_MS)
    await page.fill("#customer-input", "/help")
    await page.press("#customer-input", "Enter")
    answer = page.locator("#customer-chat [data-testid=message][data-from=bot]").first
    await expect(answer).to_be_visible(timeout=WAIT_MS)

    await answer.locator(".bubble").dblclick()
    await expect(page.locator("#customer-reply-bar")).to_be_visible()
    await page.press("#customer-input", "Escape")
    await expect(page.locator("#customer-reply-bar")).to_be_hidden()
    await answer.locator(".bubble").dblclick()
    await page.fill("#customer-input", "thanks")
    await page.press("#customer-input", "Enter")
    mine = page.locator("#customer-chat [data-testid=message][data-from=user]", has_text="thanks")
    await expect(mine.locator("[data-testid=quote]")).to_be_visible(timeout=WAIT_MS)
    [user] = [u for u in await client.users() if u["first_name"] == "Li"]
    sent = [m for m in await client.transcript(user["id"]) if m.get("text") == "thanks"]
    assert sent and sent[0].get("reply_to_message_id") is not None
