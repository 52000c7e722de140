"""Birthdays as customers give them: a solar date, or a lunar one (农历八月十五).

The rule for lunar birthdays that a given year does not have (used by the care engine):
- born in a leap month (闰四月): celebrated in the ordinary month of the same number in
  years without that leap month, which is what most families do;
- born on day 30 of a month that is short (29 days) this year: celebrated on day 29.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date

from lunar_python import Lunar

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

    def solar_date_in(self, year: int) -> date:
        """The solar date on which this birthday falls in the given (solar) year.

        For a lunar birthday that is the day in ``year`` whose lunar month and day match,
        following the module's rule for leap months and short months. Lunar dates near
        the new year can fall in the next lunar year; we take the lunar year that starts
        in ``year`` first, then the one before, and return the one inside ``year``.
        """
        if self.calendar is BirthdayCalendar.SOLAR:
            if self.month == 2 and self.day == 29 and not _is_leap(year):
                return date(year, 2, 28)
            return date(year, self.month, self.day)
        for lunar_year in (year, year - 1):
            solar = _lunar_to_solar(lunar_year, self.month, self.day, self.leap_month)
            if solar.year == year:
                return solar
        raise AssertionError("a lunar date falls in every solar year")  # pragma: no cover


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _lunar_to_solar(year: int, month: int, day: int, leap: bool) -> date:
    attempts = []
    if leap:
        attempts.append((-month, day))
    attempts += [(month, day), (month, day - 1)] if day == 30 else [(month, day)]
    for lunar_month, lunar_day in attempts:
        try:
            solar = Lunar.fromYmd(year, lunar_month, lunar_day).getSolar()
        except Exception:  # lunar-python raises plain Exception for dates a year lacks
            continue
        return date(solar.getYear(), solar.getMonth(), solar.getDay())
    raise BirthdayError(BirthdayProblem.NO_SUCH_DATE)


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
    if birthday.calendar is BirthdayCalendar.SOLAR:
        born = date(birthday.year, birthday.month, birthday.day)
    else:
        born = _lunar_to_solar(birthday.year, birthday.month, birthday.day, birthday.leap_month)
    if born > today:
        raise BirthdayError(BirthdayProblem.IN_FUTURE)
