from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.sandbox.client import SandboxClient
from tests.helpers import Person

PersonFactory = Callable[..., Awaitable[Person]]


@pytest.fixture
def person(client: SandboxClient) -> PersonFactory:
    async def make(
        first_name: str = "小明", language_code: str | None = "zh-hans", **kw: str
    ) -> Person:
        user = await client.create_user(first_name, language_code=language_code, **kw)
        return Person(client, user)

    return make
