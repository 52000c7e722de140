"""Canned answers in the domain: names, texts and their one placeholder, which text a
customer gets, prefixes, removal."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from care import canned
from care.canned import CannedError, CannedProblem
from care.clock import ManualClock


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("   ", CannedProblem.EMPTY),
        ("x" * (canned.TEXT_LIMIT + 1), CannedProblem.TOO_LONG),
        ("Dear {customer}", CannedProblem.BAD_PLACEHOLDER),
        ("Dear {name", CannedProblem.BAD_PLACEHOLDER),
        ("Dear name}", CannedProblem.BAD_PLACEHOLDER),
        ("{name!r}", CannedProblem.BAD_PLACEHOLDER),
        ("{0}", CannedProblem.BAD_PLACEHOLDER),
        ("{}", CannedProblem.BAD_PLACEHOLDER),
        ("{name:>10}", CannedProblem.BAD_PLACEHOLDER),
    ],
)
def test_a_text_holds_name_and_no_other_placeholder(text: str, problem: CannedProblem) -> None:
    with pytest.raises(CannedError) as refused:
        canned.check_text(text)
    assert refused.value.problem is problem


def test_name_is_filled_in_and_doubled_braces_are_braces() -> None:
    canned.check_text("{name}, your code is {{ABC}}")
    assert canned.filled("{name}, your code is {{ABC}}", "小明") == "小明, your code is {ABC}"


@pytest.mark.parametrize("name", ["", "a b", "_x", "x" * 33, "退款", "a/b", "a-b"])
def test_names_are_short_plain_words(name: str) -> None:
    assert canned.normalized_name(name) is None


async def test_save_replace_find_with_fallback_and_remove(
    session: AsyncSession, clock: ManualClock
) -> None:
    first = await canned.save(session, "Refund", "zh_CN", " {name}您好 ", None, clock.now())
    assert (first.answer.name, first.answer.text, first.replaced) == ("refund", "{name}您好", False)
    again = await canned.save(session, "refund", "zh_CN", "{name}，您好", None, clock.now())
    assert again.replaced and again.answer.id == first.answer.id
    await canned.save(session, "refund_time", "en", "Three days.", None, clock.now())
    await canned.save(session, "hours", "en", "9 to 6.", None, clock.now())

    assert await canned.matching_names(session, "REFUND") == ["refund"], "a full name wins"
    assert await canned.matching_names(session, "ref") == ["refund", "refund_time"]
    assert await canned.matching_names(session, "x") == []
    english_or_default = await canned.text_for(session, "refund", "en", "zh_CN")
    assert english_or_default is not None and english_or_default.language == "zh_CN"
    assert await canned.text_for(session, "refund_time", "zh_CN", "zh_CN") is None

    assert await canned.remove(session, "refund", "en") == 0
    assert await canned.remove(session, "Refund") == 1
    assert [a.name for a in await canned.all_answers(session)] == ["hours", "refund_time"]
    with pytest.raises(CannedError):
        await canned.save(session, "bad name", "en", "x", None, clock.now())
