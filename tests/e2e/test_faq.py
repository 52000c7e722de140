"""FAQ answers through the sandbox, in Chinese and English: answered, helpful, ask a
person, suggestions pressed, no match, Traditional Chinese and typos, and never inside a
dialogue or for a message that belongs to an open complaint."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from care import faq
from care.clock import ManualClock
from care.faq_files import read_toml
from care.faq_models import FaqEvent
from tests.conftest import CareTeam
from tests.e2e.conftest import PersonFactory
from tests.helpers import RunningBot, StaffMember, buttons, en, text_of, zh

# A small knowledge base written for the tests (a fresh clone has no ../shared).
KB = Path(__file__).resolve().parents[1] / "data" / "faq" / "kb.toml"


@pytest.fixture
async def knowledge(sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    """The test shop's knowledge base (tests/data/faq/kb.toml), imported."""
    async with sessionmaker.begin() as session:
        outcome = await faq.import_entries(session, read_toml(KB.read_bytes()), clock.now())
    assert outcome.ok


OPENED = "Thank you, we got your message. A colleague will answer by {due}."


def to_a_person(reply: dict, words: str = "en") -> bool:
    """Whether the reply says the message went into a conversation with staff."""
    said = (zh if words == "zh" else en)(OPENED).split("{due}")[0]
    return said in text_of(reply)


async def events(sessionmaker: async_sessionmaker[AsyncSession]) -> list[tuple[str, str | None]]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(FaqEvent).order_by(FaqEvent.id))
        return [(row.kind, row.entry_id) for row in rows]


