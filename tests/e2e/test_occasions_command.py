"""``/occasions [year]`` end to end: staff see the year's occasions, others are refused.

The staff group speaks the default locale (zh_CN in tests), a private chat the staff
member's own. Expected words come from the catalogs (``gettext_in``), so these tests
keep passing once the strings are translated. The clock stands on 2026-09-24.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care import staff as staff_members
from care.clock import ManualClock
from care.occasions import occasions_in_year
from handlers.i18n import gettext_in
from tests.conftest import CareTeam
from tests.helpers import Customer, RunningBot, StaffMember


def line(locale: str, day: str, weekday: str, name: str, code: str, kind: str) -> str:
    """One occasion as the bot lists it, in ``locale``."""
    return gettext_in(locale, "{date} {weekday} · {name} · {code} · {kind}").format(
        date=day,
        weekday=gettext_in(locale, weekday),
        name=name,
        code=code,
        kind=gettext_in(locale, kind),
    )


def heading(locale: str, year: int) -> str:
    return gettext_in(locale, "Occasions in {year}:").format(year=year)


async def test_the_next_twelve_months_in_the_staff_group_in_the_default_locale(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    supervisor: StaffMember,
) -> None:
    # The supervisor's Telegram speaks English; the group hears Chinese all the same.
    answer = await supervisor.command("/occasions")
    lines = answer.splitlines()
    assert lines[0] == gettext_in("zh_CN", "Occasions from {start} to {end}:").format(
        start="2026-09-24", end="2027-09-23"
    )
    coming = [
        occasion
        for occasion in occasions_in_year(2026) + occasions_in_year(2027)
        if date(2026, 9, 24) <= occasion.on <= date(2027, 9, 23)
    ]
    assert len(lines) == 1 + len(coming)
    assert line("zh_CN", "2026-09-25", "Fri", "中秋节", "mid_autumn", "public holiday") in lines
    assert line("zh_CN", "2026-10-01", "Thu", "国庆节", "national_day", "public holiday") in lines
    assert line("zh_CN", "2026-12-25", "Fri", "圣诞节", "christmas", "fixed date") in lines
    assert line("zh_CN", "2027-02-06", "Sat", "春节", "spring_festival", "public holiday") in lines
    assert line("zh_CN", "2027-08-08", "Sun", "七夕节", "qixi", "lunar calendar") in lines
    # Qixi 2026 (19 August) has passed; Mid-Autumn 2027 (15 September) is within the year.
    assert not any(text.startswith("2026-08-19 ") for text in lines)
    assert lines[1].startswith("2026-09-25 ") and lines[-1].startswith("2027-09-15 ")


async def test_in_december_the_coming_year_not_the_passing_one(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    clock: ManualClock,
    supervisor: StaffMember,
) -> None:
    clock.set(datetime(2026, 12, 20, 2, 0, tzinfo=UTC))
    english = (await supervisor.command_in_private("/occasions")).splitlines()
    assert english[0] == gettext_in("en", "Occasions from {start} to {end}:").format(
        start="2026-12-20", end="2027-12-19"
    )
    assert english[1] == line("en", "2026-12-25", "Fri", "Christmas", "christmas", "fixed date")
    assert (
        line("en", "2027-01-01", "Fri", "New Year's Day", "new_year", "public holiday") in english
    )
    assert line("en", "2027-02-06", "Sat", "Spring Festival", "spring_festival",
                "public holiday") in english  # fmt: skip
    assert not any(text.startswith("2026-01-") for text in english)
    # A year asked for is that whole year.
    passing = (await supervisor.command_in_private("/occasions 2026")).splitlines()
    assert passing[0] == heading("en", 2026) and len(passing) == 1 + len(occasions_in_year(2026))


async def test_a_year_in_a_private_chat_in_the_staff_members_language(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    agent: StaffMember,
    supervisor: StaffMember,
) -> None:
    english = (await supervisor.command_in_private("/occasions 2027")).splitlines()
    assert english[0] == heading("en", 2027)
    expected = [
        ("2027-02-05", "Fri", "Chinese New Year's Eve", "new_year_eve", "public holiday"),
        ("2027-02-06", "Sat", "Spring Festival", "spring_festival", "public holiday"),
        ("2027-02-20", "Sat", "Lantern Festival", "lantern", "lunar calendar"),
    ]
    for day, weekday, name, code, kind in expected:
        assert line("en", day, weekday, name, code, kind) in english
    chinese = (await agent.command_in_private("/occasions 2027")).splitlines()
    assert chinese[0] == heading("zh_CN", 2027)
    assert (
        line("zh_CN", "2027-02-06", "Sat", "春节", "spring_festival", "public holiday") in chinese
    )


async def test_a_year_that_is_not_one_gets_the_usage(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    agent: StaffMember,
) -> None:
    usage = gettext_in("zh_CN", "Usage: /occasions [year], for example /occasions {year}")
    for wrong in ("/occasions next", "/occasions 1800", "/occasions 2026 2027"):
        answer = await agent.command(wrong)
        assert answer == usage.format(year=2027), wrong


async def test_only_care_staff_and_only_in_their_places(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    supervisor: StaffMember,
    admin: StaffMember,
) -> None:
    outsider = await client.create_user("Mallory", language_code="en")
    refusal = gettext_in("en", "Only care staff can do this.")
    assert await Customer(client, outsider).command("/occasions") == refusal
    assert await Customer(client, outsider).command("/occasions 2027") == refusal
    # A former staff member still in the staff group is refused in the group's language.
    async with sessionmaker.begin() as session:
        assert await staff_members.remove_staff(session, care_team.supervisor["id"])
    answer = await supervisor.command("/occasions")
    assert answer == gettext_in("zh_CN", "Only care staff can do this.")
    # Another group, even with staff in it, is no place for staff work: no answer.
    other = await client.create_group("Friends", [care_team.admin["id"], outsider["id"]])
    await client.send_text(other["id"], care_team.admin["id"], "/occasions")
    await admin.command("/occasions")
    await asyncio.sleep(0.3)
    assert await client.bot_messages(other["id"]) == []
