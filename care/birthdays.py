"""Birthdays as customers give them: a solar date, or a lunar one (农历八月十五).

When a birthday is greeted (the care engine's rule; :meth:`Birthday.solar_dates_in`):

- A solar birthday: on its month and day every year; 29 February on 28 February in
  common years.
- A lunar birthday: once in every lunar year, on that lunar year's day of the lunar
  month and day, and so on every solar day on which it falls. A solar year can have it
  twice (腊月初八 was 2022-01-10 and 2022-12-30) or not at all (冬月二十 falls in no day
  of 2020, 2023, 2025, 2028 or 2031): each is greeted, none is skipped, none doubled.
  For lunar years without the month or day:

  - born in a leap month (闰四月): in a lunar year with that leap month, in the leap
    month; in the others, in the ordinary month of the same number, which is what most
    families do;
  - born on day 30 of a month that has only 29 days in that lunar year: on day 29 of
    the same month (闰四月三十 in 2020, whose 闰四月 has 29 days, is 闰四月廿九,
    2020-06-20, not 四月三十).

- Known birth year: never on or before the day of birth.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from lunar_python import Lunar, LunarYear, Solar

from care.models import BirthdayCalendar

_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_MONTHS = {"正": 1, "冬": 11, "腊": 12, "臘": 12}
_LUNAR_PREFIX = re.compile(r"^\s*(农历|農曆|阴历|陰曆|lunar)\s*", re.IGNORECASE)


class BirthdayProblem(enum.StrEnum):
    """Why a birthday was not understood; handlers turn these into words."""

    UNREADABLE = "unreadable"
    NO_SUCH_DATE = "no_such_date"
    IN_FUTURE = "in_future"
    TOO_OLD = "too_old"


# What a date is written with, besides digits: Chinese date characters and the English
# names of months and weekdays (a text without any of these is no attempt at a date).
_DATE_WORDS = re.compile(
    r"农历|阴历|阳历|公历|闰|月|日|初|生日|"
    r"\b(?:lunar|leap|solar|jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|"
    r"january|february|march|april|june|july|august|september|october|november|december|"
    r"mon|tue|wed|thu|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|today|tomorrow|yesterday)\b",
    re.IGNORECASE,
)
# Longer texts are messages, whatever they contain: a date is written in a few characters.
_DATE_LENGTH = 24


def looks_like_a_date(text: str) -> bool:
    """Whether a text reads as an attempt at a date (a readable one or not).

    "1990-05-20", "农历八月十五", "5月20日", "next tuesday" and "1990-02-30" are attempts;
    "门店店员态度恶劣，还骂人" or "where is my parcel?" are messages, not answers.
    """
    text = text.strip()
    if not text or len(text) > _DATE_LENGTH:
        return False
    return any(ch.isdigit() for ch in text) or _DATE_WORDS.search(text) is not None


class BirthdayError(ValueError):
    def __init__(self, problem: BirthdayProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class Birthday:
    """A birthday; ``year`` is optional, ``leap_month`` only for lunar ones."""

    calendar: BirthdayCalendar
    month: int
    day: int
    year: int | None = None
    leap_month: bool = False

    def solar_dates_in(self, year: int) -> tuple[date, ...]:
        """The solar dates in ``year`` on which this birthday is greeted, in order.

        One for a solar birthday; none, one or two for a lunar one (it is greeted once
        in every lunar year, and a solar year has days of two lunar years): see the
        module's rule. None on or before the day of birth, when the year is known.

        Raises:
            BirthdayError: NO_SUCH_DATE for a stored date no calendar has (a lunar month
                13); a solar date that does not exist (30 February) is a ValueError.
        """
        if self.calendar is BirthdayCalendar.SOLAR:
            if self.month == 2 and self.day == 29 and not _is_leap(year):
                found = [date(year, 2, 28)]
            else:
                found = [date(year, self.month, self.day)]
        else:
            # Lunar year N starts in January or February of solar year N and ends in
            # solar year N + 1: solar ``year`` has days of lunar years year - 1 and year.
            found = [
                on
                for lunar_year in (year - 1, year)
                if (on := self.in_lunar_year(lunar_year)).year == year
            ]
        born = self.born_on()
        return tuple(on for on in found if born is None or on > born)

    def in_lunar_year(self, lunar_year: int) -> date:
        """The solar date of this lunar birthday in a lunar year (the module's rule).

        Raises:
            BirthdayError: NO_SUCH_DATE for a month or day no lunar year has, or a lunar
                year lunar-python does not know.
        """
        return _lunar_to_solar(lunar_year, self.month, self.day, self.leap_month)

    def born_on(self) -> date | None:
        """The solar date of birth, when the birth year is known."""
        if self.year is None:
            return None
        if self.calendar is BirthdayCalendar.SOLAR:
            return date(self.year, self.month, self.day)
        return _lunar_to_solar(self.year, self.month, self.day, self.leap_month)


# Years a greeting can be looked up for (as care.occasions), and at most this many at once.
FIRST_YEAR, LAST_YEAR = 1901, 2099
MOST_YEARS = 100
_YEARS = re.compile(r"^(\d{4})(?:\s*[-–~]\s*(\d{4}))?$")


@dataclass(frozen=True)
class GreetingDay:
    """A day a birthday is greeted on, and that day's lunar date (month, day, leap)."""

    on: date
    lunar_month: int
    lunar_day: int
    lunar_leap: bool


def greeting_days(birthday: Birthday, years: range) -> dict[int, list[GreetingDay]]:
    """The days the planner greets this birthday on, year by year (for staff asked "when
    will my greeting come?"): :meth:`Birthday.solar_dates_in`, as the planner uses it
    (``care.occasions.birthdays_in``), with each day's lunar date.

    Raises:
        BirthdayError: as :meth:`Birthday.solar_dates_in`.
    """
    found = {}
    for year in years:
        days = []
        for on in birthday.solar_dates_in(year):
            lunar = Solar.fromYmd(on.year, on.month, on.day).getLunar()
            days.append(
                GreetingDay(on, abs(lunar.getMonth()), lunar.getDay(), lunar.getMonth() < 0)
            )
        found[year] = days
    return found


def parse_years(text: str) -> range | None:
    """``2026`` or ``2020-2035`` as a range of years; None if it is neither, runs
    backwards, or leaves FIRST_YEAR–LAST_YEAR or MOST_YEARS."""
    match = _YEARS.match(text.strip())
    if not match:
        return None
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if not FIRST_YEAR <= first <= last <= LAST_YEAR or last - first >= MOST_YEARS:
        return None
    return range(first, last + 1)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _lunar_to_solar(year: int, month: int, day: int, leap: bool) -> date:
    """Lunar ``year``'s day ``day`` of month ``month`` (of its leap month, when ``leap``
    and the year has one of that number; else of the ordinary one), day 30 on day 29 in a
    month of 29 days."""
    if not (1 <= month <= 12 and 1 <= day <= 30):
        raise BirthdayError(BirthdayProblem.NO_SUCH_DATE)
    months = _lunar_months(year)
    first, days = months[-month] if leap and -month in months else months[month]
    return first + timedelta(days=min(day, days) - 1)


@lru_cache(maxsize=64)
def _lunar_months(year: int) -> dict[int, tuple[date, int]]:
    """A lunar year's months (a leap month by its negative number): their first solar
    day and how many days they have. Cached: lunar-python computes a year afresh each
    time it is asked about another (tens of ms), and the planner asks all day.

    Raises:
        BirthdayError: NO_SUCH_DATE for a year lunar-python does not know.
    """
    try:
        months = LunarYear.fromYear(year).getMonthsInYear()
    except Exception:  # lunar-python raises plain Exception (and IndexError) out of range
        raise BirthdayError(BirthdayProblem.NO_SUCH_DATE) from None
    found = {}
    for lunar_month in months:
        first = Solar.fromJulianDay(lunar_month.getFirstJulianDay())
        found[lunar_month.getMonth()] = (
            date(first.getYear(), first.getMonth(), first.getDay()),
            lunar_month.getDayCount(),
        )
    return found


def _cn_number(text: str) -> int | None:
    """Chinese numerals up to 39 as used in dates: 八, 十五, 二十, 廿三, 三十."""
    text = text.replace("廿", "二十").replace("卅", "三十")
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _CN_DIGITS and ch != "十" for ch in text):
        return None
    if "十" in text:
        tens_text, _, units_text = text.partition("十")
        tens = _CN_DIGITS[tens_text] if tens_text else 1
        units = _CN_DIGITS[units_text] if units_text else 0
        if len(tens_text) > 1 or len(units_text) > 1:
            return None
        return tens * 10 + units
    if len(text) == 1:
        return _CN_DIGITS[text]
    return None


