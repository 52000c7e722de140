"""Registration and the customer's own record, driven through the sandbox end to end."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.models import Contact, Customer
from tests.e2e.conftest import PersonFactory
from tests.helpers import Message, Person, RunningBot, reply_keyboard_labels, text_of, wait_until


async def customer_of(sessionmaker: async_sessionmaker[AsyncSession], person: Person) -> Customer:
    async with sessionmaker() as session:
        customer = await session.scalar(
            select(Customer).where(Customer.telegram_user_id == person.id)
        )
        assert customer is not None
        return customer


def asks_consent(message: Message) -> bool:
    """The language message, once edited into the consent question (in English)."""
    return "care messages" in text_of(message)


async def register_in_english(
    person: Person, phone: str | None = None, birthday: str | None = None
) -> None:
    """Register with consent, sharing a phone and a birthday or skipping them."""
    await person.say("/start")
    await person.press("English", edited=asks_consent)
    await person.press("Yes, please")
    await (person.share_contact(phone) if phone else person.say("Skip"))
    await person.say(birthday or "Skip")


async def test_registration_in_chinese(
    bot: RunningBot, person: PersonFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    xiaoming = await person("小明", language_code="zh-hans")

    greeting = await xiaoming.say("/start")
    assert "小明" in text_of(greeting) and "语言" in text_of(greeting)
    labels = [b["text"] for row in greeting["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["✓ 中文", "English"], "zh-hans is preselected as 中文"

    _, consent = await xiaoming.press("中文", edited=lambda m: "关怀" in text_of(m))
    assert consent is not None and consent["message_id"] == greeting["message_id"]
    assert text_of(consent).startswith("语言：中文\n\n"), (
        "the choice is confirmed in place, and the next question asked below it"
    )
    assert len(await xiaoming.bot_messages()) == 1

    _, phone_question = await xiaoming.press("好的")
    assert phone_question is not None and "手机号" in text_of(phone_question)
    assert "分享我的手机号" in reply_keyboard_labels(phone_question)

    birthday_question = await xiaoming.share_contact("8613800138000")
    assert "生日" in text_of(birthday_question)

    done = await xiaoming.say("农历八月十五")
    assert "农历八月十五" in text_of(done) and "/profile" in text_of(done)

    customer = await customer_of(sessionmaker, xiaoming)
    assert customer.language == "zh_CN"
    assert customer.consent_care is True
    assert customer.phone == "+8613800138000"
    assert (customer.birthday_calendar, customer.birthday_month, customer.birthday_day) == (
        "lunar",
        8,
        15,
    )
    assert customer.onboarded_at is not None
    assert customer.last_contact_at is not None


async def test_registration_in_english_skipping_phone(
    bot: RunningBot, person: PersonFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person("Anna", language_code="en-US")
    greeting = await anna.say("/start")
    assert "Hello Anna" in text_of(greeting)
    labels = [b["text"] for row in greeting["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["中文", "✓ English"]
    _, consent = await anna.press("English", edited=asks_consent)
    assert consent is not None and text_of(consent).startswith("Language: English\n\n")
    _, phone_question = await anna.press("No, thanks")
    assert phone_question is not None
    assert reply_keyboard_labels(phone_question) == ["Share my phone number", "Skip"]
    birthday_question = await anna.say("Skip")
    assert "birthday" in text_of(birthday_question)
    done = await anna.say("1990-05-20")
    assert "1990-05-20" in text_of(done)
    assert done.get("reply_keyboard") is None, "the reply keyboard is gone at the end"

    customer = await customer_of(sessionmaker, anna)
    assert (customer.language, customer.consent_care, customer.phone) == ("en", False, None)
    assert (customer.birthday_calendar, customer.birthday_year) == ("solar", 1990)


async def test_each_contact_is_logged_in_and_out(
    bot: RunningBot, person: PersonFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person("Anna", language_code="en")
    greeting = await anna.say("/start")
    await anna.press("English", edited=asks_consent)
    transcript = await anna.transcript()
    sent_by_bot = [m for m in transcript if m["from"]["is_bot"]]
    customer = await customer_of(sessionmaker, anna)

    async def contacts() -> list[tuple[str, str, str | None]]:
        async with sessionmaker() as session:
            rows = await session.execute(
                select(Contact.direction, Contact.kind, Contact.text)
                .where(Contact.customer_id == customer.id)
                .order_by(Contact.id)
            )
            return [tuple(row) for row in rows.all()]  # type: ignore[misc]

    async def all_logged() -> bool:
        # An update's contacts are written with its done mark, just after its replies.
        rows = await contacts()
        outbound = sum(1 for r in rows if r[0] == "out")
        return outbound == len(sent_by_bot) and ("in", "button", "lang:en") in rows

    await wait_until(all_logged, within=5)
    rows = await contacts()
    assert rows[0] == ("in", "command", "/start")
    assert rows[1] == ("out", "text", text_of(greeting))
    assert ("in", "button", "lang:en") in rows


async def test_bad_input_at_every_step_keeps_the_dialogue(
    bot: RunningBot,
    person: PersonFactory,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    anna = await person("Anna", language_code="en")
    await anna.say("/start")

    # Language step: a sticker, a photo, text, a stray command (answered as anywhere;
    # the step stays).
    assert "choose a language" in text_of(await anna.send_sticker())
    assert "choose a language" in text_of(await anna.send_photo())
    assert "choose a language" in text_of(await anna.say("hello?"))
    first = await anna.say("/weather")
    assert "do not know that command" in text_of(first)

    _, language_message = await anna.press("English", edited=asks_consent)
    assert language_message is not None
    # Consent step: a late press of a language button (a double tap) is refused, and the
    # step is repeated.
    answer, again = await anna.press_data(language_message["message_id"], "lang:zh_CN")
    assert "earlier step" in answer
    assert again is not None and "care messages" in text_of(again)
    # 5,000 characters pasted: Telegram delivers them as 4,096 + 904.
    assert "care messages" in text_of(await anna.say("x" * 4096))
    assert "care messages" in text_of(await anna.say("y" * 904))

    await anna.press("Yes, please")
    # Phone step: someone else's contact is refused.
    refused = await anna.share_contact("+4915112345678", user_id=424242)
    assert "your own phone number" in text_of(refused)
    assert "Share my phone number" in reply_keyboard_labels(refused)
    await anna.share_contact("+49 151 1234 5678")

    # Birthday step: an impossible date gets the reason and an example.
    wrong = await anna.say("1990-02-30")
    assert "does not exist" in text_of(wrong) and "1990-05-20" in text_of(wrong)
    unreadable = await anna.say("next tuesday")
    assert "could not read" in text_of(unreadable)
    await anna.say("lunar 1-1")

    customer = await customer_of(sessionmaker, anna)
    assert customer.phone == "+4915112345678"
    assert customer.onboarded_at is not None
    assert (customer.birthday_calendar, customer.birthday_month) == ("lunar", 1)


async def test_returning_customer_is_welcomed_back(bot: RunningBot, person: PersonFactory) -> None:
    anna = await person("Anna", language_code="en")
    await register_in_english(anna)
    again = await anna.say("/start")
    assert "Welcome back, Anna" in text_of(again)
    buttons = [b["text"] for row in again["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["File a complaint"]


async def test_restart_in_the_middle_of_registration_loses_nothing(
    sandbox,
    database_url: str,
    clock: ManualClock,
    engine,
    person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first = RunningBot(sandbox, database_url, clock)
    await first.start()
    anna = await person("Anna", language_code="en")
    await anna.say("/start")
    await anna.press("English", edited=asks_consent)
    await anna.press("Yes, please")
    await first.stop()

    second = RunningBot(sandbox, database_url, clock)
    await second.start()
    try:
        birthday_question = await anna.share_contact("+8613800138000")
        assert "birthday" in text_of(birthday_question)
        done = await anna.say("05-20")
        assert "all set" in text_of(done)
    finally:
        await second.stop()
    customer = await customer_of(sessionmaker, anna)
    assert customer.onboarded_at is not None and customer.phone == "+8613800138000"


async def test_profile_language_stop_and_start_again(
    bot: RunningBot, person: PersonFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person("Anna", language_code="en")
    await register_in_english(anna, phone="+8613800138000", birthday="1990-05-20")

    profile = await anna.say("/profile")
    assert "Phone: +86 138 0013 8000" in text_of(profile)
    assert "Birthday: 1990-05-20" in text_of(profile)
    assert "Care messages: on" in text_of(profile)

    # Change the birthday from the profile.
    _, question = await anna.press("Birthday", message=profile)
    assert question is not None and "birthday" in text_of(question)
    saved = await anna.say("农历闰四月初八")
    assert "lunar leap month 4, day 8" in text_of(saved), text_of(saved)

    # Switch to Chinese: from now on the bot speaks Chinese.
    chooser = await anna.say("/language")
    await anna.press_data(chooser["message_id"], "lang:zh_CN", expect_message=False)
    help_text = await anna.say("/help")
    assert "/profile" in text_of(help_text) and "查看" in text_of(help_text)

    stopped = await anna.say("/stop")
    assert "关怀消息已关闭" in text_of(stopped)
    assert (await customer_of(sessionmaker, anna)).consent_care is False

    welcome = await anna.say("/start")
    assert "欢迎回来" in text_of(welcome)
    await anna.press("好的", message=welcome)
    customer = await customer_of(sessionmaker, anna)
    assert customer.consent_care is True and customer.language == "zh_CN"
    assert customer.birthday_leap_month is True


async def test_forget_erases_personal_data_after_confirmation(
    bot: RunningBot, person: PersonFactory, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    anna = await person("Anna", language_code="en")
    await register_in_english(anna, phone="+8613800138000", birthday="1990-05-20")
    customer_id = (await customer_of(sessionmaker, anna)).id

    question = await anna.say("/forget")
    assert "cannot be undone" in text_of(question)
    _, kept = await anna.press("No, keep it", message=question)
    assert kept is not None and "Nothing was erased" in text_of(kept)

    question = await anna.say("/forget")
    _, goodbye = await anna.press("Yes, erase", message=question)
    assert goodbye is not None and "erased" in text_of(goodbye)
    # The update's contact-log entries are written as it is marked done, a moment after
    # the answer shows: count them once the inbox has nothing in hand.
    assert bot.built is not None and await bot.built.inbox.drain(10)

    async with sessionmaker() as session:
        erased = await session.get_one(Customer, customer_id, populate_existing=True)
        assert erased.erased_at is not None
        assert (erased.telegram_user_id, erased.phone, erased.first_name) == (None, None, None)
        assert erased.birthday_month is None and erased.consent_care is False
        texts = (
            await session.scalars(select(Contact.text).where(Contact.customer_id == customer_id))
        ).all()
        assert texts and all(t is None for t in texts), "contact texts are gone"
        count = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.customer_id == customer_id)
        )
        assert count == len(texts) and count > 5, "anonymous counts stay"

    # Writing again starts afresh: a new record, registration from the beginning.
    greeting = await anna.say("/start")
    assert "Hello Anna" in text_of(greeting)


async def test_forged_and_stale_buttons_and_unknown_things(
    bot: RunningBot, person: PersonFactory
) -> None:
    anna = await person("Anna", language_code="en")
    reply = await anna.say("/start")
    await anna.press("English", edited=asks_consent)
    await anna.press("Yes, please")
    await anna.say("Skip")
    await anna.say("Skip")
    # Forged data on a real message.
    answer, _ = await anna.press_data(
        reply["message_id"], "staff:resolve:C-1", expect_message=False
    )
    assert "no longer valid" in answer
    answer, _ = await anna.press_data(reply["message_id"], "lang:xx", expect_message=False)
    assert "no longer valid" in answer
    assert "do not know that command" in text_of(await anna.say("/weather"))
    # Anything else reaches a person: it opens her conversation with the company.
    assert "we got your message" in text_of(await anna.send_sticker())
    # The next message goes into the same conversation (staff answer it, not the bot).
    await anna.client.send_text(anna.id, anna.id, "Where is my parcel?")
    assert "Your conversations with us" in text_of(await anna.say("/status"))


async def test_stranger_is_invited_to_register(bot: RunningBot, person: PersonFactory) -> None:
    stranger = await person("Li", language_code="zh-hant")
    reply = await stranger.say("你好")
    assert "/start" in text_of(reply) and "欢迎" in text_of(reply)


async def test_blocked_customer_is_marked_unreachable(
    bot: RunningBot,
    person: PersonFactory,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    anna = await person("Anna", language_code="en")
    await anna.say("/start")
    await client.fault({"kind": "blocked", "user_id": anna.id})
    await client.send_text(anna.id, anna.id, "/help")

    async def unreachable() -> bool:
        return not (await customer_of(sessionmaker, anna)).reachable

    await wait_until(unreachable, within=10)
    # Writing again (after unblocking) makes the customer reachable again.
    await client.fault({"kind": "unblocked", "user_id": anna.id})
    await anna.say("/help")
    assert (await customer_of(sessionmaker, anna)).reachable


async def test_commands_are_registered_in_both_languages(
    bot: RunningBot, client: SandboxClient
) -> None:
    commands = await client.commands()
    by_language = {entry.get("language_code") or "": entry["commands"] for entry in commands}
    assert [c["command"] for c in by_language["en"]][:4] == [
        "start",
        "complain",
        "status",
        "profile",
    ]
    assert any("语言" in c["description"] for c in by_language["zh"])
    assert by_language[""] == by_language["zh"], "the default list is the default locale's"
