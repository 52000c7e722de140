"""Fixtures for tests in headless Chromium (Debian's ``chromium``; missing fails, never skips)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox import Sandbox
from care.clock import ManualClock
from tests.helpers import RunningBot

CHROMIUM = Path(os.environ.get("CAREBOT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 5000

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def chromium() -> Path:
    """The Chromium binary; its absence fails the test with what to install."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y chromium` "
            "(or set CAREBOT_CHROMIUM to a Chromium binary)"
        )
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, sandbox: Sandbox) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    await opened.goto(sandbox.url + "/")
    await expect(opened.locator("body[data-ready=true]")).to_have_count(1, timeout=WAIT_MS)
    yield opened
    await context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
async def playground_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, engine: AsyncEngine
) -> AsyncIterator[RunningBot]:
    """carebot set up as `carebot run` sets up the playground: the page's staff group and
    its Staff Agent as an admin."""
    group = sandbox.ensure_staff_group()
    staff_user = sandbox.staff_user_id()
    assert staff_user is not None
    running = RunningBot(
        sandbox, database_url, clock, staff_chat_id=group, admins=[staff_user],
        default_locale="en",
    )  # fmt: skip
    await running.start()
    yield running
    await running.stop()
