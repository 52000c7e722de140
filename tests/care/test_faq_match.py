"""FAQ matching: normalization, the decisions, and questions matched against a small
bilingual knowledge base written for the tests (tests/data/faq/; the shared one and its
labelled questions are bench/faq.py's, and tests/bench/test_faq_smoke.py's)."""

from __future__ import annotations

import json
from pathlib import Path

import opencc
import pytest

from care.faq import FaqBook
from care.faq_files import read_toml
from care.faq_match import Candidate, Decision, Thresholds, decide, normalize, terms

DATA = Path(__file__).resolve().parents[1] / "data" / "faq"


def test_normalize_folds_width_case_punctuation_and_traditional_chinese() -> None:
    assert normalize("ＡＢＣ１２３，Ｈｅｌｌｏ！") == "abc123 hello"
    assert normalize("退貨運費誰出？") == normalize("退货运费谁出?") == "退货运费谁出"
    assert normalize("  Where's   my\tPARCEL?? ") == "where s my parcel"


def test_terms_cut_chinese_into_words_and_bigrams_and_stem_english() -> None:
    found = terms(normalize("退货运费 Returns refunded"))

    assert "~运费" in found and "~退货" in found
    assert "~货运" in found  # a bigram across the words, for segmentation that differs
    assert "return" in found and "refund" in found


def test_decide_answers_only_with_a_clear_margin() -> None:
    thresholds = Thresholds(answer=60, margin=10, suggest=30, suggestions=3)

    clear = decide([Candidate("a", 80), Candidate("b", 50)], thresholds)
    close = decide([Candidate("a", 80), Candidate("b", 75), Candidate("c", 40)], thresholds)
    nothing = decide([Candidate("a", 20)], thresholds)

    assert (clear.decision, clear.entry_id) == (Decision.ANSWER, "a")
    assert close.decision is Decision.SUGGEST
    assert [c.entry_id for c in close.candidates] == ["a", "b", "c"]
    assert (nothing.decision, nothing.entry_id) == (Decision.HANDOFF, None)


@pytest.fixture(scope="module")
def book() -> FaqBook:
    parsed = read_toml((DATA / "kb.toml").read_bytes())
    assert parsed.errors == []
    return FaqBook.of(parsed.entries)


@pytest.fixture(scope="module")
def questions() -> list[dict]:
    lines = (DATA / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_out_of_scope_questions_are_not_answered(
    book: FaqBook, questions: list[dict], locale: str
) -> None:
    out_of_scope = [q for q in questions if q["locale"] == locale and q["expect"] is None]

    answered = [q["q"] for q in out_of_scope if book.match(q["q"]).decision is Decision.ANSWER]

    assert out_of_scope and answered == []


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_in_scope_questions_are_answered_or_suggested_correctly(
    book: FaqBook, questions: list[dict], locale: str
) -> None:
    in_scope = [q for q in questions if q["locale"] == locale and q["expect"] is not None]
    wrong = []
    for question in in_scope:
        match = book.match(question["q"])
        if match.decision is Decision.ANSWER:
            right = match.entry_id == question["expect"]
        else:
            right = question["expect"] in [c.entry_id for c in match.candidates]
            right = right and match.decision is Decision.SUGGEST
        if not right:
            wrong.append((question["q"], match))

    assert in_scope and wrong == []


def test_traditional_chinese_is_matched_as_simplified(book: FaqBook, questions: list[dict]) -> None:
    to_traditional = opencc.OpenCC("s2t")
    chinese = [q for q in questions if q["locale"] == "zh_CN"]
    changed = 0
    for question in chinese:
        traditional = to_traditional.convert(question["q"])
        changed += traditional != question["q"]
        assert book.match(traditional) == book.match(question["q"]), traditional
    assert changed > len(chinese) / 2, "the questions did change"


def test_english_typos_find_the_same_entry(book: FaqBook) -> None:
    # Phrasings of the knowledge base with letters swapped or dropped.
    for typed, expected in [
        ("How long does a refnud take?", "refund-timing"),
        ("Who pays the shiping for a retrun?", "returns-shipping-fee"),
    ]:
        match = book.match(typed)
        assert match.decision is not Decision.HANDOFF, typed
        assert expected in [c.entry_id for c in match.candidates], (typed, match)


def test_an_english_question_finds_the_entry_whatever_the_chat_language(book: FaqBook) -> None:
    match = book.match("How long does a refund take?")

    assert (match.decision, match.entry_id) == (Decision.ANSWER, "refund-timing")
    zh = book.answer("refund-timing", "zh_CN")
    assert zh is not None and "原路退回" in zh.answer
