"""``carebot occasions``: a year's occasions as a table, through typer's CliRunner.

The command needs no database; it reads the settings (time zone, countries) only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot import cli
from care.clock import ManualClock

Carebot = Callable[..., Result]


@pytest.fixture
def carebot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Carebot:
    for name in list(os.environ):
        if name.startswith("CAREBOT_") and not name.startswith("CAREBOT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run(*args: str, **env: str) -> Result:
        environment = {"CAREBOT_CONFIG": str(tmp_path / "absent.toml"), "COLUMNS": "200", **env}
        return CliRunner().invoke(cli.app, ["occasions", *args], env=environment)

    return run


def rows(result: Result) -> list[list[str]]:
    """The table's body rows as lists of cells."""
    return [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in result.output.splitlines()
        if line.startswith("│")
    ]


def test_lists_a_years_occasions_by_date(carebot: Carebot) -> None:
    result = carebot("--year", "2027")
    assert result.exit_code == 0, result.output
    assert "Occasions in 2027 (CN)" in result.output
    assert "Date" in result.output and "Weekday" in result.output and "中文" in result.output
    table = rows(result)
    assert [
        "2027-02-05",
        "Fri",
        "new_year_eve",
        "除夕",
        "Chinese New Year's Eve",
        "public",
    ] in table
    assert ["2027-02-06", "Sat", "spring_festival", "春节", "Spring Festival", "public"] in table
    assert ["2027-02-20", "Sat", "lantern", "元宵节", "Lantern Festival", "lunar"] in table
    assert ["2027-12-25", "Sat", "christmas", "圣诞节", "Christmas", "fixed"] in table
    assert [row[0] for row in table] == sorted(row[0] for row in table)
    assert not any(row[2].startswith("de_") for row in table)


def test_more_countries(carebot: Carebot) -> None:
    result = carebot("--year", "2026", "--country", "CN", "--country", "de")
    assert result.exit_code == 0, result.output
    assert "Occasions in 2026 (CN, DE)" in result.output
    table = rows(result)
    assert ["2026-10-01", "Thu", "national_day", "国庆节", "National Day", "public"] in table
    assert [
        "2026-10-03",
        "Sat",
        "de_german_unity_day",
        "German Unity Day",
        "German Unity Day",
        "public",
    ] in table
    assert ["2026-12-25", "Fri", "christmas", "圣诞节", "Christmas", "public"] in table


def test_countries_from_the_settings(carebot: Carebot) -> None:
    result = carebot("-y", "2026", CAREBOT_HOLIDAY_COUNTRIES='["DE"]')
    assert result.exit_code == 0, result.output
    assert "Occasions in 2026 (DE)" in result.output
    assert "de_german_unity_day" in result.output
    assert "national_day" not in result.output


def test_this_year_in_the_configured_time_zone(
    carebot: Carebot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 17:00 UTC on New Year's Eve: already 2027 in Shanghai, still 2026 in Berlin.
    monkeypatch.setattr(
        cli, "SystemClock", lambda: ManualClock(datetime(2026, 12, 31, 17, 0, tzinfo=UTC))
    )
    assert "Occasions in 2027" in carebot().output
    assert "Occasions in 2026" in carebot(CAREBOT_TIMEZONE="Europe/Berlin").output


def test_bad_country_or_year_is_bad_usage(carebot: Carebot) -> None:
    result = carebot("--country", "XX")
    assert result.exit_code == 2
    assert "no public holidays are known for the country 'XX'" in result.output
    assert carebot("--year", "1800").exit_code == 2
    assert carebot("--year", "soon").exit_code == 2
