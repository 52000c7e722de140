from datetime import date

import pytest

from care.birthdays import (
    Birthday,
    BirthdayError,
    BirthdayProblem,
    looks_like_a_date,
    parse_birthday,
)
from care.models import BirthdayCalendar

TODAY = date(2026, 11, 22)
SOLAR, LUNAR = BirthdayCalendar.SOLAR, BirthdayCalendar.LUNAR


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1990-05-20", Birthday(SOLAR, 5, 20, 1990)),
        ("1990/5/20", Birthday(SOLAR, 5, 20, 1990)),
        ("20.05.1990", Birthday(SOLAR, 5, 20, 1990)),
        ("05-20", Birthday(SOLAR, 5, 20)),
        ("02-29", Birthday(SOLAR, 2, 29)),
        ("1990年5月20日", Birthday(SOLAR, 5, 20, 1990)),
        ("5月20日", Birthday(SOLAR, 5, 20)),
        ("农历八月十五", Birthday(LUNAR, 8, 15)),
        ("农历 1990年八月十五", Birthday(LUNAR, 8, 15, 1990)),
        ("农历闰四月初八", Birthday(LUNAR, 4, 8, None, True)),
        ("阴历腊月廿三", Birthday(LUNAR, 12, 23)),
        ("农历正月初一", Birthday(LUNAR, 1, 1)),
        ("农历十一月三十", Birthday(LUNAR, 11, 30)),
        ("lunar 8-15", Birthday(LUNAR, 8, 15)),
        ("Lunar 1990-08-15", Birthday(LUNAR, 8, 15, 1990)),
        ("lunar leap 6-8", Birthday(LUNAR, 6, 8, None, True)),
    ],
)
def test_parses_what_customers_type(text: str, expected: Birthday) -> None:
    assert parse_birthday(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("tomorrow", BirthdayProblem.UNREADABLE),
        ("", BirthdayProblem.UNREADABLE),
        ("1990-02-30", BirthdayProblem.NO_SUCH_DATE),
        ("13-01", BirthdayProblem.NO_SUCH_DATE),
        ("1991-02-29", BirthdayProblem.NO_SUCH_DATE),
        ("农历十三月初一", BirthdayProblem.NO_SUCH_DATE),
        ("lunar 8-31", BirthdayProblem.NO_SUCH_DATE),
        ("农历2026年闰四月初八", BirthdayProblem.NO_SUCH_DATE),  # 2026 has no leap 4th month
        ("2030-01-01", BirthdayProblem.IN_FUTURE),
        ("1850-01-01", BirthdayProblem.TOO_OLD),
    ],
)
def test_refuses_with_a_reason(text: str, problem: BirthdayProblem) -> None:
    with pytest.raises(BirthdayError) as caught:
        parse_birthday(text, TODAY)
    assert caught.value.problem is problem


def test_mid_autumn_birthday_falls_on_the_festival() -> None:
    assert Birthday(LUNAR, 8, 15).solar_dates_in(2026) == (date(2026, 9, 25),)
    assert Birthday(LUNAR, 1, 1).solar_dates_in(2027) == (date(2027, 2, 6),)


def test_leap_month_birthday_uses_ordinary_month_in_other_years() -> None:
    # 2025 has a leap 6th month (闰六月): 闰六月初八 is 2025-08-01.
    born_in_leap = Birthday(LUNAR, 6, 8, None, True)
    assert born_in_leap.solar_dates_in(2025) == (date(2025, 8, 1),)
    # 2026 has no leap 6th month: the ordinary 6th month counts.
    assert born_in_leap.solar_dates_in(2026) == Birthday(LUNAR, 6, 8).solar_dates_in(2026)


def test_day_thirty_in_a_short_month_moves_to_day_29() -> None:
    # The 12th lunar month of lunar year 2026 has 29 days.
    assert Birthday(LUNAR, 12, 30).in_lunar_year(2026) == Birthday(LUNAR, 12, 29).in_lunar_year(
        2026
    )


