"""Customers filing complaints, asking where they stand, and writing about them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.models import Complaint, ComplaintAttachment, ComplaintEvent
from tests.conftest import CareTeam
from tests.e2e.conftest import PersonFactory
from tests.helpers import Person, RunningBot, text_of, wait_until


async def complaints_in_db(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Complaint]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(Complaint).order_by(Complaint.id))).all())


async def group_messages(client: SandboxClient, care_team: CareTeam) -> list[dict]:
    return [m for m in await client.transcript(care_team.group_id) if m["from"]["is_bot"]]


async def file_in_english(person: Person, text: str, *, photo: bool = False) -> dict:
    """Go through /complain in English; returns the bot's final message."""
    await person.say("/complain")
    await person.press("Delivery")
    await person.say(text)
    if photo:
        await person.send_photo(caption="the box")
    await person.press("Continue")
    await person.say("A-1001")
    _, final = await person.press("Submit")
    assert final is not None
    return final


async def test_file_a_complaint_with_a_photo(
    complaint_bot: RunningBot, care_team: CareTeam, person: PersonFactory,
    client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    question = await anna.say("/complain")
    assert "What is the complaint about?" in text_of(question)
    labels = [b["text"] for row in question["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [
        "Product quality",
        "Delivery",
        "Service attitude",
        "Billing",
        "Other",
        "Cancel",
    ]
    _, describe = await anna.press("Delivery")
    assert describe is not None and "describe" in text_of(describe)
    more = await anna.say("The parcel arrived crushed and the vase inside is broken.")
    assert "Continue" in str(more["reply_markup"])
    got = await anna.send_photo(caption="the box")
    assert "1/10" in text_of(got)
    _, reference = await anna.press("Continue", message=got)
    assert reference is not None and "order number" in text_of(reference)
    summary = await anna.say("A-1001")
    assert "Reference: A-1001" in text_of(summary) and "Attachments: 1" in text_of(summary)
    _, filed = await anna.press("Submit")
    assert filed is not None

    [complaint] = await complaints_in_db(sessionmaker)
    assert complaint.number is not None and complaint.number in text_of(filed)
    assert "/status" in text_of(filed)
    assert (complaint.status, complaint.category, complaint.reference) == (
        "new",
        "delivery",
        "A-1001",
    )
    assert complaint.priority == "normal"

    async def card_and_photo() -> bool:
        messages = await group_messages(client, care_team)
        return any(complaint.number in text_of(m) for m in messages) and any(
            m.get("photo") for m in messages
        )

    await wait_until(card_and_photo, within=5)
    card = next(
        m for m in await group_messages(client, care_team) if complaint.number in text_of(m)
    )
    assert "vase inside is broken" in text_of(card) and "Anna" in text_of(card)
    buttons = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons[:2] == ["确认受理", "接手"] or buttons[:2] == ["Acknowledge", "Take"]
    async with sessionmaker() as session:
        attachments = (await session.scalars(select(ComplaintAttachment))).all()
    assert [a.kind for a in attachments] == ["photo"]


async def test_angry_customer_in_chinese_gets_priority_and_calm_words(
    complaint_bot: RunningBot, care_team: CareTeam, person: PersonFactory,
    client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    ming = await person("小明", language_code="zh-hans")
    question = await ming.say("/complain")
    assert "投诉" in text_of(question) or "问题" in text_of(question)
    await ming.press("配送")
    await ming.say("你们太差了！！！快递十天还没到，马上给我退款")
    await ming.press("继续")
    await ming.press("没有")
    _, filed = await ming.press("提交")
    assert filed is not None and "抱歉" in text_of(filed)
    [complaint] = await complaints_in_db(sessionmaker)
    assert (complaint.priority, complaint.agitated) == ("urgent", True)

    async def supervisor_told() -> bool:
        return any(
            complaint.number in text_of(m)
            for m in await client.transcript(care_team.supervisor["id"])
        )

    await wait_until(supervisor_told, within=5)


async def test_same_problem_is_added_to_the_open_complaint(
    complaint_bot: RunningBot, care_team: CareTeam, person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    await file_in_english(anna, "My parcel has not arrived after three days")
    await anna.say("/complain")
    await anna.press("Delivery")
    await anna.say("parcel still not arrived, three days already")
    await anna.press("Continue")
    await anna.press("No reference")
    _, question = await anna.press("Submit")
    assert question is not None and "same problem" in text_of(question)
    _, added = await anna.press("Yes, add to")
    assert added is not None and "Added to your complaint" in text_of(added)
    assert len(await complaints_in_db(sessionmaker)) == 1
    async with sessionmaker() as session:
        notes = (
            await session.scalars(
                select(ComplaintEvent.note).where(ComplaintEvent.type == "customer_message")
            )
        ).all()
    assert notes == ["parcel still not arrived, three days already"]

    # A different problem is filed on its own.
    final = await file_in_english(anna, "The invoice amount is wrong")
    assert "complaint number" in text_of(final)
    assert len(await complaints_in_db(sessionmaker)) == 2


async def test_status_tells_the_truth_and_leaks_nothing(
    complaint_bot: RunningBot, care_team: CareTeam, person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    assert "no complaints" in text_of(await anna.say("/status"))
    await file_in_english(anna, "My parcel has not arrived after three days")
    [complaint] = await complaints_in_db(sessionmaker)
    listing = await anna.say("/status")
    assert f"{complaint.number}: received" in text_of(listing)
    detail = await anna.say(f"/status {complaint.number.lower()}")
    assert "you filed the complaint" in text_of(detail)
    assert "We will get back to you by" in text_of(detail)

    bob = await person("Bob", language_code="en")
    someone_elses = await bob.say(f"/status {complaint.number}")
    nonexistent = await bob.say("/status C-2026-999999")
    assert text_of(someone_elses).replace(complaint.number, "X") == text_of(nonexistent).replace(
        "C-2026-999999", "X"
    )


async def test_a_message_about_an_open_complaint_reaches_staff(
    complaint_bot: RunningBot, care_team: CareTeam, person: PersonFactory,
    client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    # Without a complaint, her message opens a conversation; the bot now knows she has no
    # open complaint, and must learn of the one she files next.
    assert "we got your message" in text_of(await anna.say("Hello there"))
    await file_in_english(anna, "My parcel has not arrived after three days")
    [complaint] = await complaints_in_db(sessionmaker)
    answer = await anna.say("Any news? I need it before Friday.")
    assert f"Added to your complaint {complaint.number}" in text_of(answer)

    async def relayed() -> bool:
        return any("before Friday" in text_of(m) for m in await group_messages(client, care_team))

    await wait_until(relayed, within=5)
    relay = next(
        m for m in await group_messages(client, care_team) if "before Friday" in text_of(m)
    )
    assert relay.get("reply_to_message_id") is not None, "threaded under the card"


async def test_bad_input_while_filing_and_the_attachment_limit(
    complaint_bot: RunningBot, care_team: CareTeam, person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    await anna.say("/complain")
    assert "choose what the complaint is about" in text_of(await anna.send_sticker())
    assert "Finish this step" in text_of(await anna.say("/weather"))
    await anna.press("Delivery")
    await anna.say("Broken vase")
    for n in range(10):
        assert f"{n + 1}/10" in text_of(await anna.send_photo())
    assert "limit of 10" in text_of(await anna.send_photo())
    cancelled = await anna.say("/cancel")
    assert "not filed" in text_of(cancelled)
    assert await complaints_in_db(sessionmaker) == []


async def test_restart_in_the_middle_of_filing_loses_nothing(
    sandbox, database_url: str, clock, care_team: CareTeam, person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    first = RunningBot(sandbox, database_url, clock, staff_chat_id=care_team.group_id)
    await first.start()
    anna = await person("Anna", language_code="en")
    await anna.say("/complain")
    await anna.press("Delivery")
    await anna.say("Broken vase")
    await first.stop()
    second = RunningBot(sandbox, database_url, clock, staff_chat_id=care_team.group_id)
    await second.start()
    try:
        _, reference = await anna.press("Continue")
        assert reference is not None and "order number" in text_of(reference)
        await anna.press("No reference")
        _, filed = await anna.press("Submit")
        assert filed is not None and "complaint number" in text_of(filed)
    finally:
        await second.stop()
    [complaint] = await complaints_in_db(sessionmaker)
    assert (complaint.description, complaint.status) == ("Broken vase", "new")
