"""``/occasions [year]``: the occasions for greetings, for care staff: the next twelve
months (in December, the coming year's first, not the passing year's), or a year's.
And ``/birthday <birthday> [years]``: the days a birthday is greeted on (for a
customer who asks "when will my lunar birthday greeting come?"), as the planner computes
them.

Answered in the staff group, in the default locale, and in a staff member's private
chat, in their own (set for the update by ``handlers.common.identify_customer``).
Anyone who is not care staff is refused; other groups get no answer.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from telegram.ext import BaseHandler

from care.birthdays import (
    Birthday,
    BirthdayError,
    GreetingDay,
    greeting_days,
    parse_birthday,
    parse_years,
)
from care.models import BirthdayCalendar
from care.occasions import MAX_YEAR, MIN_YEAR, Occasion, OccasionKind, occasions_in_year
from handlers import texts
from handlers.i18n import N_
from handlers.i18n import gettext as _
from handlers.staff_access import Reply, StaffRequest, staff_command, staff_places

KIND_LABELS = {
    OccasionKind.PUBLIC: N_("public holiday"),
    OccasionKind.LUNAR: N_("lunar calendar"),
    OccasionKind.FIXED: N_("fixed date"),
}  # personal occasions (birthdays) are not listed here
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def occasions_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """/occasions and /birthday, in the staff group and staff members' private chats.

    Registered before the customer's handlers, like ``handlers.staff``: a customer who
    types /occasions is refused here rather than told the command is unknown.
    """
    where = staff_places(staff_chat_id)
    return [
        staff_command("occasions", show_occasions, where=where),
        staff_command("birthday", show_birthday, where=where),
    ]


async def show_occasions(request: StaffRequest) -> Reply:
    """List the occasions of the next twelve months, or of a year, to a staff member."""
    services, locale = request.services, request.locale
    today = services.clock.now().astimezone(ZoneInfo(services.timezone)).date()
    arguments = request.arguments
    year = requested_year(arguments, today.year)
    countries = services.care.holiday_countries
    if not arguments:
        end = a_year_after(today)
        found = occasions_from(today, end, countries)
        return Reply(upcoming_text(today, end - timedelta(days=1), found, locale))
    if year is None:
        return Reply(
            _("Usage: /occasions [year], for example /occasions {year}").format(year=today.year + 1)
        )
    return Reply(occasions_text(year, occasions_in_year(year, countries), locale))


def requested_year(arguments: str, this_year: int) -> int | None:
    """The year asked for: none given is this year; None if it is not a year we know."""
    if not arguments:
        return this_year
    if not arguments.isdecimal() or not MIN_YEAR <= int(arguments) <= MAX_YEAR:
        return None
    return int(arguments)


def a_year_after(day: date) -> date:
    """The same day a year later (29 February: 1 March)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return date(day.year + 1, 3, 1)


def occasions_from(start: date, end: date, countries: tuple[str, ...]) -> list[Occasion]:
    """The occasions on ``start`` and after it, before ``end`` (in at most two years)."""
    years = range(start.year, min(end.year, MAX_YEAR) + 1)
    return [
        occasion
        for year in years
        for occasion in occasions_in_year(year, countries)
        if start <= occasion.on < end
    ]


def upcoming_text(start: date, last: date, found: list[Occasion], locale: str) -> str:
    """The next twelve months' occasions, under a heading that says which days."""
    lines = [
        _("Occasions from {start} to {end}:").format(start=start.isoformat(), end=last.isoformat())
    ]
    lines += [occasion_line(occasion, locale) for occasion in found]
    return "\n".join(lines)


def occasions_text(year: int, found: list[Occasion], locale: str) -> str:
    """The list as staff read it: a heading, then one occasion a line."""
    lines = [_("Occasions in {year}:").format(year=year)]
    lines += [occasion_line(occasion, locale) for occasion in found]
    return "\n".join(lines)


def occasion_line(occasion: Occasion, locale: str) -> str:
    """``2026-09-25 Fri · Mid-Autumn Festival · mid_autumn · public holiday``."""
    kind = KIND_LABELS.get(OccasionKind(occasion.kind))
    return _("{date} {weekday} · {name} · {code} · {kind}").format(
        date=occasion.on.isoformat(),
        weekday=_(WEEKDAYS[occasion.on.weekday()]),
        name=occasion.name(locale),
        code=occasion.code,
        kind=_(kind) if kind else occasion.kind,
    )


# Years /birthday lists when none are given: this one and the next four.
BIRTHDAY_YEARS = 5


async def show_birthday(request: StaffRequest) -> Reply:
    """Tell a staff member the days a birthday is greeted on, year by year."""
    services = request.services
    today = services.clock.now().astimezone(ZoneInfo(services.timezone)).date()
    return Reply(birthday_text(request.arguments, today))


def birthday_text(arguments: str, today: date) -> str:
    """The answer to ``/birthday <birthday> [years]``, or how to ask."""
    birthday_part, _space, last_word = arguments.rpartition(" ")
    years = parse_years(last_word) if birthday_part.strip() else None
    if years is None:
        birthday_part = arguments
        years = range(today.year, today.year + BIRTHDAY_YEARS)
    try:
        birthday = parse_birthday(birthday_part, today)
        found = greeting_days(birthday, years)
    except BirthdayError:
        return _(
            "Usage: /birthday <birthday> [years], for example /birthday 农历闰四月三十 "
            "{first}-{last} or /birthday 1990-05-20. It answers on which days the birthday "
            "greeting comes, as the planner sends it."
        ).format(first=today.year, last=today.year + 10)
    lines = [
        _("🎂 Birthday {birthday}: greeted on").format(birthday=texts.format_birthday(birthday))
    ]
    lines += [birthday_year_line(birthday, year, days) for year, days in found.items()]
    if birthday.calendar is BirthdayCalendar.LUNAR:
        lines.append(
            _(
                "A lunar birthday is greeted once in every lunar year, which is shorter than "
                "a solar one: some years have it twice, some not at all. Born in a leap "
                "month: in the ordinary month in years without it. Day 30 of a month that "
                "has 29 days: on day 29."
            )
        )
    return "\n".join(lines)


def birthday_year_line(birthday: Birthday, year: int, days: list[GreetingDay]) -> str:
    """``2020: 2020-06-20 Sat (闰四月廿九)``; a year without the birthday says so."""
    if not days:
        return _("{year}: none this year").format(year=year)
    shown = []
    for day in days:
        when = f"{day.on.isoformat()} {_(WEEKDAYS[day.on.weekday()])}"
        if birthday.calendar is BirthdayCalendar.LUNAR:
            lunar = texts.lunar_date_name(day.lunar_month, day.lunar_day, day.lunar_leap)
            when = _("{day} (lunar {date})").format(day=when, date=lunar)
        shown.append(when)
    return _("{year}: {days}").format(year=year, days=_(" and ").join(shown))
