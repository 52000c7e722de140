"""Occasions: the official dates of festivals, codes, names, personal days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from lunar_python import Lunar, LunarMonth
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import BirthdayCalendar, Customer
from care.occasions import (
    NAMES,
    Occasion,
    OccasionKind,
    occasion,
    occasions_in_year,
    personal_occasions,
)


def lunar_to_solar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def on(code: str, year: int, countries: tuple[str, ...] = ("CN",)) -> date:
    found = occasion(code, year, countries)
    assert found is not None, f"{code} in {year}"
    return found.on


# --- the official calendar ------------------------------------------------------------

# (code, year, the date in China's official calendar, the lunar date or None)
OFFICIAL = [
    ("mid_autumn", 2026, date(2026, 9, 25), (2026, 8, 15)),
    ("spring_festival", 2027, date(2027, 2, 6), (2027, 1, 1)),
    ("dragon_boat", 2026, date(2026, 6, 19), (2026, 5, 5)),
    ("qixi", 2026, date(2026, 8, 19), (2026, 7, 7)),
    ("double_ninth", 2026, date(2026, 10, 18), (2026, 9, 9)),
    ("lantern", 2027, date(2027, 2, 20), (2027, 1, 15)),
    ("national_day", 2026, date(2026, 10, 1), None),
]


@pytest.mark.parametrize(("code", "year", "official", "lunar"), OFFICIAL)
def test_festivals_fall_on_their_official_dates(
    code: str, year: int, official: date, lunar: tuple[int, int, int] | None
) -> None:
    assert on(code, year) == official
    if lunar is not None:  # and lunar-python, asked directly, agrees
        assert lunar_to_solar(*lunar) == official


def test_new_years_eve_is_the_last_day_of_the_twelfth_month() -> None:
    assert on("new_year_eve", 2027) == date(2027, 2, 5)
    # Lunar 2026's 12th month has 29 days: 除夕 is 腊月廿九, the day before Spring Festival.
    assert LunarMonth.fromYm(2026, 12).getDayCount() == 29
    assert lunar_to_solar(2026, 12, 29) == date(2027, 2, 5)
    assert lunar_to_solar(2027, 1, 1) - timedelta(days=1) == date(2027, 2, 5)
    # A year whose 12th month has 30 days (lunar 2023): 除夕 on 腊月三十.
    assert LunarMonth.fromYm(2023, 12).getDayCount() == 30
    assert on("new_year_eve", 2024) == lunar_to_solar(2023, 12, 30) == date(2024, 2, 9)


@pytest.mark.parametrize("year", range(2000, 2041))
def test_chinese_festivals_agree_with_lunar_python_every_year(year: int) -> None:
    listed = {(o.code, o.on) for o in occasions_in_year(year)}
    festivals = [
        ("spring_festival", 1, 1),
        ("lantern", 1, 15),
        ("dragon_boat", 5, 5),
        ("qixi", 7, 7),
        ("mid_autumn", 8, 15),
        ("double_ninth", 9, 9),
        ("laba", 12, 8),
        ("little_new_year", 12, 23),
    ]
    for code, month, day in festivals:
        for lunar_year in (year - 1, year):
            solar = lunar_to_solar(lunar_year, month, day)
            if solar.year == year:
                assert (code, solar) in listed, (code, year)
    eve = lunar_to_solar(year, 1, 1) - timedelta(days=1)
    assert ("new_year_eve", eve) in listed, year
    qingming = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    assert ("qingming", date(year, 4, qingming.getDay())) in listed, year
    codes = [o.code for o in occasions_in_year(year)]
    assert codes.count("spring_festival") == codes.count("mid_autumn") == 1


def test_a_year_lists_every_occasion_once_sorted_by_date() -> None:
    found = occasions_in_year(2026)
    assert [o.on for o in found] == sorted(o.on for o in found)
    assert [o.code for o in found] == [
        "new_year",
        "laba",
        "little_new_year",
        "valentines",
        "new_year_eve",
        "spring_festival",
        "lantern",
        "womens_day",
        "qingming",
        "labour_day",
        "childrens_day",
        "dragon_boat",
        "qixi",
        "teachers_day",
        "mid_autumn",
        "national_day",
        "double_ninth",
        "christmas",
    ]


def test_kinds_say_where_an_occasion_comes_from() -> None:
    kinds = {o.code: o.kind for o in occasions_in_year(2026)}
    for code in ("spring_festival", "qingming", "labour_day", "dragon_boat", "mid_autumn"):
        assert kinds[code] == OccasionKind.PUBLIC
    assert kinds["national_day"] == kinds["new_year"] == "public"
    for code in ("lantern", "qixi", "double_ninth", "laba", "little_new_year"):
        assert kinds[code] == "lunar"
    for code in ("valentines", "womens_day", "childrens_day", "teachers_day", "christmas"):
        assert kinds[code] == "fixed"
    # 除夕 is a day off since 2025; before, it was a lunar festival only.
    assert kinds["new_year_eve"] == "public"
    # And before 2008, Dragon Boat and Mid-Autumn were no days off.
    assert (occasion("mid_autumn", 2007) or occasion("new_year", 1)) == Occasion(
        "mid_autumn", date(2007, 9, 25), "lunar", {"zh_CN": "中秋节", "en": "Mid-Autumn Festival"}
    )
    assert occasion("new_year_eve", 2024) == Occasion(
        "new_year_eve", date(2024, 2, 9), "lunar", {"zh_CN": "除夕", "en": "Chinese New Year's Eve"}
    )


def test_only_the_first_day_of_a_holiday_and_no_days_off_in_lieu() -> None:
    found = occasions_in_year(2027)
    days = {o.on for o in found}
    # Spring Festival 2027: 6–8 February, days off in lieu on the 9th and 10th.
    assert on("spring_festival", 2027) == date(2027, 2, 6)
    assert not days & {date(2027, 2, 7), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10)}
    # National Day: 1–3 October and days off until the 5th; Labour Day 1–4 May.
    assert not days & {date(2027, 10, d) for d in range(2, 8)}
    assert not days & {date(2027, 5, d) for d in range(2, 6)}
    assert all(o.kind != "public" or not o.code.startswith("cn_") for o in found)
    # 2026: swapped days off (调休) such as 2 January are no occasions either.
    assert date(2026, 1, 2) not in {o.on for o in occasions_in_year(2026)}


def test_days_added_to_a_holiday_are_no_occasions() -> None:
    # Issue 9, item 5: China added 31 January to 2 February 2020 to the Spring Festival
    # (春节延长假期); only the holiday's first day, 25 January, is an occasion.
    found = occasions_in_year(2020)
    assert [o.on for o in found if o.code == "spring_festival"] == [date(2020, 1, 25)]
    assert not {o.on for o in found} & {date(2020, 1, 31), date(2020, 2, 1), date(2020, 2, 2)}
    # Over the years China's holidays are all ours, but for one that is a holiday of
    # its own: the 70th anniversary of the victory in 1945, 3 September 2015.
    others = {
        (o.code, o.on)
        for year in range(2000, 2036)
        for o in occasions_in_year(year)
        if o.kind == "public" and o.code not in NAMES
    }
    assert [(code[:20], on) for code, on in others] == [("cn_70th_anniversary_", date(2015, 9, 3))]


def test_mid_autumn_and_national_day_on_the_same_day() -> None:
    both = [o for o in occasions_in_year(2020) if o.on == date(2020, 10, 1)]
    assert [o.code for o in both] == ["mid_autumn", "national_day"]


def test_laba_can_fall_twice_in_one_solar_year() -> None:
    labas = [o.on for o in occasions_in_year(2022) if o.code == "laba"]
    assert labas == [date(2022, 1, 10), date(2022, 12, 30)]
    assert occasion("laba", 2022) == occasions_in_year(2022)[1]


def test_names_in_chinese_and_english() -> None:
    for found in occasions_in_year(2026):
        assert set(found.names) == {"zh_CN", "en"}
        assert all(found.names.values())
    mid_autumn = occasion("mid_autumn", 2026)
    assert mid_autumn is not None
    assert mid_autumn.names == {"zh_CN": "中秋节", "en": "Mid-Autumn Festival"}
    assert mid_autumn.name("en") == "Mid-Autumn Festival"
    assert mid_autumn.name("fr") == "中秋节"
    for code, (chinese, english) in NAMES.items():
        assert chinese and english, code


def test_other_countries_holidays_get_prefixed_codes_but_ours_stay_ours() -> None:
    found = occasions_in_year(2026, ("CN", "DE"))
    codes = [o.code for o in found]
    assert len(codes) == len(set(codes))
    german = {o.code: o for o in found if o.code.startswith("de_")}
    assert german["de_german_unity_day"].on == date(2026, 10, 3)
    assert german["de_german_unity_day"].names == {
        "zh_CN": "German Unity Day",  # holidays has no Chinese for Germany's holidays
        "en": "German Unity Day",
    }
    assert german["de_second_day_of_christmas"].on == date(2026, 12, 26)
    assert german["de_easter_monday"].on == date(2026, 4, 6)
    # Germany's New Year's Day, Labour Day and Christmas Day are ours.
    assert not {"de_new_years_day", "de_labor_day", "de_christmas_day"} & set(german)
    christmas = occasion("christmas", 2026, ("CN", "DE"))
    assert christmas is not None
    assert (christmas.on, christmas.kind) == (date(2026, 12, 25), "public")
    # The US Labor Day is in September: not our labour_day.
    assert on("us_labor_day", 2026, ("CN", "US")) == date(2026, 9, 7)
    assert on("labour_day", 2026, ("CN", "US")) == date(2026, 5, 1)


def test_without_china_its_festivals_come_from_the_lunar_calendar() -> None:
    codes = {o.code: o.kind for o in occasions_in_year(2026, ("DE",))}
    assert codes["spring_festival"] == codes["mid_autumn"] == codes["qingming"] == "lunar"
    assert "national_day" not in codes
    assert codes["new_year"] == codes["christmas"] == codes["labour_day"] == "public"
    assert codes["new_year_eve"] == codes["qixi"] == "lunar"
    assert codes["teachers_day"] == "fixed"
    assert [o.code for o in occasions_in_year(2026, ())].count("new_year") == 1


def test_country_codes_are_case_insensitive_and_unknown_ones_are_refused() -> None:
    assert occasions_in_year(2026, ["cn"]) == occasions_in_year(2026, ["CN"])
    with pytest.raises(ValueError, match="XX"):
        occasions_in_year(2026, ["XX"])
    with pytest.raises(ValueError, match="1901"):
        occasions_in_year(1800)


def test_an_unknown_code_has_no_occasion() -> None:
    assert occasion("halloween", 2026) is None


# --- personal occasions ---------------------------------------------------------------


def customer(
    created_at: datetime = datetime(2024, 3, 10, 12, 0, tzinfo=UTC), **fields: object
) -> Customer:
    return Customer(created_at=created_at, **fields)


def test_solar_birthday() -> None:
    record = customer(birthday_calendar="solar", birthday_month=5, birthday_day=20)
    found = personal_occasions(record, 2026)
    assert found[1] == Occasion(
        "birthday", date(2026, 5, 20), "personal", {"zh_CN": "生日", "en": "Birthday"}
    )


def birthday_in(year: int, **fields: object) -> date | None:
    found = [o.on for o in personal_occasions(customer(**fields), year) if o.code == "birthday"]
    return found[0] if found else None


def test_leap_day_birthday_is_on_the_28th_in_common_years() -> None:
    fields = {"birthday_calendar": "solar", "birthday_month": 2, "birthday_day": 29}
    assert birthday_in(2027, **fields) == date(2027, 2, 28)
    assert birthday_in(2028, **fields) == date(2028, 2, 29)


def test_lunar_birthday_follows_the_lunar_calendar() -> None:
    fields = {"birthday_calendar": BirthdayCalendar.LUNAR.value}
    assert birthday_in(2026, **fields, birthday_month=8, birthday_day=15) == date(2026, 9, 25)
    assert birthday_in(2027, **fields, birthday_month=8, birthday_day=15) == date(2027, 9, 15)


def test_lunar_birthday_in_a_leap_month_and_on_day_30() -> None:
    lunar = {"birthday_calendar": "lunar"}
    # Born in 闰六月 (2025 has one): in 2025 the leap month, in 2026 the ordinary 6th.
    leap = {**lunar, "birthday_month": 6, "birthday_day": 8, "birthday_leap_month": True}
    assert birthday_in(2025, **leap) == lunar_to_solar(2025, -6, 8)
    assert birthday_in(2026, **leap) == lunar_to_solar(2026, 6, 8)
    # Born on 腊月三十: lunar 2026's 12th month has 29 days, so 腊月廿九 (除夕 2027).
    eve = {**lunar, "birthday_month": 12, "birthday_day": 30}
    assert birthday_in(2027, **eve) == date(2027, 2, 5)


def test_no_birthday_when_unknown_or_not_yet_born() -> None:
    assert birthday_in(2026) is None
    born = {"birthday_calendar": "solar", "birthday_month": 5, "birthday_day": 20}
    assert birthday_in(2026, **born, birthday_year=2026) is None
    assert birthday_in(2027, **born, birthday_year=2026) == date(2027, 5, 20)
    # Born on lunar 1990-12-01, which is solar 1991-01-16: no greeting on that day.
    lunar = {"birthday_calendar": "lunar", "birthday_month": 12, "birthday_day": 1}
    assert lunar_to_solar(1990, 12, 1) == date(1991, 1, 16)
    assert birthday_in(1991, **lunar, birthday_year=1990) is None
    # One greeting for each lunar year: lunar 1991's 腊月初一 is 1992-01-05, lunar
    # 1992's 1992-12-24, so 1992 has two (issue 9: only the second was greeted).
    twice = personal_occasions(customer(**lunar, birthday_year=1990), 1992)
    assert [(o.code, o.on) for o in twice] == [
        ("birthday", lunar_to_solar(1991, 12, 1)),
        ("birthday", lunar_to_solar(1992, 12, 1)),
    ]


def anniversary(record: Customer, year: int, timezone: str = "Asia/Shanghai") -> Occasion | None:
    found = [o for o in personal_occasions(record, year, timezone) if o.code == "anniversary"]
    return found[0] if found else None


def test_anniversary_from_one_year_after_the_customer_came() -> None:
    record = customer(datetime(2024, 3, 10, 12, 0, tzinfo=UTC))
    assert anniversary(record, 2024) is None
    assert anniversary(record, 2023) is None
    first = anniversary(record, 2025)
    assert first is not None
    assert first.on == date(2025, 3, 10)
    assert first.names == {"zh_CN": "相识1周年", "en": "1st anniversary"}
    third = anniversary(record, 2027)
    assert third is not None and third.names["en"] == "3rd anniversary"


def test_anniversary_is_the_local_date_of_coming() -> None:
    # 20:00 UTC on 31 December is 1 January in Shanghai.
    record = customer(datetime(2024, 12, 31, 20, 0, tzinfo=UTC))
    found = anniversary(record, 2026)
    assert found is not None and found.on == date(2026, 1, 1)
    assert found.names["en"] == "1st anniversary"
    assert anniversary(record, 2025) is None  # the customer came on 2025-01-01
    in_london = anniversary(record, 2025, timezone="Europe/London")
    assert in_london is not None and in_london.on == date(2025, 12, 31)
    # The customer's own time zone comes first.
    record.timezone = "America/New_York"
    own = anniversary(record, 2025)
    assert own is not None and own.on == date(2025, 12, 31)


def test_a_customer_who_came_on_29_february() -> None:
    record = customer(datetime(2024, 2, 29, 3, 0, tzinfo=UTC))
    common = anniversary(record, 2025)
    leap = anniversary(record, 2028)
    assert common is not None and common.on == date(2025, 2, 28)
    assert leap is not None and leap.on == date(2028, 2, 29)


def test_a_forgotten_customer_has_no_occasions() -> None:
    record = customer(birthday_calendar="solar", birthday_month=5, birthday_day=20)
    record.erased_at = datetime(2025, 1, 1, tzinfo=UTC)
    assert personal_occasions(record, 2026) == []


async def test_personal_occasions_of_a_stored_customer(session: AsyncSession) -> None:
    stored = Customer(
        telegram_user_id=4242,
        chat_id=4242,
        first_name="王丽",
        birthday_calendar="lunar",
        birthday_month=8,
        birthday_day=15,
        created_at=datetime(2025, 9, 24, 17, 30, tzinfo=UTC),  # 01:30 on the 25th in Shanghai
    )
    session.add(stored)
    await session.flush()
    session.expunge(stored)
    reloaded = await session.get_one(Customer, stored.id)
    assert reloaded is not stored
    found = personal_occasions(reloaded, 2026)
    # Mid-Autumn 2026 is both her lunar birthday and the day she came, a year ago.
    assert [(o.code, o.on) for o in found] == [
        ("anniversary", date(2026, 9, 25)),
        ("birthday", date(2026, 9, 25)),
    ]
