"""First reading of a complaint: is the customer upset, is it a problem we already have."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from rapidfuzz import fuzz, utils

# Signs of an upset customer, as they write them. Chinese signs are found anywhere in the
# text (Chinese has no spaces); a sign with Latin letters only as whole words, so that
# "sue" is not found in "issue". Words every calm complaint may use are left out on
# purpose: 投诉 (the complaint itself), 退款 (a refund is a request), 马上/立刻/紧急,
# "urgent", "asap" (hurry is not anger); so are words with calm everyday senses
# (垃圾袋, 工商银行, 曝光不足, 系统崩溃, 天气恶劣): the signs below are the angry
# phrasings.
DEFAULT_ANGRY_WORDS_ZH = (
    # anger, in so many words
    "愤怒", "生气", "气死", "气炸", "火大", "恼火", "太过分", "很过分", "真过分", "过分了",
    "欺人太甚", "忍无可忍", "无法接受", "不能接受", "难以接受", "接受不了", "受够", "受不了",
    "岂有此理", "无语", "离谱", "搞什么", "什么玩意", "什么破", "破玩意", "失望",
    # what they call the company, the product or the staff
    "太差", "极差", "最差", "差劲", "差到", "太烂", "烂透", "真垃圾", "太垃圾", "什么垃圾",
    "垃圾服务", "垃圾产品", "垃圾公司", "垃圾店", "骗子", "骗人", "被骗", "欺骗", "诈骗",
    "坑人", "坑爹", "被坑", "忽悠", "耍我", "黑心", "无良", "奸商", "缺德", "没良心",
    "不要脸", "无耻", "流氓", "混蛋", "王八蛋", "傻逼", "妈的", "他妈", "有病吧", "你们有病",
    "真恶心", "太恶心", "欺负人", "欺负顾客",
    # how they were treated
    "态度恶劣", "服务恶劣", "态度极差", "态度太差", "态度差", "骂人", "骂我", "辱骂", "吼我",
    "冲我吼", "凶我", "甩脸", "摆脸色", "爱答不理", "爱理不理", "不耐烦", "推卸责任",
    "踢皮球", "推诿", "敷衍", "没人管", "没人理", "没人回", "没人接",
    # threats
    "12315", "消协", "消费者协会", "工商局", "市场监管", "律师", "起诉", "法院", "告你们",
    "曝光你们", "去曝光", "网上曝光", "媒体曝光", "差评", "投诉你们", "投诉到底", "退钱",
    "赔钱", "给个说法", "讨个说法", "再也不买", "再也不来", "再也不会",
    # impatience at its end
    "马上给我", "立刻给我", "赶紧给我", "赶快给我", "给我退", "到底怎么回事", "到底什么时候",
    "到底还要", "到底要", "还要等多久", "多少次了", "第几次了", "说了多少遍", "一而再",
)  # fmt: skip
DEFAULT_ANGRY_WORDS_EN = (
    "angry", "furious", "outraged", "outrageous", "livid", "pissed", "fuming", "fed up",
    "sick of", "sick and tired", "had enough", "enough is enough", "unacceptable",
    "ridiculous", "disgrace", "disgraceful", "disgusting", "appalling", "atrocious",
    "horrible", "terrible", "awful", "worst", "pathetic", "useless", "incompetent",
    "shameful", "shame on you", "disappointed", "how dare", "what a joke", "is this a joke",
    "rude", "yelled", "shouted at", "insulted", "scam", "scammed", "scammers", "fraud",
    "rip-off", "ripped off", "rip off", "cheated", "cheats", "liars", "lied to me", "lawyer",
    "sue", "legal action", "small claims", "chargeback", "consumer protection", "report you",
    "never again", "refund now", "money back now", "wtf", "damn", "bullshit", "crap",
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
        signs = 0
        if self._angry_pattern is not None and self._angry_pattern.search(text.lower()):
            signs += 1
        if _EXCLAIMS.search(text):
            signs += 1
        letters = _LATIN.findall(text)
        if len(letters) >= 10 and sum(ch.isupper() for ch in letters) / len(letters) > 0.7:
            signs += 1
        return signs

    @cached_property
    def _angry_pattern(self) -> re.Pattern[str] | None:
        """One pattern for every sign: Latin ones as whole words, the rest anywhere."""
        parts = [_sign_pattern(word.strip().lower()) for word in self.angry_words if word.strip()]
        return re.compile("|".join(parts)) if parts else None

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


def _sign_pattern(word: str) -> str:
    if _LATIN.search(word):
        return rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])"
    return re.escape(word)


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
