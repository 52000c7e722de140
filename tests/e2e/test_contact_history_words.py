"""/complaint shows staff what the customer pressed in words, not button data (issue 9,
item 18)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from handlers.i18n import gettext_in
from tests.conftest import CareTeam
from tests.e2e.conftest import PersonFactory
from tests.e2e.test_complaints import complaints_in_db
from tests.helpers import RunningBot, StaffMember

PRESSED = "pressed “{button}”"


def pressed(locale: str, button: str, **values: str) -> str:
    return gettext_in(locale, PRESSED).format(button=gettext_in(locale, button).format(**values))


async def test_contact_history_names_the_buttons_the_customer_pressed(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    person: PersonFactory,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    agent: StaffMember,
    supervisor: StaffMember,
) -> None:
    anna = await person("Anna", language_code="en")
    profile = await anna.say("/profile")
    await anna.press("Turn care messages on", message=profile)
    await anna.say("/complain")
    await anna.press("Billing")
    await anna.say("I was charged twice for one order.")
    await anna.press("Continue")
    await anna.press("No reference")
    await anna.press("Submit")
    [complaint] = await complaints_in_db(sessionmaker)

    # A supervisor in a private chat reads English; the staff group its default, Chinese.
    english = await supervisor.command_in_private(f"/complaint {complaint.number}")
    chinese = await agent.command(f"/complaint {complaint.number}")
    for locale, record in (("en", english), ("zh_CN", chinese)):
        for button, values in (
            ("care messages: yes", {}),
            ("complaint about: {category}", {"category": gettext_in(locale, "Billing")}),
            ("continue (no more attachments)", {}),
            ("no reference", {}),
            ("submit the complaint", {}),
        ):
            assert pressed(locale, button, **values) in record, (locale, button, record)
        for data in ("consent:yes", "cx:cat:billing", "cx:file:", "cx:"):
            assert data not in record, (locale, data, record)
    assert "“care messages: yes”" in english and "I was charged twice" in english
