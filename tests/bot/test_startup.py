"""Start-up: the greeting templates are read once, before anything starts, and a broken
file stops ``carebot run`` with one line naming it, as a bad setting does."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot import runner
from bot.cli import app

TOKEN = "123456789:AAHstartup-token"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Any]:
    """What the runner would start (its asynchronous part, replaced by a recorder)."""
    for name in list(os.environ):
        if name.startswith("CAREBOT_") and not name.startswith("CAREBOT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    seen: list[Any] = []

    async def run(settings: object, templates: object, *, jobs_only: bool = False) -> None:
        seen.append(templates)

    monkeypatch.setattr(runner, "_run", run)
    monkeypatch.setattr(runner.logs, "configure", lambda *args: None)
    return seen


def carebot_run(tmp_path: Path, **env: str) -> Any:
    environment = {
        "CAREBOT_TOKEN": TOKEN,
        "CAREBOT_CONFIG": str(tmp_path / "absent.toml"),
        "CAREBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/carebot.db",
        **env,
    }
    return CliRunner().invoke(app, ["run"], env=environment)


def test_a_broken_templates_file_stops_start_up_with_one_line_naming_it(
    started: list[Any], tmp_path: Path
) -> None:
    broken = tmp_path / "greetings.toml"
    broken.write_text('[mid_autumn]\nzh_CN = "中秋快乐，{nmae}！"\nen = "Happy Mid-Autumn!"\n')

    result = carebot_run(tmp_path, CAREBOT_TEMPLATES_FILE=str(broken))

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert str(broken) in line and "nmae" in line
    assert started == [], "nothing started"


def test_the_templates_are_loaded_once_and_handed_to_the_application(
    started: list[Any], tmp_path: Path
) -> None:
    result = carebot_run(tmp_path)

    assert result.exit_code == 0, result.output
    [templates] = started
    assert "mid_autumn" in templates