def _year(text: str | None) -> int | None:
    if not text:
        return None
    if text.isdigit():
        return int(text)
    digits = "".join(str(_CN_DIGITS[ch]) for ch in text if ch in _CN_DIGITS)
    return int(digits) if len(digits) == 4 and len(digits) == len(text) else None


_NUMERIC = re.compile(r"^(?:(\d{4})[-/.年]\s*)?(\d{1,2})[-/.月]\s*(\d{1,2})日?$")
_DMY = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")
_CN_LUNAR = re.compile(
    r"^(?:([\d〇零一二三四五六七八九]{4})年)?\s*(闰|閏)?\s*([正冬腊臘\d一二三四五六七八九十]{1,3})月\s*"
    r"(?:初)?([\d一二三四五六七八九十廿卅]{1,3})(?:日|号)?$"
)
_LATIN_LUNAR = re.compile(r"^(leap\s+)?(?:(\d{4})[-/.])?(\d{1,2})[-/.](\d{1,2})$", re.IGNORECASE)


def parse_birthday(text: str, today: date) -> Birthday:
    """Read a birthday the way customers type it.

    Solar: ``1990-05-20``, ``05-20``, ``1990/5/20``, ``20.05.1990``, ``1990年5月20日``,
    ``5月20日``. Lunar: ``农历八月十五``, ``农历1990年八月十五``, ``农历闰四月初八``,
    ``阴历腊月廿三``, ``lunar 8-15``, ``lunar 1990-08-15``, ``lunar leap 4-8``.

    Args:
        text: what the customer wrote.
        today: the local date now, to refuse birthdays in the future.

    Raises:
        BirthdayError: with a ``BirthdayProblem`` saying what is wrong.
    """
    cleaned = text.strip().replace("　", " ")
    prefix = _LUNAR_PREFIX.match(cleaned)
    if prefix:
        birthday = _parse_lunar(cleaned[prefix.end() :].strip())
    else:
        birthday = _parse_solar(cleaned)
    _check(birthday, today)
    return birthday


