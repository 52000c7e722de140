"""``carebot canned add|list|remove`` through typer's CliRunner on the test database."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner

from bot.cli import app
from care.models import CannedAnswer
from tests.bot.test_cli import Carebot, carebot, table_rows

__all__ = ["carebot"]  # the fixture, shared with tests.bot.test_cli


async def stored(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str]]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(CannedAnswer).order_by(CannedAnswer.name, CannedAnswer.language)
        )
        return [(row.name, row.language, row.text) for row in rows]


async def test_add_list_replace_and_remove(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    zh_added = await carebot("canned", "add", "Hours", "zh", "{name}您好，我们每天9点到18点营业。")
    en_added = await carebot("canned", "add", "hours", "en", "Hello {name}, we open 9 to 6.")
    replaced = await carebot("canned", "add", "hours", "en", "Hi {name}, open 9-18 daily.")
    listed = await carebot("canned", "list")

    assert (zh_added.exit_code, en_added.exit_code, replaced.exit_code) == (0, 0, 0)
    assert zh_added.stdout.strip() == "Canned answer hours (zh_CN) saved."
    assert replaced.stdout.strip() == "Canned answer hours (en) replaced."
    assert [row[:2] for row in table_rows(listed.stdout)] == [["hours", "en"], ["hours", "zh_CN"]]
    assert await stored(sessionmaker) == [
        ("hours", "en", "Hi {name}, open 9-18 daily."),
        ("hours", "zh_CN", "{name}您好，我们每天9点到18点营业。"),
    ]

    one = await carebot("canned", "remove", "hours", "--language", "en")
    assert one.exit_code == 0
    assert [row[1] for row in await stored(sessionmaker)] == ["zh_CN"]
    rest = await carebot("canned", "remove", "HOURS")
    assert rest.exit_code == 0 and await stored(sessionmaker) == []
    again = await carebot("canned", "remove", "hours")
    assert again.exit_code == 1 and "There is no canned answer hours." in again.output


async def test_a_text_of_several_lines_comes_from_standard_input(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["canned", "add", "refund", "en"],
        input="Dear {name},\nrefunds take 3 days.\n",
        env=carebot.env,
    )

    assert result.exit_code == 0, result.output
    assert await stored(sessionmaker) == [("refund", "en", "Dear {name},\nrefunds take 3 days.")]


async def test_bad_input_is_refused_with_the_reason(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    bad_name = await carebot("canned", "add", "no spaces!", "en", "x")
    bad_language = await carebot("canned", "add", "hours", "fr", "Bonjour")
    bad_field = await carebot("canned", "add", "hours", "en", "Hello {customer}")
    lone_brace = await carebot("canned", "add", "hours", "en", "Hello {name")

    assert bad_name.exit_code == 2 and "1 to 32 letters" in bad_name.output
    assert bad_language.exit_code == 2 and "fr is not a language" in bad_language.output
    assert bad_field.exit_code == 2 and "no other" in bad_field.output
    assert lone_brace.exit_code == 2 and "no other" in lone_brace.output
    assert await stored(sessionmaker) == []
