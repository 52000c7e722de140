"""``/birthday <birthday> [years]`` end to end (issue 9, item 11): staff asked "when will
my lunar birthday greeting come?" get the days the planner greets it on; others are
refused.

The staff group speaks the default locale (zh_CN in tests), a private chat the staff
member's own. Expected words come from the catalogs. The clock stands on 2026-09-24.
"""

from __future__ import annotations

from bot.sandbox.client import SandboxClient
from handlers.i18n import gettext_in
from tests.conftest import CareTeam
from tests.helpers import Customer, RunningBot, StaffMember


def year_line(locale: str, year: int, *days: tuple[str, str, str]) -> str:
    """``2020: 2020-06-20 Sat (lunar 闰四月廿九)`` in ``locale``; no days: none that year."""
    if not days:
        return gettext_in(locale, "{year}: none this year").format(year=year)
    shown = [
        gettext_in(locale, "{day} (lunar {date})").format(
            day=f"{day} {gettext_in(locale, weekday)}", date=lunar
        )
        for day, weekday, lunar in days
    ]
    return gettext_in(locale, "{year}: {days}").format(
        year=year, days=gettext_in(locale, " and ").join(shown)
    )


async def test_a_leap_month_birthday_in_the_staff_group(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    agent: StaffMember,
) -> None:
    answer = await agent.command("/birthday 农历闰四月三十 2020-2035")
    lines = answer.splitlines()
    assert lines[0] == gettext_in("zh_CN", "🎂 Birthday {birthday}: greeted on").format(
        birthday=gettext_in("zh_CN", "lunar {date}").format(date="闰四月三十")
    )
    assert lines[1] == year_line("zh_CN", 2020, ("2020-06-20", "Sat", "闰四月廿九"))
    assert lines[2] == year_line("zh_CN", 2021, ("2021-06-09", "Wed", "四月廿九"))
    assert len(lines) == 1 + 16 + 1  # the heading, 2020-2035, the rule in a sentence


async def test_twice_and_never_in_a_private_chat_in_english(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    supervisor: StaffMember,
) -> None:
    answer = await supervisor.command_in_private("/birthday 农历腊月初八 2022-2023")
    lines = answer.splitlines()
    assert lines[1] == year_line(
        "en",
        2022,
        ("2022-01-10", "Mon", "month 12, day 8"),
        ("2022-12-30", "Fri", "month 12, day 8"),
    )
    assert lines[2] == year_line("en", 2023)


async def test_this_year_and_four_more_by_default_and_the_usage_when_unreadable(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    admin: StaffMember,
) -> None:
    answer = await admin.command("/birthday 05-20")
    assert [line[:4] for line in answer.splitlines()[1:]] == [
        "2026",
        "2027",
        "2028",
        "2029",
        "2030",
    ]
    usage = gettext_in(
        "zh_CN",
        "Usage: /birthday <birthday> [years], for example /birthday 农历闰四月三十 "
        "{first}-{last} or /birthday 1990-05-20. It answers on which days the birthday "
        "greeting comes, as the planner sends it.",
    ).format(first=2026, last=2036)
    for wrong in ("/birthday", "/birthday someday", "/birthday 农历十三月初一 2026"):
        assert await admin.command(wrong) == usage


async def test_only_care_staff(
    complaint_bot: RunningBot, client: SandboxClient, care_team: CareTeam
) -> None:
    outsider = await client.create_user("Mallory", language_code="en")
    assert await Customer(client, outsider).command("/birthday 农历八月十五") == gettext_in(
        "en", "Only care staff can do this."
    )