def test_day_thirty_of_a_short_leap_month_stays_in_the_leap_month() -> None:
    # Issue 9, item 3: 2020's 闰四月 has 29 days; 四月 has 30. 闰四月三十 is greeted on
    # 闰四月廿九 (2020-06-20), not on 四月三十 (2020-05-22), a month early.
    born = parse_birthday("农历1944年闰四月三十", TODAY)
    assert born == Birthday(LUNAR, 4, 30, 1944, True)
    assert born.solar_dates_in(2020) == (date(2020, 6, 20),)
    # 2023's 闰二月 has 29 days: the same rule for another leap month.
    assert Birthday(LUNAR, 2, 30, None, True).solar_dates_in(2023) == (date(2023, 4, 19),)


def test_a_lunar_birthday_a_solar_year_does_not_have_is_no_error() -> None:
    # Issue 9, item 1: 腊月初八 falls in no day of 2023 (lunar 2022's is 2022-12-30, lunar
    # 2023's 2024-01-18); 冬月二十 in no day of 2020, 2023, 2025, 2028, 2031.
    assert Birthday(LUNAR, 12, 8).solar_dates_in(2023) == ()
    for year in (2020, 2023, 2025, 2028, 2031):
        assert Birthday(LUNAR, 11, 20).solar_dates_in(year) == ()
    assert Birthday(LUNAR, 12, 8).in_lunar_year(2022) == date(2022, 12, 30)
    assert Birthday(LUNAR, 12, 8).in_lunar_year(2023) == date(2024, 1, 18)


def test_a_lunar_birthday_twice_in_a_solar_year_is_greeted_twice() -> None:
    # Issue 9, item 2: 腊月初八 of lunar 2021 is 2022-01-10, of lunar 2022 2022-12-30.
    assert Birthday(LUNAR, 12, 8).solar_dates_in(2022) == (date(2022, 1, 10), date(2022, 12, 30))
    # Once per lunar year: over 2019-2036, one greeting for each lunar year 2019-2035 (and
    # lunar 2018's, on 2019-01-13), none skipped, none doubled.
    greeted = [
        on for year in range(2019, 2037) for on in Birthday(LUNAR, 12, 8).solar_dates_in(year)
    ]
    assert greeted == [Birthday(LUNAR, 12, 8).in_lunar_year(year) for year in range(2018, 2036)]


def test_no_greeting_on_or_before_the_day_of_birth() -> None:
    # Born 腊月初八 of lunar 2021, 2022-01-10: not greeted that day, greeted 2022-12-30.
    born = Birthday(LUNAR, 12, 8, 2021)
    assert born.born_on() == date(2022, 1, 10)
    assert born.solar_dates_in(2022) == (date(2022, 12, 30),)
    assert Birthday(SOLAR, 5, 20, 1990).solar_dates_in(1990) == ()
    assert Birthday(SOLAR, 5, 20, 1990).solar_dates_in(1991) == (date(1991, 5, 20),)


def test_a_stored_lunar_date_no_calendar_has_is_a_birthday_error() -> None:
    with pytest.raises(BirthdayError):
        Birthday(LUNAR, 13, 1).solar_dates_in(2026)


def test_solar_29_february_in_common_year() -> None:
    assert Birthday(SOLAR, 2, 29).solar_dates_in(2027) == (date(2027, 2, 28),)
    assert Birthday(SOLAR, 2, 29).solar_dates_in(2028) == (date(2028, 2, 29),)


@pytest.mark.parametrize(
    "text",
    ["1990-05-20", "05-20", "5月20日", "农历八月十五", "八月十五", "lunar 8-15", "next tuesday",
     "1990-02-30", "May 20", "阴历腊月二十三"],
)  # fmt: skip
def test_attempts_at_a_date_are_told_from_messages(text: str) -> None:
    assert looks_like_a_date(text)


@pytest.mark.parametrize(
    "text",
    ["门店店员态度恶劣，还骂人，太过分了！", "Where is my parcel?", "我的快递三天还没到，怎么回事",
     "The kettle I bought leaks from the bottom.", "你好", "hello?", ""],
)  # fmt: skip
def test_messages_are_no_attempt_at_a_date(text: str) -> None:
    assert not looks_like_a_date(text)
