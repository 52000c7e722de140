"""Transport robustness: late button presses, bad rows, unreadable updates, forged data.

Each story is driven through the sandbox with its fault injection, as a customer or a
staff member would meet it.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.models import Complaint, ComplaintAttachment, Contact, Customer, StaffMember
from handlers.i18n import gettext_in
from tests.conftest import CareTeam
from tests.e2e.conftest import PersonFactory
from tests.e2e.test_onboarding import asks_consent
from tests.helpers import Person, RunningBot, text_of

TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


async def press_late(client: SandboxClient, person: Person, label: str) -> int:
    """Press ``label`` on the newest message that has it, while Telegram refuses answers
    to it as too old; returns the id of the newest bot message before the press."""
    before = max(m["message_id"] for m in await person.transcript())
    for message in reversed(await person.bot_messages()):
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if label in button["text"]:
                    await client.fault(
                        kind="error", method="answerCallbackQuery", status=400,
                        description=TOO_OLD, count=5,
                    )  # fmt: skip
                    await client.press(
                        person.id, person.id, message["message_id"], button["callback_data"]
                    )
                    return before
    raise AssertionError(f"no button {label!r}")


async def test_a_late_consent_press_still_asks_the_next_question(
    bot: RunningBot, person: PersonFactory, client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    await anna.say("/start")
    await anna.press("English", edited=asks_consent)
    before = await press_late(client, anna, "Yes, please")
    phone_question = await anna.wait_reply(before)
    assert "phone" in text_of(phone_question)
    await client.clear_faults()
    async with sessionmaker() as session:
        customer = await session.scalar(
            select(Customer).where(Customer.telegram_user_id == anna.id)
        )
        assert customer is not None and customer.consent_care is True
    assert not any("went wrong" in text_of(m) for m in await anna.bot_messages())


async def test_a_late_submit_files_the_complaint(
    bot: RunningBot, person: PersonFactory, client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    await anna.say("/start")
    await anna.press("English", edited=asks_consent)
    await anna.press("Yes, please")
    await anna.say("Skip")
    await anna.say("Skip")
    await anna.say("/complain")
    await anna.press("Delivery")
    await anna.say("The parcel arrived crushed.")
    await anna.press("Continue")
    await anna.say("A-1001")
    before = await press_late(client, anna, "Submit")
    filed = await anna.wait_reply(before)
    await client.clear_faults()
    async with sessionmaker() as session:
        [complaint] = (await session.scalars(select(Complaint))).all()
    assert complaint.number is not None and complaint.number in text_of(filed)


async def test_a_lone_surrogate_is_kept_as_a_replacement_and_fails_nobody(
    bot: RunningBot, person: PersonFactory, client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    people = [await person(f"客户 {n}") for n in range(10)]
    odd = await person("Odd", language_code="en")
    sent = await asyncio.gather(
        client.send_text(odd.id, odd.id, "half an emoji \ud83d and more"),
        *(client.send_text(p.id, p.id, "我的快递到哪了？") for p in people),
    )
    replies = await asyncio.gather(
        *(p.wait_reply(s["message_id"]) for p, s in zip([odd, *people], sent, strict=True))
    )
    assert not any("went wrong" in text_of(r) or "出了点问题" in text_of(r) for r in replies)
    # Each update's contacts are written with its done mark, just after its reply.
    assert bot.built is not None and await bot.built.inbox.drain(10)
    async with sessionmaker() as session:
        texts = (await session.scalars(select(Contact.text).where(Contact.direction == "in"))).all()
    assert "half an emoji \ufffd and more" in texts
    assert texts.count("我的快递到哪了？") == 10


async def test_an_unreadable_update_is_skipped_by_id_and_polling_goes_on(
    bot: RunningBot, person: PersonFactory, client: SandboxClient,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    # A message carrying a poll without fields python-telegram-bot requires.
    poll = {"id": "1", "question": "Anna's private words", "options": []}
    chat = {"id": anna.id, "type": "private", "first_name": "Anna"}
    sender = {"id": anna.id, "is_bot": False, "first_name": "Anna"}
    bad = await client.raw_update(
        "message",
        {"message_id": 999, "date": 1, "chat": chat, "from": sender, "poll": poll},
    )
    assert bad is not None
    sent = await client.send_text(anna.id, anna.id, "Where is my parcel?")
    reply = await anna.wait_reply(sent["message_id"])
    assert "Welcome" in text_of(reply)
    assert "/complain" in text_of(await anna.say("/help")), "polling goes on"
    assert f"update {bad} could not be read" in caplog.text
    assert "private words" not in caplog.text, "the update's content is never logged"
    assert not [r for r in caplog.records if r.levelname == "CRITICAL"]


@pytest.mark.parametrize(
    "data",
    ["cx:rate:99999999999999999999:1", "cx:reopen:99999999999999999999", "cx:rate:3000000000:5"],
)
async def test_forged_huge_ids_are_no_longer_valid_buttons(
    bot: RunningBot, person: PersonFactory, data: str
) -> None:
    anna = await person("Anna", language_code="en")
    await anna.say("/start")
    await anna.press("English", edited=asks_consent)
    await anna.press("Yes, please")
    await anna.say("Skip")
    menu = await anna.say("Skip")
    answer, _ = await anna.press_data(menu["message_id"], data, expect_message=False)
    assert "no longer valid" in answer
    assert not any("went wrong" in text_of(m) for m in await anna.bot_messages())


async def test_a_forged_duplicate_answer_with_a_huge_id_keeps_the_dialogue(
    bot: RunningBot, person: PersonFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person("Anna", language_code="en")
    await anna.say("/start")
    await anna.press("English", edited=asks_consent)
    await anna.press("Yes, please")
    await anna.say("Skip")
    await anna.say("Skip")
    for _attempt in range(2):  # the second filing of the same problem asks about a duplicate
        await anna.say("/complain")
        await anna.press("Delivery")
        await anna.say("The parcel arrived crushed and the vase inside is broken.")
        await anna.press("Continue")
        await anna.say("A-1001")
        _, after_submit = await anna.press("Submit")
    assert after_submit is not None and "cx:dup:add:" in str(after_submit.get("reply_markup"))
    answer, _ = await anna.press_data(
        after_submit["message_id"], "cx:dup:add:99999999999999999999", expect_message=False
    )
    assert "no longer valid" in answer
    _, filed = await anna.press("No, it is a new problem")
    assert filed is not None
    async with sessionmaker() as session:
        assert len((await session.scalars(select(Complaint))).all()) == 2
    assert not any("went wrong" in text_of(m) for m in await anna.bot_messages())


async def test_staff_add_with_a_300_character_name_fits_the_column(
    complaint_bot: RunningBot, care_team: CareTeam, client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    name = "Lin " + "N" * 296
    sent = await client.send_text(
        care_team.group_id, care_team.admin["id"], f"/staff add 424242 agent {name}"
    )
    answer = await client.wait_for_bot_message(
        care_team.group_id, after_message_id=sent["message_id"], timeout=10
    )
    # Named as staff see colleagues (the name as stored, cut to the column), not by id.
    assert "Lin NNN" in text_of(answer) and "出了点问题" not in text_of(answer)
    async with sessionmaker() as session:
        member = await session.scalar(
            select(StaffMember).where(StaffMember.telegram_user_id == 424242)
        )
    assert member is not None and member.name is not None
    assert len(member.name) == 128 and member.name.startswith("Lin NNN")


async def test_a_document_with_a_300_character_name_is_attached(
    bot: RunningBot, person: PersonFactory, client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    await anna.say("/start")
    await anna.press("English", edited=asks_consent)
    await anna.press("Yes, please")
    await anna.say("Skip")
    await anna.say("Skip")
    await anna.say("/complain")
    await anna.press("Delivery")
    await anna.say("The invoice is wrong, see the file.")
    sent = await client.send_document(anna.id, anna.id, b"invoice", file_name="i" * 296 + ".pdf")
    got = await anna.wait_reply(sent["message_id"])
    assert "1/10" in text_of(got)
    async with sessionmaker() as session:
        [attachment] = (await session.scalars(select(ComplaintAttachment))).all()
    assert attachment.file_name is not None and len(attachment.file_name) == 256


async def test_errors_in_the_staff_group_are_answered_there_in_the_members_language(
    complaint_bot: RunningBot, care_team: CareTeam, client: SandboxClient
) -> None:
    await client.fault(
        kind="error", method="sendMessage", status=400, chat_id=care_team.group_id, count=1
    )
    sent = await client.send_text(care_team.group_id, care_team.agent["id"], "/queue")
    apology = await client.wait_for_bot_message(
        care_team.group_id, after_message_id=sent["message_id"], timeout=10
    )
    assert text_of(apology) == gettext_in(
        "zh_CN", "Sorry, something went wrong on our side. Please try again in a moment."
    )


async def test_a_reply_that_timed_out_but_arrived_is_not_called_a_failure(
    bot: RunningBot, person: PersonFactory, client: SandboxClient
) -> None:
    anna = await person("Anna", language_code="en")
    # Sent at once, answered after the bot's read timeout (10 s): the bot gives up.
    await client.fault(kind="late_answer", method="sendMessage", seconds=10.5, chat_id=anna.id)
    sent = await client.send_text(anna.id, anna.id, "/help")
    await client.wait_for_bot_message(anna.id, after_message_id=sent["message_id"], timeout=20)
    # Updates of one chat are handled in order: once this is answered (after the first
    # gave up waiting, 10 s after it asked), the error handler of the first is done.
    anna.timeout = 25
    await anna.say("/help")
    assert not any("went wrong" in text_of(m) for m in await anna.bot_messages())


async def test_one_customers_flood_does_not_hold_up_another_customer(
    bot: RunningBot, person: PersonFactory, client: SandboxClient
) -> None:
    flooder, other = await person("Forwarder"), await person("Other")
    # Each reply into the flooding chat takes 50 ms: the flood's 100 updates take 5 s.
    await client.fault(
        kind="delay", method="sendMessage", seconds=0.05, chat_id=flooder.id, count=100
    )
    for n in range(100):
        await client.send_text(flooder.id, flooder.id, f"forwarded message {n}")
    asked = time.time()  # the sandbox's log uses this machine's clock too
    sent = await client.send_text(other.id, other.id, "我的快递到哪了？")
    await other.wait_reply(sent["message_id"])
    log = await client.requests()
    other_replied = next(
        r["time"] for r in log if r["chat_id"] == other.id and r["method"] == "sendMessage"
    )
    flood_replies_meanwhile = [
        r for r in log
        if r["chat_id"] == flooder.id and r["method"] == "sendMessage"
        and asked <= r["time"] < other_replied
    ]  # fmt: skip
    # Before the fix the flood's queued updates held every one of the 64 slots: the other
    # customer's update got one only after 37 more of the flood's had been handled.
    assert len(flood_replies_meanwhile) < 10, len(flood_replies_meanwhile)
