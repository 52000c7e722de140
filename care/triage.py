"""First reading of a complaint: is the customer upset, is it a problem we already have."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, utils

DEFAULT_ANGRY_WORDS_ZH = (
    "投诉", "愤怒", "生气", "气死", "太差", "垃圾", "骗子", "欺骗", "退钱", "退款", "曝光",
    "12315", "消协", "律师", "起诉", "马上", "立刻", "紧急", "无法接受", "忍无可忍", "差评",
)  # fmt: skip
DEFAULT_ANGRY_WORDS_EN = (
    "angry", "furious", "unacceptable", "ridiculous", "scam", "fraud", "lawyer", "sue",
    "refund now", "worst", "disgusting", "urgent", "immediately", "asap", "never again",
)  # fmt: skip

_EXCLAIMS = re.compile(r"[!！]{3,}")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Triage:
    """Word lists (configurable) and the similarity threshold for duplicates."""

    angry_words: Sequence[str] = field(
        default_factory=lambda: (*DEFAULT_ANGRY_WORDS_ZH, *DEFAULT_ANGRY_WORDS_EN)
    )
    duplicate_threshold: float = 75.0

    def agitation(self, text: str) -> int:
        """How many signs of an upset customer the text shows (0 = calm).

        Signs: a word from the list, "!!!" (or "！！！"), and shouting (mostly capital
        letters in a text with at least ten Latin letters).
        """
        lowered = text.lower()
        signs = 0
        if any(word.lower() in lowered for word in self.angry_words if word):
            signs += 1
        if _EXCLAIMS.search(text):
            signs += 1
        letters = _LATIN.findall(text)
        if len(letters) >= 10 and sum(ch.isupper() for ch in letters) / len(letters) > 0.7:
            signs += 1
        return signs

    def similarity(self, first: str, second: str) -> float:
        """0-100: how alike two complaint texts are, robust to word order and extra words.

        Chinese has no spaces between words, so for texts with CJK characters we compare
        characters (``partial_ratio`` on the shorter text) as well as tokens.
        """
        a, b = utils.default_process(first), utils.default_process(second)
        if not a or not b:
            return 0.0
        score = fuzz.token_set_ratio(a, b)
        if _has_cjk(a) or _has_cjk(b):
            score = max(score, fuzz.partial_ratio(a.replace(" ", ""), b.replace(" ", "")))
        return float(score)

    def most_similar(
        self, text: str, candidates: Iterable[tuple[int, str]]
    ) -> tuple[int, float] | None:
        """The id of the candidate most like ``text``, if it reaches the threshold."""
        best: tuple[int, float] | None = None
        for candidate_id, candidate_text in candidates:
            score = self.similarity(text, candidate_text)
            if score >= self.duplicate_threshold and (best is None or score > best[1]):
                best = (candidate_id, score)
        return best


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
