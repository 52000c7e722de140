"""Occasions for greetings: public holidays, lunar festivals, fixed days, personal days.

A year's occasions come from three sources, merged and sorted by date:

- ``public``: the public holidays of the configured countries (``holidays``). China's
  festivals keep stable codes (``spring_festival``, ``mid_autumn`` …); another country's
  holidays get a code made of the country and the English name (``de_german_unity_day``),
  unless they are one of our fixed days (Germany's Christmas Day is ``christmas``). Only
  the first day of a multi-day holiday counts (Spring Festival's first day, 1 October);
  days off in lieu ("observed", 补假), swapped working days (调休) and days added to a
  holiday (春节延长假期, 2020) are no occasions.
- ``lunar``: Chinese festivals by the Chinese calendar (``lunar-python``) on which China
  has no day off: lantern (1/15), qixi (7/7), double_ninth (9/9), laba (12/8),
  little_new_year (12/23, the northern 小年), new_year_eve (除夕, the last day of the 12th
  month, 29 or 30). Also spring_festival (1/1), qingming (the solar term), dragon_boat
  (5/5) and mid_autumn (8/15) whenever no public holiday gives them: for years before
  China made them days off (2008) and when China is not a configured country. Since
  2025 除夕 is a day off in China and comes from ``holidays`` as ``public``.
- ``fixed``: days on the same solar date every year: new_year, valentines, womens_day,
  childrens_day, teachers_day, christmas (each only when no public holiday gave it).

A code appears once a year, except where a calendar makes it fall twice in one solar
year (laba was on 2022-01-10 and 2022-12-30; Islamic holidays every ~33 years); then
both days are listed under the same code, so that its greeting is found by the code.

Personal occasions (``birthday``, ``anniversary``) are computed per customer by
:func:`personal_occasions`.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from lunar_python import Lunar, LunarMonth, Solar

from care.birthdays import Birthday, BirthdayError
from care.models import BirthdayCalendar, Customer

# Years we compute occasions for; both calendars cover them.
MIN_YEAR = 1901
MAX_YEAR = 2099
DEFAULT_COUNTRIES: tuple[str, ...] = ("CN",)

# Days within this distance under the same code are one holiday (Spring Festival's
# three days, Labour Day's two), whatever days off were added around them.
_SAME_HOLIDAY = timedelta(days=7)


class OccasionKind(enum.StrEnum):
    PUBLIC = "public"
    LUNAR = "lunar"
    FIXED = "fixed"
    PERSONAL = "personal"


@dataclass(frozen=True)
class Occasion:
    """A day to greet customers on.

    Attributes:
        code: stable identifier, also the key of its greeting template (``mid_autumn``).
        on: the (solar) date.
        kind: an :class:`OccasionKind` value: public, lunar, fixed or personal.
        names: the occasion's name by locale, ``{"zh_CN": "中秋节", "en": "Mid-Autumn
            Festival"}``; always both.
    """

    code: str
    on: date
    kind: str
    names: dict[str, str]

    def name(self, locale: str) -> str:
        """The name in ``locale``, or in Chinese for a locale we have no name in."""
        return self.names.get(locale) or self.names["zh_CN"]


# Our names for the occasions we know by code (public holidays of China, lunar
# festivals, fixed days, personal days): (zh_CN, en).
NAMES: dict[str, tuple[str, str]] = {
    "new_year": ("元旦", "New Year's Day"),
    "spring_festival": ("春节", "Spring Festival"),
    "qingming": ("清明节", "Qingming Festival"),
    "labour_day": ("劳动节", "Labour Day"),
    "dragon_boat": ("端午节", "Dragon Boat Festival"),
    "mid_autumn": ("中秋节", "Mid-Autumn Festival"),
    "national_day": ("国庆节", "National Day"),
    "new_year_eve": ("除夕", "Chinese New Year's Eve"),
    "lantern": ("元宵节", "Lantern Festival"),
    "qixi": ("七夕节", "Qixi Festival"),
    "double_ninth": ("重阳节", "Double Ninth Festival"),
    "laba": ("腊八节", "Laba Festival"),
    "little_new_year": ("小年", "Little New Year"),
    "valentines": ("情人节", "Valentine's Day"),
    "womens_day": ("妇女节", "International Women's Day"),
    "childrens_day": ("儿童节", "Children's Day"),
    "teachers_day": ("教师节", "Teachers' Day"),
    "christmas": ("圣诞节", "Christmas"),
    "birthday": ("生日", "Birthday"),
    "anniversary": ("相识周年", "Anniversary"),
}

# China's public holidays by their name in `holidays` (its source language is zh_CN).
CN_CODES: dict[str, str] = {
    "元旦": "new_year",
    "农历除夕": "new_year_eve",
    "春节": "spring_festival",
    "清明节": "qingming",
    "劳动节": "labour_day",
    "端午节": "dragon_boat",
    "中秋节": "mid_autumn",
    "国庆节": "national_day",
}

# Days a country added to one of its holidays, by name in `holidays`' source language:
# later days of that holiday, no occasion of their own (China lengthened the Spring
# Festival of 2020 by 31 January to 2 February, against the epidemic).
LENGTHENED: dict[str, frozenset[str]] = {"CN": frozenset({"春节延长假期"})}

# Festivals of the Chinese calendar: code → (lunar month, lunar day); day 0 is the
# month's last day. Qingming is a solar term, not a lunar date (see _lunar_festivals).
LUNAR_DAYS: dict[str, tuple[int, int]] = {
    "spring_festival": (1, 1),
    "lantern": (1, 15),
    "dragon_boat": (5, 5),
    "qixi": (7, 7),
    "mid_autumn": (8, 15),
    "double_ninth": (9, 9),
    "laba": (12, 8),
    "little_new_year": (12, 23),
    "new_year_eve": (12, 0),
}

FIXED_DAYS: dict[str, tuple[int, int]] = {
    "new_year": (1, 1),
    "valentines": (2, 14),
    "womens_day": (3, 8),
    "childrens_day": (6, 1),
    "teachers_day": (9, 10),
    "christmas": (12, 25),
}

# Another country's holiday that is one of ours: its English name (slugified) → our
# code; it counts only on our day's usual date (the US Labor Day in September is not
# labour_day).
SAME_AS: dict[str, str] = {
    "new_years_day": "new_year",
    "valentines_day": "valentines",
    "international_womens_day": "womens_day",
    "womens_day": "womens_day",
    "labor_day": "labour_day",
    "labour_day": "labour_day",
    "may_day": "labour_day",
    "international_workers_day": "labour_day",
    "childrens_day": "childrens_day",
    "international_childrens_day": "childrens_day",
    "teachers_day": "teachers_day",
    "christmas_day": "christmas",
    "christmas": "christmas",
}
_USUAL_DATE: dict[str, tuple[int, int]] = {**FIXED_DAYS, "labour_day": (5, 1)}

_KIND_ORDER = {kind: rank for rank, kind in enumerate(OccasionKind)}


def occasions_in_year(year: int, countries: Sequence[str] = DEFAULT_COUNTRIES) -> list[Occasion]:
    """Every occasion of a solar year except personal ones, sorted by date.

    Args:
        year: the solar year, ``MIN_YEAR`` to ``MAX_YEAR``.
        countries: ISO 3166 codes of the countries whose public holidays count, in
            order of precedence (the first to give a code keeps it).

    Raises:
        ValueError: for a year out of range or a country ``holidays`` does not know.
    """
    _check_year(year)
    found: list[Occasion] = []
    for country in dict.fromkeys(c.strip().upper() for c in countries):
        for holiday in _public_holidays(country, year):
            if not _listed(found, holiday.code, holiday.on):  # an earlier country gave it
                found.append(
                    Occasion(holiday.code, holiday.on, OccasionKind.PUBLIC, dict(holiday.names))
                )
    for code, on in _lunar_festivals(year):
        if not _listed(found, code, on):  # not a day off (that year, in those countries)
            found.append(Occasion(code, on, OccasionKind.LUNAR, _names(code)))
    for code, (month, day) in FIXED_DAYS.items():
        on = date(year, month, day)
        if not _listed(found, code, on):  # New Year's Day is a day off nearly everywhere
            found.append(Occasion(code, on, OccasionKind.FIXED, _names(code)))
    return sorted(found, key=lambda o: (o.on, _KIND_ORDER[OccasionKind(o.kind)], o.code))


def _listed(found: list[Occasion], code: str, on: date) -> bool:
    """Whether ``found`` has this occasion already (the same code within a few days)."""
    return any(o.code == code and abs(o.on - on) <= _SAME_HOLIDAY for o in found)


def occasion(code: str, year: int, countries: Sequence[str] = DEFAULT_COUNTRIES) -> Occasion | None:
    """The (first) occasion with this code in a year, or None if the year has none.

    Raises:
        ValueError: as :func:`occasions_in_year`.
    """
    return next((o for o in occasions_in_year(year, countries) if o.code == code), None)


def personal_occasions(
    customer: Customer, year: int, timezone: str = "Asia/Shanghai"
) -> list[Occasion]:
    """A customer's birthdays and anniversary in a solar year, sorted by date.

    The birthday follows ``care.birthdays.Birthday.solar_dates_in``: a lunar one is
    greeted once in every lunar year, so a solar year has it once, twice (both are
    listed) or not at all; a lunar one in a leap month falls in the ordinary month in
    years without the leap month; day 30 of a short month on day 29; 29 February on
    28 February in common years; none on or before the day of birth.

    The anniversary is the date on which the customer's record was created, in their
    time zone (``Customer.timezone``, else ``timezone``, the configured one); from one
    year after that date on, never in the year the customer came. A customer who came
    on 29 February celebrates on 28 February in common years.

    A forgotten (erased) customer has no occasions.

    Args:
        customer: the customer; only its columns are read.
        year: the solar year.
        timezone: the configured time zone (``CAREBOT_TIMEZONE``).
    """
    found = birthdays_in(customer, year)
    anniversary = anniversary_in(customer, year, timezone)
    if anniversary is not None:
        found.append(anniversary)
    return sorted(found, key=lambda o: (o.on, o.code))


def birthdays_in(customer: Customer, year: int) -> list[Occasion]:
    """The customer's birthday greetings in a solar year (none, one, or two for a lunar
    birthday): the birthday part of :func:`personal_occasions`."""
    if customer.erased_at is not None:
        return []
    return [
        Occasion("birthday", on, OccasionKind.PERSONAL, _names("birthday"))
        for on in _birthdays(customer, year)
    ]


def anniversary_in(customer: Customer, year: int, timezone: str) -> Occasion | None:
    """The customer's anniversary in a solar year, if any: the anniversary part of
    :func:`personal_occasions`."""
    if customer.erased_at is not None:
        return None
    came = customer.created_at.astimezone(_zone(customer.timezone, timezone)).date()
    if year <= came.year:
        return None
    years = year - came.year
    names = {"zh_CN": f"相识{years}周年", "en": f"{_ordinal(years)} anniversary"}
    return Occasion("anniversary", _same_day_in(came, year), OccasionKind.PERSONAL, names)


# --- public holidays --------------------------------------------------------------------


@dataclass(frozen=True)
class _Holiday:
    code: str
    on: date
    names: tuple[tuple[str, str], ...]  # (locale, name) pairs


def _public_holidays(country: str, year: int) -> tuple[_Holiday, ...]:
    try:
        return _public_holidays_cached(country, year)
    except NotImplementedError:  # holidays: "Country XX not available"
        raise ValueError(f"no public holidays are known for the country {country!r}") from None


@lru_cache(maxsize=128)
def _public_holidays_cached(country: str, year: int) -> tuple[_Holiday, ...]:
    """A country's public holidays in a year: first days only, no days off in lieu."""
    # In the source language, named explicitly: otherwise `holidays` picks a language
    # from the process's LANG. Its names are the keys of its translations.
    source_language = holidays.country_holidays(country).default_language
    days = holidays.country_holidays(country, years=year, language=source_language, observed=False)
    in_english = _translator(country, "en_US")
    in_chinese = _translator(country, "zh_CN")
    not_a_holiday = [_pattern(days.tr, getattr(days, label, None)) for label in _DAYS_OFF]
    estimated = _pattern(days.tr, getattr(days, "estimated_label", None))
    lengthened = LENGTHENED.get(country, frozenset())
    holidays_found: list[_Holiday] = []
    last_seen: dict[str, date] = {}
    for on in sorted(days):
        for name in days.get_list(on):
            if any(p is not None and p.fullmatch(name) for p in not_a_holiday):
                continue
            if name in lengthened:
                continue
            if estimated is not None and (match := estimated.fullmatch(name)):
                name = match.group(1)
            english = in_english(name) if in_english is not None else name
            code = _holiday_code(country, name, english, on)
            previous = last_seen.get(code)
            last_seen[code] = on
            if previous is not None and on - previous <= _SAME_HOLIDAY:
                continue  # a later day of the same holiday
            if code in NAMES:
                names = _names(code)
            else:
                chinese = in_chinese(name) if in_chinese is not None else english
                names = {"zh_CN": chinese, "en": english}
            holidays_found.append(_Holiday(code, on, tuple(names.items())))
    return tuple(holidays_found)


