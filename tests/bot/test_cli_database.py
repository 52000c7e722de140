"""Which database a ``carebot`` command uses: named on stderr, and the playground's is
one option away (``carebot --playground COMMAND`` or ``CAREBOT_PLAYGROUND=1``).

Run in an empty folder without CAREBOT_DATABASE_URL, as a newcomer would after
``carebot run``: the default database is var/carebot.db, the playground's
var/playground.db.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app


@pytest.fixture
def folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("CAREBOT_") and not name.startswith("CAREBOT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def carebot(*args: str, **env: str) -> Result:
    settings = {"CAREBOT_CONFIG": "absent.toml", "COLUMNS": "200", **env}
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=settings)
    assert "Traceback" not in result.output
    return result


async def test_a_command_names_the_database_it_uses(folder: Path) -> None:
    result = await carebot("staff", "list")

    assert result.exit_code == 0, result.output
    database = folder / "var" / "carebot.db"
    assert result.stderr.splitlines()[0] == (
        f"Database: sqlite+aiosqlite:///var/carebot.db (file {database}, new)"
    )
    assert "Database" not in result.stdout
    again = await carebot("staff", "list")
    assert again.stderr.splitlines()[0].endswith(f"(file {database})")


async def test_a_password_in_the_database_url_is_never_shown(folder: Path) -> None:
    result = await carebot(
        "staff", "list", CAREBOT_DATABASE_URL="postgresql://carebot:s3cret@127.0.0.1:1/nowhere"
    )

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        "Database: postgresql+asyncpg://carebot:***@127.0.0.1:1/nowhere"
    )
    assert "s3cret" not in result.output


async def test_the_playground_database_is_one_option_away(folder: Path) -> None:
    (folder / "var").mkdir()
    (folder / "var" / "playground.db").touch()  # `carebot run` made it

    default = await carebot("export", "customer", "1")
    chosen = await carebot("--playground", "export", "customer", "1")
    from_env = await carebot("export", "customer", "1", CAREBOT_PLAYGROUND="1")

    playground = folder / "var" / "playground.db"
    assert default.stderr.splitlines()[:2] == [
        f"Database: sqlite+aiosqlite:///var/carebot.db (file {folder / 'var' / 'carebot.db'}, new)",
        "The playground's database is var/playground.db: carebot --playground COMMAND uses it.",
    ]
    for result in (chosen, from_env):
        assert result.stderr.splitlines() == [
            f"Database: sqlite+aiosqlite:///var/playground.db (file {playground})",
            "No customer 1.",
        ]
    top = await carebot("--help")
    assert "--playground" in top.output and "CAREBOT_PLAYGROUND" in top.output