async def test_chinese_question_in_traditional_characters_is_answered_and_helped(
    complaint_bot: RunningBot, knowledge: None, person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    mei = await person("美美", language_code="zh-hant")

    answer = await mei.say("退貨的運費是誰出？")

    assert "退货运费由蓝峰户外承担" in text_of(answer)
    assert buttons(answer)[:2] == [zh("✅ That helped"), zh("🙋 Ask a person")]
    said, _ = await mei.press(zh("✅ That helped"), edited=lambda m: not buttons(m))
    assert said == zh("Glad it helped!")
    assert await events(sessionmaker) == [
        ("answered", "returns-shipping-fee"),
        ("helpful", "returns-shipping-fee"),
    ]


async def test_english_answer_then_ask_a_person_hands_off(
    complaint_bot: RunningBot, knowledge: None, person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession], care_team: CareTeam,
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")

    answer = await anna.say("How long does a refund take?")

    assert "original payment method" in text_of(answer)
    _, handed = await anna.press(en("🙋 Ask a person"))
    # One step: the customer is told a colleague will answer; staff see the question and
    # the answer she got, in her conversation, without her asking again.
    assert handed is not None and "A colleague will answer by" in text_of(handed)
    shown = await anna.client.wait_for_bot_message(
        care_team.group_id, lambda m: "How long does a refund take?" in text_of(m), timeout=10
    )
    heading = zh(
        "🙋 Asked for a person after the FAQ's answer.\nQuestion: {question}\n"
        "Answer given: {answer}"
    ).split("\n")[0]
    assert heading in text_of(shown)
    assert "original payment method" in text_of(shown)
    assert await events(sessionmaker) == [
        ("answered", "refund-timing"),
        ("asked_person", "refund-timing"),
    ]


async def test_english_question_in_a_chinese_chat_is_answered_in_chinese(
    complaint_bot: RunningBot, knowledge: None, person: PersonFactory,
) -> None:  # fmt: skip
    li = await person("李雷", language_code="zh-hans")

    answer = await li.say("How long does a refund take?")

    assert "原路退回" in text_of(answer)


async def test_a_typo_still_finds_the_entry(
    complaint_bot: RunningBot, knowledge: None, person: PersonFactory,
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")

    reply = await anna.say("How long does a refnud take?")

    shown = text_of(reply) + " ".join(buttons(reply))
    assert "original payment method" in shown or "How long does a refund take?" in shown


@pytest.fixture
async def suggesting_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, care_team: CareTeam
) -> RunningBot:
    """carebot that never answers at once (answer score 100): it always suggests."""
    running = RunningBot(
        sandbox,
        database_url,
        clock,
        staff_chat_id=care_team.group_id,
        faq_answer_score=100,
        faq_suggest_score=10,
    )
    await running.start()
    yield running  # type: ignore[misc]
    await running.stop()


async def test_suggestions_pressed_and_none_of_these(
    suggesting_bot: RunningBot, knowledge: None, person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession], care_team: CareTeam,
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")

    offer = await anna.say("when does my refund arrive")

    assert text_of(offer) == en("Is your question one of these?")
    labels = buttons(offer)
    assert "How long does a refund take?" in labels
    assert labels[-1] == en("None of these — ask a person") and len(labels) <= 4
    _, answer = await anna.press("How long does a refund take?")
    assert answer is not None and "original payment method" in text_of(answer)

    offer = await anna.say("something about the refund money")
    _, handed = await anna.press(en("None of these — ask a person"), message=offer)
    assert handed is not None and "A colleague will answer by" in text_of(handed)
    shown = await anna.client.wait_for_bot_message(
        care_team.group_id, lambda m: "something about the refund money" in text_of(m), timeout=10
    )
    none_fitted = zh(
        "🙋 Asked for a person: none of the FAQ's suggestions fitted.\nQuestion: {question}"
    ).split("\n")[0]
    assert none_fitted in text_of(shown)
    kinds = [kind for kind, _ in await events(sessionmaker)]
    assert "picked" in kinds and kinds[-1] == "asked_person"


async def test_no_match_goes_to_a_person(
    complaint_bot: RunningBot, knowledge: None, person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    mei = await person("美美")

    reply = await mei.say("谢谢，祝你开心")

    assert to_a_person(reply, "zh")
    assert await events(sessionmaker) == [("handed_off", None)]


async def test_the_same_answer_is_not_sent_twice_in_a_row(
    complaint_bot: RunningBot, knowledge: None, person: PersonFactory,
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")

    first = await anna.say("How long does a refund take?")
    second = await anna.say("How long does a refund take?")

    assert "original payment method" in text_of(first)
    assert to_a_person(second) and "original payment method" not in text_of(second)


async def test_no_faq_answer_inside_a_dialogue_or_for_an_open_complaint(
    complaint_bot: RunningBot, knowledge: None, person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    await anna.say("/complain")
    await anna.press("Delivery")

    step = await anna.say("How long does a refund take? I returned it a month ago.")

    assert "original payment method" not in text_of(step)  # the description step goes on
    await anna.press("Continue")
    await anna.say("A-1001")
    await anna.press("Submit")
    added = await anna.say("How long does a refund take?")
    assert "Added to your complaint" in text_of(added)
    assert await events(sessionmaker) == []


async def test_staff_switch_faq_answers_off_and_on(
    complaint_bot: RunningBot, knowledge: None, person: PersonFactory, admin: StaffMember,
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")

    assert await admin.command("/faq off") == zh(
        "FAQ answers are off: customers' questions go to staff."
    )
    assert to_a_person(await anna.say("How long does a refund take?"))
    await admin.command("/faq on")
    await admin.command("/faq off refund-timing")
    reply = await anna.say("How long does a refund take?")
    assert "original payment method" not in text_of(reply)
    answered = await anna.say("How do I cancel my order?")
    assert "cancel it on the order page" in text_of(answered)
    assert "refund-timing" in await admin.command("/faq show refund-timing")
    assert zh("{count} FAQ entries:").format(count=10) in await admin.command("/faq list")
    stats = (await admin.command("/faq stats")).splitlines()
    assert "1" in next(line for line in stats if "order-cancel" in line)


async def test_a_broken_photo_costs_no_answer_and_related_entries_are_buttons(
    complaint_bot: RunningBot, person: PersonFactory, clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    text = """
[[entry]]
id = "warranty"
photo = "no-such-file-id"
related = ["repairs"]
[entry.en]
questions = ["How long is the warranty?"]
answer = "One year from delivery."

[[entry]]
id = "repairs"
[entry.en]
questions = ["Where do I send a repair?"]
answer = "To our service centre in Shenzhen."
"""
    async with sessionmaker.begin() as session:
        assert (await faq.import_entries(session, read_toml(text.encode()), clock.now())).ok
    anna = await person("Anna", language_code="en")

    answer = await anna.say("How long is the warranty?")

    assert text_of(answer) == "One year from delivery."
    assert "Where do I send a repair?" in buttons(answer)
    _, related = await anna.press("Where do I send a repair?")
    assert related is not None and text_of(related) == "To our service centre in Shenzhen."
