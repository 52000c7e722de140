"""``carebot occasions`` and ``carebot birthday``."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text

from bot.cli.common import (
    app,
    cli_settings,
    clock,
    out,
)
from care.birthdays import (
    FIRST_YEAR,
    LAST_YEAR,
    MOST_YEARS,
    BirthdayError,
    greeting_days,
    parse_birthday,
    parse_years,
)
from care.occasions import MAX_YEAR, MIN_YEAR, occasions_in_year
from handlers.i18n import use_locale
from handlers.texts import lunar_date_name

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@app.command("occasions")
def occasions_command(
    year: Annotated[
        int | None,
        typer.Option(
            "--year",
            "-y",
            min=MIN_YEAR,
            max=MAX_YEAR,
            help="The year. Default: this year, in CAREBOT_TIMEZONE.",
        ),
    ] = None,
    countries: Annotated[
        list[str] | None,
        typer.Option(
            "--country",
            "-c",
            metavar="CODE",
            help=(
                "A country whose public holidays count, as an ISO code (CN, DE, US…); "
                "repeat for more. Default: CAREBOT_HOLIDAY_COUNTRIES (CN)."
            ),
        ),
    ] = None,
) -> None:
    """List a year's occasions for greetings, by date.

    Public holidays of the countries (only the first day of a long one; no days off in
    lieu), the Chinese festivals of the lunar calendar, and the days on the same date
    every year. The code is what campaigns and greeting templates are keyed by.
    """
    settings = cli_settings()
    if year is None:
        year = clock().now().astimezone(ZoneInfo(settings.timezone)).year
    chosen = tuple(countries or settings.holiday_countries)
    try:
        found = occasions_in_year(year, chosen)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--country") from None
    table = Table(
        title=f"Occasions in {year} ({', '.join(c.upper() for c in chosen) or 'no country'})",
        title_justify="left",
    )
    for column in ("Date", "Weekday", "Code", "中文", "English", "Kind"):
        table.add_column(column)
    for occasion in found:
        table.add_row(
            occasion.on.isoformat(),
            WEEKDAYS[occasion.on.weekday()],
            occasion.code,
            # Text, not str: holiday names must never be read as rich markup.
            Text(occasion.names["zh_CN"]),
            Text(occasion.names["en"]),
            occasion.kind,
        )
    out().print(table)


@app.command("birthday")
def birthday_command(
    birthday: Annotated[
        str,
        typer.Argument(
            metavar="BIRTHDAY",
            help="As a customer writes it: 1990-05-20, 农历闰四月三十, lunar 8-15.",
        ),
    ],
    years: Annotated[
        str | None,
        typer.Option(
            "--years",
            "-y",
            metavar="YEAR[-YEAR]",
            help="A year or years: 2026, 2020-2035. Default: this year and the next four.",
        ),
    ] = None,
) -> None:
    """On which days a birthday is greeted, year by year, as the planner computes them.

    For a customer who asks "when will my lunar birthday greeting come?": a lunar
    birthday comes once in every lunar year, so twice in some solar years and in none in
    others; leap months and day 30 follow the rule in docs/architecture.md, "Birthdays".
    """
    settings = cli_settings()
    today = clock().now().astimezone(ZoneInfo(settings.timezone)).date()
    chosen = parse_years(years) if years else range(today.year, today.year + 5)
    if chosen is None:
        raise typer.BadParameter(
            f"a year or two joined by '-', from {FIRST_YEAR} to {LAST_YEAR}, "
            f"at most {MOST_YEARS} years",
            param_hint="--years",
        )
    try:
        found = greeting_days(parse_birthday(birthday, today), chosen)
    except BirthdayError as exc:
        raise typer.BadParameter(f"not a birthday ({exc.problem.value})") from None
    table = Table(title=f"Birthday greetings for {birthday}", title_justify="left")
    for column in ("Year", "Date", "Weekday", "Lunar date"):
        table.add_column(column)
    with use_locale("zh_CN"):  # lunar dates by their Chinese names
        for year, days in found.items():
            if not days:
                table.add_row(str(year), "—", "", "none this year")
            for day in days:
                lunar = lunar_date_name(day.lunar_month, day.lunar_day, day.lunar_leap)
                table.add_row(str(year), day.on.isoformat(), WEEKDAYS[day.on.weekday()], lunar)
    out().print(table)