def _parse_solar(text: str) -> Birthday:
    match = _NUMERIC.match(text)
    if match:
        year, month, day = _year(match.group(1)), int(match.group(2)), int(match.group(3))
    else:
        dmy = _DMY.match(text)
        if not dmy:
            raise BirthdayError(BirthdayProblem.UNREADABLE)
        day, month, year = int(dmy.group(1)), int(dmy.group(2)), int(dmy.group(3))
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: 02-29 without a year is fine
    except ValueError:
        raise BirthdayError(BirthdayProblem.NO_SUCH_DATE) from None
    return Birthday(BirthdayCalendar.SOLAR, month, day, year)


def _parse_lunar(text: str) -> Birthday:
    match = _CN_LUNAR.match(text)
    if match:
        year = _year(match.group(1))
        if match.group(1) and year is None:
            raise BirthdayError(BirthdayProblem.UNREADABLE)
        leap = bool(match.group(2))
        month_text = match.group(3)
        month = _CN_MONTHS.get(month_text) or _cn_number(month_text)
        day = _cn_number(match.group(4))
    else:
        latin = _LATIN_LUNAR.match(text)
        if not latin:
            raise BirthdayError(BirthdayProblem.UNREADABLE)
        leap = bool(latin.group(1))
        year = int(latin.group(2)) if latin.group(2) else None
        month, day = int(latin.group(3)), int(latin.group(4))
    if month is None or day is None:
        raise BirthdayError(BirthdayProblem.UNREADABLE)
    if not (1 <= month <= 12 and 1 <= day <= 30):
        raise BirthdayError(BirthdayProblem.NO_SUCH_DATE)
    if year is not None:
        try:
            Lunar.fromYmd(year, -month if leap else month, day)
        except Exception:  # lunar-python: "wrong lunar year…" / "only 29 days…"
            raise BirthdayError(BirthdayProblem.NO_SUCH_DATE) from None
    return Birthday(BirthdayCalendar.LUNAR, month, day, year, leap)


def _check(birthday: Birthday, today: date) -> None:
    if birthday.year is None:
        return
    if birthday.year < today.year - 120:
        raise BirthdayError(BirthdayProblem.TOO_OLD)
    born = birthday.born_on()
    if born is not None and born > today:
        raise BirthdayError(BirthdayProblem.IN_FUTURE)
