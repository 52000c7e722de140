"""Registration is no wall (issue 9, item 12) and a typed phone number is welcome (item 13).

Any command works at any step; one that starts another dialogue pauses registration,
which /start resumes where it stopped, with every answer given kept. What the customer
writes at a step that answers no question is kept and handled as a message. Words are
the catalogs' (``gettext_in``), in the customer's language.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from care.clock import ManualClock
from care.models import ComplaintEvent, Contact, Customer
from handlers.i18n import gettext_in
from tests.conftest import CareTeam
from tests.e2e.conftest import PersonFactory
from tests.e2e.test_complaints import complaints_in_db
from tests.helpers import Message, Person, RunningBot, reply_keyboard_labels, text_of

FINISH_THIS_STEP = (
    "Let us finish this step first, or send /cancel to stop here.",
    "请先完成这一步，或发送 /cancel 暂停",
)


def said(locale: str, message: str, **values: Any) -> str:
    return gettext_in(locale, message).format(**values)


def no_wall(message: Message) -> None:
    """The customer is never told to finish the step first."""
    for words in FINISH_THIS_STEP:
        assert words not in text_of(message), text_of(message)


async def customer_of(sessionmaker: async_sessionmaker[AsyncSession], person: Person) -> Customer:
    async with sessionmaker() as session:
        customer = await session.scalar(
            select(Customer).where(Customer.telegram_user_id == person.id)
        )
        assert customer is not None
        return customer


async def inbound_texts(
    sessionmaker: async_sessionmaker[AsyncSession], person: Person
) -> list[str | None]:
    customer = await customer_of(sessionmaker, person)
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(Contact.text)
            .where(Contact.customer_id == customer.id, Contact.direction == "in")
            .order_by(Contact.id)
        )
        return list(rows.all())


async def up_to_the_phone(person: Person, locale: str) -> None:
    """/start, choose the language, say yes to care messages: the phone step."""
    language, yes = ("中文", "好的") if locale == "zh_CN" else ("English", "Yes, please")
    consent = said(locale, "Yes, please")
    await person.say("/start")
    await person.press(language, edited=lambda m: consent in str(m.get("reply_markup")))
    _, question = await person.press(yes)
    assert question is not None and said(locale, "Skip") in reply_keyboard_labels(question)


async def file(person: Person, locale: str, text: str) -> Message:
    """Choose a category, describe, no attachment, no reference, submit: the last words."""
    await person.press(said(locale, "Delivery"))
    await person.say(text)
    await person.press(said(locale, "Continue"))
    await person.press(said(locale, "No reference"))
    _, filed = await person.press(said(locale, "Submit"))
    assert filed is not None
    return filed


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
async def test_complain_in_the_middle_of_registration_files_at_once_and_registration_resumes(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    locale: str,
) -> None:
    anna = await person("Anna", language_code="en" if locale == "en" else "zh-hans")
    await up_to_the_phone(anna, locale)

    paused = await anna.say("/complain")
    no_wall(paused)
    assert text_of(paused) == said(
        locale, "Registration paused. Send /start whenever you want to continue."
    )
    assert paused.get("reply_keyboard") is None, "the phone step's keyboard went with it"
    question = await anna.wait_reply(paused["message_id"])
    assert text_of(question) == said(
        locale,
        "We are sorry something went wrong. Let us sort it out together. "
        "What is the complaint about?",
    )

    filed = await file(anna, locale, "The parcel is a week late.")
    [complaint] = await complaints_in_db(sessionmaker)
    assert complaint.number is not None and complaint.number in text_of(filed)
    assert said(locale, "When you have a moment, send /start to finish registering.") in text_of(
        filed
    ), "registration is offered again after filing"

    # /start goes on at the phone: language and consent were kept.
    resumed = await anna.say("/start")
    assert text_of(resumed).startswith(
        said(locale, "Welcome back, {name}! Let us finish your registration.", name="Anna")
    )
    assert said(locale, "Share my phone number") in reply_keyboard_labels(resumed)
    await anna.say(said(locale, "Skip"))
    done = await anna.say("1990-05-20")
    assert said(locale, "You are all set. Write to us whenever you need us.") in text_of(done)
    customer = await customer_of(sessionmaker, anna)
    assert (customer.language, customer.consent_care) == (locale, True)
    assert customer.onboarded_at is not None and customer.birthday_year == 1990


@pytest.mark.parametrize(
    ("locale", "problem"),
    [
        ("zh_CN", "门店店员态度恶劣，还骂人，太过分了！"),
        ("en", "Where is my parcel? I ordered it a week ago."),
    ],
)
async def test_a_problem_written_at_a_step_is_kept_and_the_question_asked_again(
    bot: RunningBot,
    person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
    locale: str,
    problem: str,
) -> None:
    ming = await person("小明", language_code="zh-hans" if locale == "zh_CN" else "en")
    await ming.say("/start")

    # It reaches a person: the first time it opens her conversation (and says so), then
    # it goes on in it; the step's question is asked again each time.
    got = "Thank you, we got your message. A colleague will answer by {due}."
    due = "2026-09-24 20:00"  # two hours after the test clock, in Shanghai
    # At the language step (buttons only), at the phone step and at the birthday step.
    at_language = await ming.say(problem)
    no_wall(at_language)
    assert text_of(at_language) == said(locale, got, due=due) + "\n\n" + said(
        locale, "Please choose a language with the buttons."
    )
    language = "中文" if locale == "zh_CN" else "English"
    consent = said(locale, "Yes, please")
    await ming.press(language, edited=lambda m: consent in str(m.get("reply_markup")))
    await ming.press(consent)
    at_phone = await ming.say(problem)
    no_wall(at_phone)
    assert text_of(at_phone) == said(
        locale, "Please share your phone number with the button below, write it, or tap Skip."
    )
    assert said(locale, "Share my phone number") in reply_keyboard_labels(at_phone)
    await ming.say(said(locale, "Skip"))
    at_birthday = await ming.say(problem)
    no_wall(at_birthday)
    assert said(locale, "I could not read that as a date.") not in text_of(at_birthday)
    done = await ming.say("农历八月十五")
    assert said(locale, "You are all set. Write to us whenever you need us.") in text_of(done)

    assert (await inbound_texts(sessionmaker, ming)).count(problem) == 3, "on the record"


async def test_a_problem_written_mid_registration_reaches_the_open_complaint(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ming = await person("小明", language_code="zh-hans")
    await ming.say("/complain")  # nobody has to register to complain
    await file(ming, "zh_CN", "快递一周了还没到")
    [complaint] = await complaints_in_db(sessionmaker)

    await up_to_the_phone(ming, "zh_CN")
    # The confirmation is owed (sent by the outbox of owed messages), the question asked
    # directly: their order is not fixed.
    confirmation = said(
        "zh_CN",
        "Added to your complaint {number}. Our team sees it right away.",
        number=complaint.number,
    )
    question = said(
        "zh_CN", "Please share your phone number with the button below, write it, or tap Skip."
    )
    sent = await ming.client.send_text(ming.id, ming.id, "师傅到现在还没联系我")
    await ming.wait_reply(sent["message_id"], lambda m: text_of(m) == confirmation)
    await ming.wait_reply(sent["message_id"], lambda m: text_of(m) == question)
    for reply in await ming.bot_messages():
        if reply["message_id"] > sent["message_id"]:
            no_wall(reply)
    async with sessionmaker() as session:
        notes = await session.scalars(
            select(ComplaintEvent.note).where(
                ComplaintEvent.complaint_id == complaint.id,
                ComplaintEvent.type == "customer_message",
            )
        )
        assert list(notes.all()) == ["师傅到现在还没联系我"]


async def test_status_and_help_work_at_a_step_and_the_step_stays(
    bot: RunningBot, person: PersonFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person("Anna", language_code="en")
    await up_to_the_phone(anna, "en")
    status = await anna.say("/status")
    no_wall(status)
    assert text_of(status) == said(
        "en", "You have no complaints with us. Send /complain if something is wrong."
    )
    help_text = await anna.say("/help")
    assert "/complain" in text_of(help_text)
    # Still at the phone step: a typed number is its answer.
    saved = await anna.say("+49 151 1234 5678")
    assert text_of(saved).startswith(
        said("en", "Thank you, we saved your phone number: {phone}.", phone="+49 1511 2345678")
    )
    assert said("en", "When is your birthday?") in text_of(saved)
    assert (await customer_of(sessionmaker, anna)).phone == "+4915112345678"


# --- item 13: typed phone numbers ---------------------------------------------------


async def test_a_typed_phone_number_is_checked_and_saved_in_chinese(
    bot: RunningBot, person: PersonFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ming = await person("小明", language_code="zh-hans")
    await up_to_the_phone(ming, "zh_CN")

    wrong = await ming.say("1380013800")  # a digit missing
    assert text_of(wrong) == said(
        "zh_CN",
        "{number} does not look like a phone number. Please write it like {example}, with "
        "the country code if it is not a number of ours (+852 …), or use the button below, "
        "or Skip.",
        number="1380013800",
        example="131 2345 6789",
    )
    assert "分享我的手机号" in reply_keyboard_labels(wrong), "the question again"
    assert (await customer_of(sessionmaker, ming)).phone is None

    saved = await ming.say("手机：138-0013-8000")
    assert text_of(saved).startswith("谢谢，您的手机号已保存：+86 138 0013 8000。")
    assert "生日" in text_of(saved)
    assert (await customer_of(sessionmaker, ming)).phone == "+8613800138000"


@pytest.fixture
async def american_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, engine: AsyncEngine
) -> AsyncIterator[RunningBot]:
    """carebot for a company whose customers write American numbers."""
    running = RunningBot(sandbox, database_url, clock, phone_region="US")
    await running.start()
    yield running
    await running.stop()


async def test_a_typed_phone_number_is_read_in_the_company_region_in_english(
    american_bot: RunningBot, person: PersonFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person("Anna", language_code="en")
    await up_to_the_phone(anna, "en")
    wrong = await anna.say("555-01")
    assert "does not look like a phone number" in text_of(wrong)
    assert "(201) 555-0123" in text_of(wrong), "the example is one of the company's region"
    await anna.say("(650) 253-0000")
    assert (await customer_of(sessionmaker, anna)).phone == "+16502530000"
    await anna.say("Skip")
    # From /profile too, with the country code of another region.
    profile = await anna.say("/profile")
    assert "Phone: +1 650-253-0000" in text_of(profile)
    _, question = await anna.press("Phone", message=profile)
    assert question is not None
    await anna.say("+86 138 0013 8000")
    assert (await customer_of(sessionmaker, anna)).phone == "+8613800138000"


async def test_the_file_a_complaint_button_of_help_works_in_the_middle_of_registration(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ming = await person("小明", language_code="zh-hans")
    await up_to_the_phone(ming, "zh_CN")
    await ming.say(said("zh_CN", "Skip"))  # now at the birthday step
    help_text = await ming.say("/help")
    _, paused = await ming.press(said("zh_CN", "File a complaint"), message=help_text)
    assert paused is not None
    assert text_of(paused) == said(
        "zh_CN", "Registration paused. Send /start whenever you want to continue."
    )
    await ming.wait_reply(paused["message_id"], lambda m: "投诉" in text_of(m))
    await file(ming, "zh_CN", "快递一周了还没到")
    assert len(await complaints_in_db(sessionmaker)) == 1
    # The phone was skipped, not given: /start offers it again, then the birthday.
    resumed = await ming.say("/start")
    assert "分享我的手机号" in reply_keyboard_labels(resumed)