# Labels of days that are no holidays of their own: days off in lieu, swapped days.
_DAYS_OFF = ("observed_label", "observed_estimated_label", "substituted_label")


def _pattern(translate: Callable[[str], str], label: str | None) -> re.Pattern[str] | None:
    """A label such as ``"%s (observed)"`` as a regular expression that finds its ``%s``."""
    if not label:
        return None
    head, _, tail = translate(label).partition("%s")
    return re.compile(re.escape(head) + "(.+)" + re.escape(tail), re.DOTALL)


@cache
def _translator(country: str, language: str) -> Callable[[str], str] | None:
    """Translates a country's holiday names from its source language (None: `holidays`
    has no translation into ``language``)."""
    if language not in holidays.country_holidays(country).supported_languages:
        return None
    translate: Callable[[str], str] = holidays.country_holidays(country, language=language).tr
    return translate


def _holiday_code(country: str, name: str, english: str, on: date) -> str:
    if country == "CN" and name in CN_CODES:
        return CN_CODES[name]
    slug = _slug(english)
    ours = SAME_AS.get(slug)
    if ours is not None and _USUAL_DATE.get(ours) == (on.month, on.day):
        return ours
    return f"{country.lower()}_{slug or on.strftime('holiday_%m%d')}"


def _slug(text: str) -> str:
    """``"New Year's Day"`` → ``"new_years_day"``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"['’]", "", ascii_text.lower())
    return re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")


# --- lunar festivals --------------------------------------------------------------------


@lru_cache(maxsize=128)
def _lunar_festivals(year: int) -> tuple[tuple[str, date], ...]:
    """Every festival of the Chinese calendar that falls in the solar year ``year``.

    A lunar year starts in January or February, so a festival of the 12th month usually
    falls in the next solar year: we look at the lunar years ``year - 1`` and ``year``.
    Cached: lunar-python computes a lunar year afresh each time (some ms).
    """
    found = []
    for code, (month, day) in LUNAR_DAYS.items():
        for lunar_year in (year - 1, year):
            last = day or LunarMonth.fromYm(lunar_year, month).getDayCount()
            on = _solar(Lunar.fromYmd(lunar_year, month, last).getSolar())
            if on.year == year:
                found.append((code, on))
    # The solar term 清明 of lunar year `year` is always in April of solar `year`.
    found.append(("qingming", _solar(Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"])))
    return tuple(found)


def _solar(solar: Solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


# --- personal occasions -----------------------------------------------------------------


def _birthdays(customer: Customer, year: int) -> tuple[date, ...]:
    if customer.birthday_month is None or customer.birthday_day is None:
        return ()
    calendar = BirthdayCalendar(customer.birthday_calendar or BirthdayCalendar.SOLAR.value)
    birthday = Birthday(
        calendar,
        customer.birthday_month,
        customer.birthday_day,
        customer.birthday_year,
        bool(customer.birthday_leap_month),
    )
    try:
        return birthday.solar_dates_in(year)
    except BirthdayError:  # a stored lunar date no calendar has; nothing to greet
        return ()


def _same_day_in(day: date, year: int) -> date:
    """The same month and day in another year; 29 February is 28 February in common years."""
    try:
        return day.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _ordinal(number: int) -> str:
    if number % 100 in (11, 12, 13):
        return f"{number}th"
    return f"{number}{({1: 'st', 2: 'nd', 3: 'rd'}).get(number % 10, 'th')}"


def _zone(preferred: str | None, fallback: str) -> ZoneInfo:
    for name in (preferred, fallback):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    raise ValueError(f"{fallback!r} is not an IANA time zone")


def _names(code: str) -> dict[str, str]:
    chinese, english = NAMES[code]
    return {"zh_CN": chinese, "en": english}


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"occasions are known for the years {MIN_YEAR} to {MAX_YEAR}, not {year}")
