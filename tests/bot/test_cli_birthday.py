"""``carebot birthday``: the days a birthday is greeted on, year by year (issue 9, item 11).

Staff asked "when will my lunar birthday greeting come?" get the planner's answer: the
same ``Birthday.solar_dates_in`` that ``care.occasions.birthdays_in`` plans from.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner, Result

from bot import cli
from care.clock import SystemClock
from care.models import Customer
from care.occasions import birthdays_in

Carebot = Callable[..., Result]


@pytest.fixture
def carebot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Carebot:
    for name in list(os.environ):
        if name.startswith("CAREBOT_") and not name.startswith("CAREBOT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Result:
        environment = {"CAREBOT_CONFIG": str(tmp_path / "absent.toml"), "COLUMNS": "200"}
        return CliRunner().invoke(cli.app, ["birthday", *args], env=environment)

    return run


def rows(result: Result) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("│").split("│")]
        for line in result.output.splitlines()
        if line.startswith("│")
    ]


def test_a_lunar_birthday_in_a_leap_month_on_day_30(carebot: Carebot) -> None:
    result = carebot("农历闰四月三十", "--years", "2020-2035")
    assert result.exit_code == 0, result.output
    table = rows(result)
    assert len(table) == 16
    # 2020 has a 闰四月 of 29 days: its day 29, not 四月三十 (2020-05-22).
    assert table[0] == ["2020", "2020-06-20", "Sat", "闰四月廿九"]
    assert table[1] == ["2021", "2021-06-09", "Wed", "四月廿九"]
    assert ["2023", "2023-06-17", "Sat", "四月三十"] in table


def test_a_year_with_two_days_and_one_with_none(carebot: Carebot) -> None:
    table = rows(carebot("农历腊月初八", "--years", "2022-2023"))
    assert table == [
        ["2022", "2022-01-10", "Mon", "腊月初八"],
        ["2022", "2022-12-30", "Fri", "腊月初八"],
        ["2023", "—", "", "none this year"],
    ]


def test_the_days_are_the_planners(carebot: Carebot) -> None:
    customer = Customer(birthday_calendar="lunar", birthday_month=11, birthday_day=20)
    for year in range(2020, 2036):
        planned = [o.on.isoformat() for o in birthdays_in(customer, year)]
        shown = [row[1] for row in rows(carebot("农历冬月二十", "--years", str(year)))]
        assert shown == (planned or ["—"]), year


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["农历十三月初一"], "not a birthday"),
        (["05-20", "--years", "2035-2020"], "--years"),
        (["05-20", "--years", "1800"], "--years"),
    ],
)
def test_what_is_not_understood_is_said(carebot: Carebot, args: list[str], problem: str) -> None:
    result = carebot(*args)
    assert result.exit_code != 0
    assert problem in result.output


def test_five_years_from_this_one_by_default(carebot: Carebot) -> None:
    table = rows(carebot("05-20"))
    this_year = SystemClock().now().astimezone(ZoneInfo("Asia/Shanghai")).year  # the default
    assert [row[0] for row in table] == [str(year) for year in range(this_year, this_year + 5)]
