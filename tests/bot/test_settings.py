"""Settings: one clear line per wrong value, and the token kept out of every log line."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from bot.logs import RedactToken
from bot.settings import SettingsError, load_settings
from care.reports.weekly import WeeklyReport

SECRET = "123456:AAE-very-secret-token"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "TOKEN",
        "DATABASE_URL",
        "API_BASE_URL",
        "STAFF_CHAT_ID",
        "ADMINS",
        "DEFAULT_LOCALE",
        "TIMEZONE",
        "CONFIG",
        "SEND_PER_CHAT_BURST",
        "PHONE_REGION",
    ):
        monkeypatch.delenv(f"CAREBOT_{name}", raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_run_the_playground_on_sqlite() -> None:
    settings = load_settings()
    assert settings.token is None
    assert settings.database_url == "sqlite+aiosqlite:///var/carebot.db"
    assert settings.api_base_url == "https://api.telegram.org/bot"
    assert settings.api_file_url == "https://api.telegram.org/file/bot"


def test_environment_and_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "carebot.toml").write_text(
        'timezone = "Europe/Berlin"\nadmins = [1, 2]\ndefault_locale = "en"\n', encoding="utf-8"
    )
    monkeypatch.setenv("CAREBOT_TIMEZONE", "Asia/Tokyo")
    monkeypatch.setenv("CAREBOT_DATABASE_URL", "postgresql://carebot@db.internal/care")
    monkeypatch.setenv("CAREBOT_API_BASE_URL", "http://127.0.0.1:8081")
    settings = load_settings()
    assert settings.timezone == "Asia/Tokyo", "the environment wins over the file"
    assert settings.admins == [1, 2] and settings.default_locale == "en"
    assert settings.database_url == "postgresql+asyncpg://carebot@db.internal/care"
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.api_file_url == "http://127.0.0.1:8081/file/bot"
    monkeypatch.setenv("CAREBOT_ADMINS", "11, 22,33")
    assert load_settings().admins == [11, 22, 33]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CAREBOT_TIMEZONE", "Mars/Olympus", "CAREBOT_TIMEZONE: is not an IANA time zone"),
        (
            "CAREBOT_STAFF_CHAT_ID",
            "staff",
            "CAREBOT_STAFF_CHAT_ID: Input should be a valid integer",
        ),
        ("CAREBOT_ADMINS", "alice,bob", "CAREBOT_ADMINS: must be Telegram user ids"),
        ("CAREBOT_DEFAULT_LOCALE", "fr", "CAREBOT_DEFAULT_LOCALE: must be one of zh_CN, en"),
        ("CAREBOT_DATABASE_URL", "mysql://x", "CAREBOT_DATABASE_URL: must be a sqlite"),
        ("CAREBOT_TOKEN", "not-a-token", "CAREBOT_TOKEN: does not look like a bot token"),
        (
            "CAREBOT_SEND_PER_CHAT_BURST",
            "0",
            "CAREBOT_SEND_PER_CHAT_BURST: Input should be greater than or equal to 1",
        ),
        (
            "CAREBOT_SEND_AT_LOCAL",
            "22:00",
            "CAREBOT_SEND_AT_LOCAL: 22:00 is inside the quiet hours (21:00-08:00)",
        ),
        (
            "CAREBOT_FOLLOWUP_GRACE_DAYS",
            "-1",
            "CAREBOT_FOLLOWUP_GRACE_DAYS: Input should be greater than or equal to 0",
        ),
    ],
)
def test_a_wrong_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(expected) and "\n" not in message


def test_the_follow_up_grace_reaches_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().engine().followups.grace_days == 2
    monkeypatch.setenv("CAREBOT_FOLLOWUP_GRACE_DAYS", "0")
    assert load_settings().engine().followups.grace_days == 0


def test_the_per_chat_burst_reaches_the_senders_limits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert load_settings().engine().limits.per_chat_burst == 3  # Telegram's
    (tmp_path / "carebot.toml").write_text("send_per_chat_burst = 5\n", encoding="utf-8")
    assert load_settings().engine().limits.per_chat_burst == 5
    monkeypatch.setenv("CAREBOT_SEND_PER_CHAT_BURST", "1")
    assert load_settings().engine().limits.per_chat_burst == 1, "the environment wins"


def test_the_token_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREBOT_TOKEN", SECRET)
    settings = load_settings()
    assert settings.token_value == SECRET
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())


def test_logs_redact_the_token_even_inside_urls_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("carebot.test.redaction")
    redact = RedactToken(SECRET)
    logger.addFilter(redact)
    try:
        with caplog.at_level(logging.INFO, logger="carebot.test.redaction"):
            logger.info("POST https://api.telegram.org/bot%s/getUpdates", SECRET)
            try:
                raise httpx.ConnectError(f"cannot reach https://api.telegram.org/bot{SECRET}/getMe")
            except httpx.ConnectError:
                logger.exception("network down")
    finally:
        logger.removeFilter(redact)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert SECRET not in text and SECRET not in caplog.text
    assert "bot<token>/getUpdates" in text and "bot<token>/getMe" in caplog.text


def test_the_phone_region_is_a_country_phone_numbers_know(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().phone_region == "CN"
    monkeypatch.setenv("CAREBOT_PHONE_REGION", "hk")
    assert load_settings().phone_region == "HK"
    monkeypatch.setenv("CAREBOT_PHONE_REGION", "XX")
    with pytest.raises(SettingsError, match="CAREBOT_PHONE_REGION"):
        load_settings()


def test_the_weekly_report_day_is_a_weekday_or_nothing() -> None:
    assert load_settings(report_weekday="Friday").weekly_report() == WeeklyReport(4, 9)
    assert load_settings(report_weekday="", report_hour=7).weekly_report() is None
    with pytest.raises(SettingsError, match="CAREBOT_REPORT_WEEKDAY"):
        load_settings(report_weekday="funday")
    with pytest.raises(SettingsError, match="CAREBOT_REPORT_HOUR"):
        load_settings(report_hour=24)
    assert load_settings(churn_days=30).reports().churn_days == 30


def test_faq_thresholds_reach_the_matcher_and_must_be_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAREBOT_FAQ_ANSWER_SCORE", "70")
    monkeypatch.setenv("CAREBOT_FAQ_SUGGESTIONS", "2")
    thresholds = load_settings().faq_thresholds()
    assert (thresholds.answer, thresholds.suggestions) == (70, 2)
    monkeypatch.setenv("CAREBOT_FAQ_SUGGEST_SCORE", "80")
    with pytest.raises(SettingsError, match=r"^CAREBOT_FAQ_SUGGEST_SCORE: 80\.0 is above"):
        load_settings()
