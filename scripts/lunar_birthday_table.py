"""Build tests/data/lunar_birthdays.csv: the days a lunar birthday is greeted, 2020–2035.

The table is what the documented rule (docs/architecture.md, "Birthdays") gives for
every lunar birthday, month 1–12, leap or not, day 1–30, in every solar year 2020–2035.
tests/care/test_birthday_table.py checks care/birthdays.py against every row of it.

Sources, two, built independently and required to agree day by day:

- lunar-python 1.4.8 (6tail/lunar-python, computed from the astronomical new moons and
  solar terms);
- borax 4.1.3 (kinegratii/borax, ``borax.calendars.lunardate``: a table of the month
  lengths and leap months of the lunar years 1900-2100, the one long circulated with
  Chinese calendar programs), no computation.

Neither is asked to convert a lunar date to a solar one (care/birthdays.py does that
with lunar-python's ``Lunar.fromYmd``): each names the lunar date of every solar day from
2019-01-01 to 2036-12-31, and the two calendars so read must be the same. The rule is
then applied to that calendar by the code below, not by carebot's:

- a lunar birthday is greeted once in each lunar year, on that year's day of its month
  and day, so a solar year has it on each day of the lunar years Y - 1 and Y that falls
  in it: none, one or two;
- born in a leap month: the leap month in a lunar year that has it, else the ordinary
  month of the same number;
- day 30 in a month of 29 days that year: day 29.

Run it (rarely: the table is committed) with the dev extras installed::

    .venv/bin/python scripts/lunar_birthday_table.py            # writes the table
    .venv/bin/python scripts/lunar_birthday_table.py --check    # compares, writes nothing

Columns: ``month,leap,day`` (leap 1 for a leap month) and one per solar year 2020–2035
with the greeting days as ``MM-DD``, two separated by a space, none empty.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from borax.calendars.lunardate import LunarDate
from lunar_python import Solar

FIRST_YEAR, LAST_YEAR = 2020, 2035
TABLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "lunar_birthdays.csv"

# (lunar year, month, leap, day)
LunarDay = tuple[int, int, bool, int]
Calendar = dict[LunarDay, date]


def read_calendar(lunar_of: Callable[[date], LunarDay]) -> Calendar:
    """Every solar day from 2019 to 2036 by its lunar date, as one source names them."""
    calendar: Calendar = {}
    day = date(FIRST_YEAR - 1, 1, 1)
    while day <= date(LAST_YEAR + 1, 12, 31):
        lunar = lunar_of(day)
        assert lunar not in calendar, f"{lunar} twice"
        calendar[lunar] = day
        day += timedelta(days=1)
    return calendar


def by_lunar_python(day: date) -> LunarDay:
    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    month = lunar.getMonth()  # negative for a leap month
    return lunar.getYear(), abs(month), month < 0, lunar.getDay()


def by_borax(day: date) -> LunarDay:
    lunar = LunarDate.from_solar(day)
    return lunar.year, lunar.month, bool(lunar.leap), lunar.day


def greeted(calendar: Calendar, lunar_year: int, month: int, leap: bool, day: int) -> date:
    """The rule: the day a lunar birthday is greeted in one lunar year."""
    leap = leap and (lunar_year, month, True, 1) in calendar  # no such leap month: ordinary
    if (lunar_year, month, leap, day) not in calendar:
        day = 29  # day 30 of a month of 29 days
    return calendar[(lunar_year, month, leap, day)]


def table(calendar: Calendar) -> list[list[str]]:
    rows = [["month", "leap", "day", *map(str, range(FIRST_YEAR, LAST_YEAR + 1))]]
    for month in range(1, 13):
        for leap in (False, True):
            for day in range(1, 31):
                row = [str(month), str(int(leap)), str(day)]
                for year in range(FIRST_YEAR, LAST_YEAR + 1):
                    days = [
                        greeted(calendar, lunar_year, month, leap, day)
                        for lunar_year in (year - 1, year)
                    ]
                    row.append(" ".join(d.strftime("%m-%d") for d in days if d.year == year))
                rows.append(row)
    return rows


def as_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed table")
    arguments = parser.parse_args()
    first, second = read_calendar(by_lunar_python), read_calendar(by_borax)
    if first != second:
        differ = sorted(set(first.items()) ^ set(second.items()))[:10]
        print(f"lunar-python and borax disagree, e.g. {differ}", file=sys.stderr)
        return 1
    built = table(first)
    assert built == table(second)
    text = as_csv(built)
    if arguments.check:
        same = TABLE.read_text(encoding="utf-8") == text
        print("the committed table is " + ("up to date" if same else "NOT what the sources give"))
        return 0 if same else 1
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text(text, encoding="utf-8")
    print(f"wrote {TABLE} ({len(built) - 1} birthdays, {FIRST_YEAR}–{LAST_YEAR})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
