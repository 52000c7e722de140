"""Staff writing the FAQ: drafts per member and chat, the limits of a knowledge-base
file, ids made from the question, and an answer offered to staff sent once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from care import faq, faq_authoring
from care.customers import TelegramIdentity, get_or_create_customer
from care.faq_authoring import AlreadySent, DraftRefused
from care.faq_files import MAX_ANSWER, MAX_QUESTION, FaqProblem
from care.faq_models import FaqEntry, FaqEventKind
from tests.helpers import utc

NOW = utc(2026, 12, 3, 10)


async def test_drafts_are_per_member_and_chat(session: AsyncSession) -> None:
    await faq_authoring.put_draft(session, -100, 1, {"step": "language"}, NOW)
    await faq_authoring.put_draft(session, -100, 2, {"step": "answer"}, NOW)
    await faq_authoring.put_draft(session, 1, 1, {"step": "questions"}, NOW)
    assert await faq_authoring.get_draft(session, -100, 1, NOW) == {"step": "language"}
    assert await faq_authoring.get_draft(session, -100, 2, NOW) == {"step": "answer"}
    await faq_authoring.put_draft(session, -100, 1, {"step": "preview"}, NOW)
    assert await faq_authoring.get_draft(session, -100, 1, NOW) == {"step": "preview"}
    assert await faq_authoring.drop_draft(session, -100, 1)
    assert not await faq_authoring.drop_draft(session, -100, 1)
    assert await faq_authoring.get_draft(session, -100, 1, NOW) is None
    assert await faq_authoring.get_draft(session, 1, 1, NOW) == {"step": "questions"}
    # Left alone for an hour: forgotten.
    later = NOW + faq_authoring.DRAFT_TTL
    assert await faq_authoring.get_draft(session, 1, 1, later - timedelta(seconds=1))
    assert await faq_authoring.get_draft(session, 1, 1, later) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", FaqProblem.MISSING_QUESTIONS),
        ("  \n \n", FaqProblem.MISSING_QUESTIONS),
        ("问" * (MAX_QUESTION + 1), FaqProblem.QUESTION_TOO_LONG),
        ("\n".join(f"q{n}" for n in range(21)), FaqProblem.BAD_VALUE),
    ],
)
def test_bad_questions_are_refused(text: str, problem: FaqProblem) -> None:
    with pytest.raises(DraftRefused) as refused:
        faq_authoring.questions_of(text)
    assert refused.value.problem is problem


def test_questions_one_per_line_without_blanks_or_repeats() -> None:
    assert faq_authoring.questions_of(" 能开发票吗？\n\n发票怎么开？\n能开发票吗？") == [
        "能开发票吗？",
        "发票怎么开？",
    ]
    assert faq_authoring.questions_of("问" * MAX_QUESTION) == ["问" * MAX_QUESTION]


def test_bad_answers_are_refused() -> None:
    with pytest.raises(DraftRefused) as empty:
        faq_authoring.answer_of("  ")
    assert empty.value.problem is FaqProblem.MISSING_ANSWER
    with pytest.raises(DraftRefused) as long:
        faq_authoring.answer_of("答" * (MAX_ANSWER + 1))
    assert long.value.problem is FaqProblem.ANSWER_TOO_LONG
    assert long.value.limit == MAX_ANSWER
    assert faq_authoring.answer_of("答" * MAX_ANSWER) == "答" * MAX_ANSWER


async def test_new_entries_get_ids_from_their_question(session: AsyncSession) -> None:
    first = await faq_authoring.add_entry(session, "en", ["Do you ship to Macau?"], "Yes.", NOW)
    second = await faq_authoring.add_entry(session, "en", ["Do you ship to Macau??"], "Yes!", NOW)
    chinese = await faq_authoring.add_entry(session, "zh_CN", ["能开发票吗？"], "能。", NOW)
    again = await faq_authoring.add_entry(session, "zh_CN", ["发票怎么开？"], "下单时填写。", NOW)
    long = await faq_authoring.add_entry(
        session, "en", ["Is there any chance the blue kettle is back in stock soon?"], "Yes.", NOW
    )
    assert (first, second, chinese, again) == (
        "do-you-ship-to-macau", "do-you-ship-to-macau-2", "faq-1", "faq-2",
    )  # fmt: skip
    assert long == "is-there-any-chance-the-blue"
    row = await session.get(FaqEntry, "faq-1")
    assert row is not None and row.texts == {
        "zh_CN": {"questions": ["能开发票吗？"], "answer": "能。"}
    }
    # A new entry is answered as soon as it is saved.
    book = await faq.load_book(session)
    assert book.match("Do you ship to Macau?").entry_id in {first, second}


async def test_an_offered_answer_is_sent_once_and_not_counted(session: AsyncSession) -> None:
    customer, _created = await get_or_create_customer(
        session, TelegramIdentity(user_id=7, chat_id=7, first_name="Anna"), NOW
    )
    number = await faq_authoring.record_staff_suggestion(session, "refund-timing", customer.id, NOW)
    taken = await faq_authoring.take_suggestion(session, number, NOW)
    assert taken == faq_authoring.Suggestion("refund-timing", customer.id)
    with pytest.raises(AlreadySent):
        await faq_authoring.take_suggestion(session, number, NOW)
    assert await faq_authoring.take_suggestion(session, number + 1, NOW) is None
    # Offers to staff are no FAQ answers: the measures and "never twice in a row" skip them.
    stats = await faq.faq_stats(session)
    assert stats.overall.answered == 0 and stats.entries == []
    assert await faq.last_answer(session, customer.id) is None
    await faq.record_event(
        session, FaqEventKind.ANSWERED, NOW, entry_id="x", customer_id=customer.id
    )
    assert await faq.last_answer(session, customer.id) == "x"
