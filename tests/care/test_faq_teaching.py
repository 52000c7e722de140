"""Teaching the FAQ customers' wording (``care.faq_teaching``): a phrasing added in the
right language, refused when it cannot be one, the knowledge version moved; the
questions that went to a person listed once per wording; and forgotten with the
customer, while what staff taught stays."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care import faq, faq_teaching, privacy
from care.customers import TelegramIdentity, get_or_create_customer
from care.faq_files import MAX_QUESTION, read_toml
from care.faq_match import Decision
from care.faq_models import FaqEntry, FaqEvent, FaqEventKind
from care.faq_teaching import MissReason, PhrasingRefused, TeachProblem
from tests.helpers import utc

NOW = utc(2026, 12, 3, 10)
KB = Path(__file__).resolve().parents[1] / "data" / "faq" / "kb.toml"


@pytest.fixture
async def base(session: AsyncSession) -> None:
    assert (await faq.import_entries(session, read_toml(KB.read_bytes()), NOW)).ok


async def questions(session: AsyncSession, entry_id: str, locale: str) -> list[str]:
    row = await session.get_one(FaqEntry, entry_id, populate_existing=True)
    return list(row.texts[locale]["questions"])


async def test_a_phrasing_is_added_in_the_language_asked_and_moves_the_version(
    session: AsyncSession, base: None
) -> None:
    before = await faq.knowledge_version(session)
    # The same clock as the import: the version moves all the same.
    taught = await faq_teaching.add_phrasing(
        session, "shop-visit", "  Is there a\nshowroom? ", NOW, locale="en"
    )
    assert taught == faq_teaching.Taught("shop-visit", "en", "Is there a showroom?")
    assert (await questions(session, "shop-visit", "en"))[-1] == "Is there a showroom?"
    assert await faq.knowledge_version(session) != before
    book = await faq.load_book(session)
    assert book.match("is there a showroom").entry_id == "shop-visit"

    # A preference: Chinese words for an entry without the customer's language go to
    # its Chinese phrasings.
    entry = await session.get_one(FaqEntry, "shop-visit")
    entry.texts = {"zh_CN": entry.texts["zh_CN"]}
    await session.flush()
    taught = await faq_teaching.add_phrasing(session, "shop-visit", "有展厅吗", NOW, locale="en")
    assert taught.locale == "zh_CN"
    with pytest.raises(PhrasingRefused) as refused:
        await faq_teaching.add_phrasing(
            session, "shop-visit", "any showroom", NOW, locale="en", strict=True
        )
    assert refused.value.problem is TeachProblem.NO_LANGUAGE


@pytest.mark.parametrize(
    ("entry_id", "text", "problem", "where"),
    [
        ("no-such-entry", "Is there a showroom?", TeachProblem.UNKNOWN_ENTRY, "no-such-entry"),
        ("shop-visit", " ？！ ", TeachProblem.EMPTY, None),
        ("shop-visit", "q" * (MAX_QUESTION + 1), TeachProblem.TOO_LONG, None),
        # Already there, in other case, punctuation or Traditional characters.
        ("shop-visit", "do you have a SHOP I can visit", TeachProblem.DUPLICATE, "shop-visit"),
        ("shop-visit", "退款多久能到賬", TeachProblem.DUPLICATE, "refund-timing"),
    ],
)
async def test_what_cannot_be_a_phrasing_is_refused_and_changes_nothing(
    session: AsyncSession,
    base: None,
    entry_id: str,
    text: str,
    problem: TeachProblem,
    where: str | None,
) -> None:
    before = await faq.knowledge_version(session)
    with pytest.raises(PhrasingRefused) as refused:
        await faq_teaching.add_phrasing(session, entry_id, text, NOW + timedelta(hours=1))
    assert (refused.value.problem, refused.value.entry_id) == (problem, where)
    assert await faq.knowledge_version(session) == before


async def test_misses_are_listed_once_per_wording_and_taught_ones_counted(
    session: AsyncSession, base: None
) -> None:
    anna, _created = await get_or_create_customer(
        session, TelegramIdentity(user_id=7, chat_id=7, first_name="Anna"), NOW
    )
    ming, _created = await get_or_create_customer(
        session, TelegramIdentity(user_id=8, chat_id=8, first_name="明"), NOW
    )
    anna.language, ming.language = "en", None  # Ming's: the default locale
    kinds = FaqEventKind
    await faq.record_event(
        session, kinds.HANDED_OFF, NOW, customer_id=anna.id, question="Is there a showroom?"
    )
    await faq.record_event(
        session, kinds.ASKED_PERSON, NOW + timedelta(minutes=1), customer_id=anna.id,
        entry_id="shop-visit", question="is there a SHOWROOM",
    )  # fmt: skip
    await faq.record_event(
        session, kinds.ASKED_PERSON, NOW + timedelta(minutes=2), customer_id=ming.id,
        question="能不能先看看实物？",
    )  # fmt: skip
    await faq.record_event(  # long ago
        session, kinds.HANDED_OFF, NOW - timedelta(days=40), customer_id=anna.id, question="old"
    )
    await faq.record_event(session, kinds.ANSWERED, NOW, customer_id=anna.id, entry_id="x")
    book = await faq.load_book(session)

    found = await faq_teaching.recent_misses(session, book, NOW - timedelta(days=30), "zh_CN")

    assert [(m.question, m.locale, m.count) for m in found.misses] == [
        ("能不能先看看实物？", "zh_CN", 1),
        ("is there a SHOWROOM", "en", 2),
    ]
    assert found.misses[0].reasons == {MissReason.NONE_FITTED}
    assert found.misses[1].reasons == {MissReason.NO_MATCH, MissReason.NOT_HELPFUL}
    assert found.misses[1].given == {"shop-visit"}
    assert found.taught == 0

    await faq_teaching.add_phrasing(session, "shop-visit", "Is there a showroom?", NOW)
    book = await faq.load_book(session)
    found = await faq_teaching.recent_misses(session, book, NOW - timedelta(days=30), "zh_CN")
    assert [m.question for m in found.misses] == ["能不能先看看实物？"]
    assert found.taught == 1
    assert found.misses[0].decision is Decision.HANDOFF


async def test_forgetting_the_customer_clears_their_questions_not_the_phrasings(
    session: AsyncSession, base: None
) -> None:
    anna, _created = await get_or_create_customer(
        session, TelegramIdentity(user_id=7, chat_id=7, first_name="Anna"), NOW
    )
    await faq.record_event(
        session, FaqEventKind.HANDED_OFF, NOW, customer_id=anna.id, question="Is there a showroom?"
    )
    await faq_teaching.add_phrasing(session, "shop-visit", "Is there a showroom?", NOW)

    await privacy.forget_customer(session, anna, NOW + timedelta(days=1))

    kept = (await session.scalars(select(FaqEvent.question))).all()
    assert kept == [None]
    assert "Is there a showroom?" in await questions(session, "shop-visit", "en")


@pytest.mark.parametrize(
    ("shown", "whole"),
    [
        ("能不能先看看实物？", True),  # copied into the topic
        ("💬 #3 Anna:\nIs there a showroom?", True),  # under the plain group's header
        ("🙋 Asked for a person.\nQuestion: Is there a showroom?\nAnswer given: …", True),
        ("🙋 要求人工服务。\n问题：Is there a showroom?", True),
        ("🆕 Conversation #3 with Anna: Is there a showroom?", True),
        # Another message that happens to contain the words: not that question.
        ("Is there a showroom? And where do I park?", False),
        ("Why Is there a showroom?", False),
        ("Is there a showroom?!", False),
    ],
)
def test_a_relay_shows_the_question_whole(shown: str, whole: bool) -> None:
    question = "能不能先看看实物？" if shown.startswith("能") else "Is there a showroom?"
    assert faq_teaching.shows(shown, question) is whole
