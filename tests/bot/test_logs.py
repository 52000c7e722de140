"""CAREBOT_LOG_FORMAT: text lines or one JSON object per line, the token never in them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs
from bot.settings import SettingsError, load_settings

SECRET = "123456:AAAA-very-secret-token"


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Put the root logger back as it was (configure replaces its handlers)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_logs_are_one_object_per_line_without_the_token(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.configure("INFO", SECRET, "json")
    log = logging.getLogger("carebot.test.json")
    log.info("POST https://api.telegram.org/bot%s/getMe for %s", SECRET, "客户")
    try:
        raise ConnectionError(f"cannot reach https://api.telegram.org/bot{SECRET}/getUpdates")
    except ConnectionError:
        log.exception("network down")
    log.debug("not shown at INFO")

    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "carebot.test.json"
    assert first["message"] == "POST https://api.telegram.org/bot<token>/getMe for 客户"
    assert first["timestamp"].endswith("+00:00")
    assert second["level"] == "ERROR" and "network down" in second["message"]
    assert "bot<token>/getUpdates" in second["message"]
    assert all(SECRET not in line for line in lines)


def test_text_logs_stay_lines(root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", SECRET, "text")
    logging.getLogger("carebot.test.text").warning("token %s", SECRET)
    line = capsys.readouterr().err.strip()
    assert line.endswith("WARNING carebot.test.text: token <token>")


def test_the_setting_takes_text_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().log_format == "text"
    monkeypatch.setenv("CAREBOT_LOG_FORMAT", "json")
    assert load_settings().log_format == "json"
    monkeypatch.setenv("CAREBOT_LOG_FORMAT", "xml")
    with pytest.raises(SettingsError, match="CAREBOT_LOG_FORMAT"):
        load_settings()
