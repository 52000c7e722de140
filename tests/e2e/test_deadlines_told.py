"""One deadline, told the same everywhere, in the customer's own time zone.

A customer in London (``Customer.timezone`` Europe/London, the company in Asia/Shanghai)
has a complaint acknowledged, resolved, rated low and reopened. Every message that names a
deadline names the one ``care.complaints.promised_deadline`` gives, in London time and
saying so; /status afterwards names the same moment as the reopen notice.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care import complaints
from care.models import Customer
from handlers import complaint_words as words
from handlers.buttons import CardAction, Rating, ReopenRequest
from handlers.i18n import use_locale
from tests.conftest import CareTeam
from tests.e2e.conftest import PersonFactory
from tests.e2e.test_complaints import complaints_in_db
from tests.e2e.test_sla_and_survey import (
    customer_id_of,
    has_data,
    load,
    resolve,
    resolved_message,
    said,
)
from tests.helpers import Person, RunningBot, filed_complaint, text_of

LONDON = "Europe/London"


def london(moment: datetime | None) -> str:
    """A moment on a London clock."""
    assert moment is not None
    return moment.astimezone(ZoneInfo(LONDON)).strftime("%Y-%m-%d %H:%M")


async def test_a_london_customer_is_told_one_deadline_in_london_time(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, user = await filed_complaint(complaint_bot, client, language="en")
    emma = Person(client, user)
    customer_id = await customer_id_of(sessionmaker, emma.id)
    async with sessionmaker.begin() as session:
        (await session.get_one(Customer, customer_id)).timezone = LONDON
    number = (await load(sessionmaker, complaint_id)).number
    assert number is not None

    # Resolved, rated 2, reopened by the customer.
    await resolve(complaint_bot, complaint_id, care_team.agent, "Replaced the seal")
    rating = await resolved_message(emma)
    _answer, offer = await emma.press_data(
        rating["message_id"],
        Rating(complaint_id, 2).pack(),
        lambda m: has_data(m, ReopenRequest.PREFIX),
    )
    assert offer is not None
    _answer, told = await emma.press_data(
        offer["message_id"], ReopenRequest(complaint_id).pack(), lambda m: number in text_of(m)
    )
    assert told is not None

    reopened = await load(sessionmaker, complaint_id)
    promised = complaints.promised_deadline(reopened)
    assert promised == reopened.acknowledge_due_at, "a reopened complaint awaits acknowledgement"
    with use_locale("en"):
        due = words.customer_time(promised, LONDON, "Asia/Shanghai")
    assert due.startswith(london(promised) + " (")
    assert "United Kingdom" in due and "GMT" in due
    assert text_of(told) == said(
        "en",
        "Your complaint {number} is open again. We are on it and will get back to you by {due}.",
        number=number,
        due=due,
    )

    # /status names the very same moment, the same way.
    status = await emma.say(f"/status {number}")
    found = re.search(r"We will get back to you by (.+)\.$", text_of(status), re.MULTILINE)
    assert found is not None, text_of(status)
    assert found.group(1) == due


async def test_acknowledgement_names_the_resolution_deadline_in_the_customers_zone(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, user = await filed_complaint(complaint_bot, client, language="en")
    emma = Person(client, user)
    customer_id = await customer_id_of(sessionmaker, emma.id)
    async with sessionmaker.begin() as session:
        (await session.get_one(Customer, customer_id)).timezone = LONDON
    ack = CardAction("ack", complaint_id).pack()
    card = await client.wait_for_bot_message(
        care_team.group_id, lambda m: has_data(m, ack), timeout=10
    )
    await client.press(care_team.group_id, care_team.agent["id"], card["message_id"], ack)
    told = await emma.wait_reply(0, lambda m: "We have received" in text_of(m))

    acknowledged = await load(sessionmaker, complaint_id)
    assert complaints.promised_deadline(acknowledged) == acknowledged.resolve_due_at
    assert london(acknowledged.resolve_due_at) + " (United Kingdom" in text_of(told)
    status = await emma.say(f"/status {acknowledged.number}")
    assert london(acknowledged.resolve_due_at) + " (United Kingdom" in text_of(status)


async def test_the_filing_confirmation_names_the_deadline_in_the_customers_zone(
    complaint_bot: RunningBot,
    person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    anna = await person("Anna", language_code="en")
    await anna.say("/complain")  # her first message: now she is a customer
    customer_id = await customer_id_of(sessionmaker, anna.id)
    async with sessionmaker.begin() as session:
        (await session.get_one(Customer, customer_id)).timezone = LONDON
    await anna.press("Delivery")
    await anna.say("The parcel arrived crushed.")
    await anna.press("Continue")
    await anna.say("A-1001")
    _, filed = await anna.press("Submit")
    assert filed is not None

    [complaint] = await complaints_in_db(sessionmaker)
    assert complaints.promised_deadline(complaint) == complaint.acknowledge_due_at
    with use_locale("en"):
        due = words.customer_time(complaint.acknowledge_due_at, LONDON, "Asia/Shanghai")
    assert f"We will get back to you by {due}." in text_of(filed)
    assert london(complaint.acknowledge_due_at) + " (United Kingdom" in due


def test_no_zone_is_named_when_the_customers_clock_is_the_companys() -> None:
    moment = datetime(2026, 12, 3, 6, 44, tzinfo=UTC)
    with use_locale("en"):
        assert words.customer_time(moment, None, "Asia/Shanghai") == "2026-12-03 14:44"
        assert words.customer_time(moment, "Asia/Hong_Kong", "Asia/Shanghai") == (
            "2026-12-03 14:44"
        )
        assert words.customer_time(moment, "Not/AZone", "Asia/Shanghai") == "2026-12-03 14:44"
        assert words.customer_time(moment, LONDON, "Asia/Shanghai") == (
            "2026-12-03 06:44 (United Kingdom Time, GMT+00:00)"
        )
    with use_locale("zh_CN"):
        assert "英国" in words.customer_time(moment, LONDON, "Asia/Shanghai")
