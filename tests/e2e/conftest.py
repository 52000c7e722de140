from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox import RateLimits, Sandbox
from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from tests.helpers import Person, RunningBot


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(limits=RateLimits.off()) as running:
        yield running


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[SandboxClient]:
    client = SandboxClient(sandbox.url)
    yield client
    await client.aclose()


@pytest.fixture
async def bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, engine: AsyncEngine
) -> AsyncIterator[RunningBot]:
    """carebot running against the sandbox on the (emptied) test database."""
    running = RunningBot(sandbox, database_url, clock)
    await running.start()
    yield running
    await running.stop()


PersonFactory = Callable[..., Awaitable[Person]]


@pytest.fixture
def person(client: SandboxClient) -> PersonFactory:
    async def make(
        first_name: str = "小明", language_code: str | None = "zh-hans", **kw: str
    ) -> Person:
        user = await client.create_user(first_name, language_code=language_code, **kw)
        return Person(client, user)

    return make
