"""Matching a customer's message against the FAQ's question phrasings.

Text is normalized (Unicode NFKC folds full-width forms to half-width, case folded,
Traditional Chinese converted to Simplified with OpenCC, punctuation dropped), then cut
into terms: Chinese runs are segmented with rjieba (jieba-rs) and also cut into
character bigrams (robust to segmentation that differs between question and phrasing),
English words are stemmed with the Snowball stemmer. An English word the knowledge base
does not know is mapped to its closest known word (a typo), by rapidfuzz.

An index built once per knowledge base holds, for each term, the phrasings that use it
and its inverse document frequency over entries. A message is scored against every
phrasing sharing a term with it (the weight of the shared terms over the weight of the
message's terms and of the phrasing's: rare words count more, and words the knowledge
base has never seen count against the match), the best entries are then scored again
with rapidfuzz's ``token_set_ratio`` over the segmented texts, and the two scores are
combined with a weight chosen by measurement (``bench/faq.py``). The score of an entry is
its best phrasing's; phrasings of every language are matched, so a question in English
from a customer who reads Chinese finds the entry, answered in the customer's language.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

import opencc
import rjieba
import snowballstemmer
from rapidfuzz import fuzz, process

# A run of Han characters (CJK unified ideographs and extension A), or of letters/digits.
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_WORD = re.compile(r"[^\W_]+")
# English words this short are not mapped to a known word when unknown: too ambiguous.
_MIN_TYPO_LENGTH = 4
_TYPO_CUTOFF = 80.0  # rapidfuzz ratio at which an unknown word counts as a known one


class Decision(StrEnum):
    """What the bot does with a message."""

    ANSWER = "answer"  # confident, with a clear margin: send the entry's answer
    SUGGEST = "suggest"  # plausible entries: offer them as buttons
    HANDOFF = "handoff"  # nothing plausible: a person answers


@dataclass(frozen=True)
class Thresholds:
    """Where the decisions change (scores are 0-100).

    Attributes:
        answer: The best entry's score at which it is answered.
        margin: How far ahead of the runner-up the best entry must be to be answered.
        suggest: The score at which an entry is worth suggesting.
        suggestions: At most this many entries are suggested.
    """

    answer: float = 62.0
    margin: float = 8.0
    suggest: float = 30.0
    suggestions: int = 3


@dataclass(frozen=True)
class Weights:
    """How the scores are combined (chosen by ``bench/faq.py``, not by taste).

    Attributes:
        fuzzy: The share of rapidfuzz's token-set ratio in the score; the rest is the
            weighted term overlap.
        answer: The share of the message's terms found in an entry's answers (the
            answers name things customers ask about that no phrasing mentions).
        shortlist: How many entries, best by term overlap, are scored with rapidfuzz.
    """

    fuzzy: float = 0.3
    answer: float = 0.0
    shortlist: int = 12


@dataclass(frozen=True)
class Candidate:
    entry_id: str
    score: float  # 0-100


@dataclass(frozen=True)
class Match:
    """What the bot would do with a message, and why."""

    decision: Decision
    candidates: tuple[Candidate, ...]  # best first; the suggested ones when suggesting

    @property
    def entry_id(self) -> str | None:
        """The entry answered, or the best suggested; None on hand-off."""
        if self.decision is Decision.HANDOFF or not self.candidates:
            return None
        return self.candidates[0].entry_id

    @property
    def score(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


def normalize(text: str) -> str:
    """Fold width and case, convert Traditional to Simplified Chinese, drop punctuation.

    Returns:
        The words of ``text`` separated by single spaces.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    simplified = _converter().convert(folded)
    return " ".join(_WORD.findall(simplified))


def terms(normalized: str) -> list[str]:
    """The terms of a normalized text: Chinese words and bigrams, English stems.

    A Chinese run yields its rjieba words, then (prefixed ``~``) its character bigrams,
    or the character itself when the run has one.
    """
    found: list[str] = []
    stemmer = _stemmer()
    for word in normalized.split(" "):
        if not word:
            continue
        position = 0
        for han in _HAN_RUN.finditer(word):
            found.extend(stemmer.stemWords(_latin_words(word[position : han.start()])))
            run = han.group()
            found.extend(rjieba.cut(run))
            if len(run) == 1:
                found.append("~" + run)
            found.extend("~" + run[i : i + 2] for i in range(len(run) - 1))
            position = han.end()
        found.extend(stemmer.stemWords(_latin_words(word[position:])))
    return found


def _latin_words(text: str) -> list[str]:
    return [text] if text else []


def _segmented(normalized: str) -> str:
    """The text with its Chinese cut into words, for rapidfuzz's token scorers."""
    return " ".join(t for t in terms(normalized) if not t.startswith("~"))


@dataclass(frozen=True)
class Phrasing:
    """One way customers ask an entry's question (any language)."""

    entry_id: str
    text: str


@dataclass
class _Indexed:
    entry: int  # position in FaqIndex.entry_ids
    terms: frozenset[str]
    weight: float  # the sum of its terms' idf
    segmented: str


@dataclass
class FaqIndex:
    """Everything precomputed for matching against one knowledge base."""

    entry_ids: list[str]
    phrasings: list[_Indexed]
    by_entry: list[list[int]]  # entry -> its phrasings
    postings: dict[str, list[int]]  # term -> phrasings using it
    idf: dict[str, float]
    unknown_idf: float  # a term no entry uses
    vocabulary: list[str]  # English terms, for typo mapping
    answer_postings: dict[str, list[int]]  # term -> entries whose answers use it
    answer_idf: dict[str, float]
    weights: Weights = field(default_factory=Weights)

    @classmethod
    def build(
        cls,
        phrasings: Iterable[Phrasing],
        answers: Iterable[Phrasing] = (),
        weights: Weights | None = None,
    ) -> FaqIndex:
        """Index the phrasings of a knowledge base.

        Args:
            phrasings: Every question phrasing of every enabled entry, any language.
            answers: The answers of those entries (any language), as phrasings.
            weights: How scores are combined; the measured defaults if None.
        """
        entry_ids: list[str] = []
        position: dict[str, int] = {}
        prepared: list[tuple[int, frozenset[str], str]] = []
        entries_using: dict[str, set[int]] = defaultdict(set)
        for phrasing in phrasings:
            entry = position.setdefault(phrasing.entry_id, len(entry_ids))
            if entry == len(entry_ids):
                entry_ids.append(phrasing.entry_id)
            normalized = normalize(phrasing.text)
            its_terms = frozenset(terms(normalized))
            for term in its_terms:
                entries_using[term].add(entry)
            prepared.append((entry, its_terms, _segmented(normalized)))
        count = len(entry_ids)
        idf = {
            term: math.log((count + 1) / (len(users) + 0.5))
            for term, users in entries_using.items()
        }
        unknown_idf = math.log((count + 1) / 0.5)
        indexed: list[_Indexed] = []
        postings: dict[str, list[int]] = defaultdict(list)
        by_entry: list[list[int]] = [[] for _ in entry_ids]
        for number, (entry, its_terms, segmented) in enumerate(prepared):
            by_entry[entry].append(number)
            indexed.append(
                _Indexed(entry, its_terms, sum(idf[t] for t in its_terms) or 1.0, segmented)
            )
            for term in its_terms:
                postings[term].append(number)
        answer_users: dict[str, set[int]] = defaultdict(set)
        for answer in answers:
            if answer.entry_id in position:
                for term in terms(normalize(answer.text)):
                    answer_users[term].add(position[answer.entry_id])
        answer_idf = {
            term: math.log((count + 1) / (len(users) + 0.5)) for term, users in answer_users.items()
        }
        vocabulary = sorted(
            t for t in idf.keys() | answer_idf.keys() if t.isascii() and len(t) >= _MIN_TYPO_LENGTH
        )
        return cls(
            entry_ids=entry_ids,
            phrasings=indexed,
            by_entry=by_entry,
            postings=dict(postings),
            idf=idf,
            unknown_idf=unknown_idf,
            vocabulary=vocabulary,
            answer_postings={t: sorted(users) for t, users in answer_users.items()},
            answer_idf=answer_idf,
            weights=weights or Weights(),
        )

    def _known(self, term: str) -> str:
        """The term itself if known, else the known English term it is a typo of."""
        if (
            term in self.idf
            or term in self.answer_idf
            or not term.isascii()
            or len(term) < _MIN_TYPO_LENGTH
        ):
            return term
        found = process.extractOne(
            term, self.vocabulary, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF
        )
        return found[0] if found else term

    def scores(self, text: str) -> list[Candidate]:
        """Every plausible entry with its score, best first."""
        normalized = normalize(text)
        query = {self._known(t) for t in terms(normalized)}
        if not query:
            return []
        query_weight = sum(self.idf.get(t, self.unknown_idf) for t in query)
        shared: dict[int, float] = defaultdict(float)
        for term in query:
            for number in self.postings.get(term, ()):
                shared[number] += self.idf[term]
        overlap_by_entry: dict[int, float] = defaultdict(float)
        for number, weight in shared.items():
            phrasing = self.phrasings[number]
            # The geometric mean of how much of each side the shared terms cover.
            overlap = weight / math.sqrt(query_weight * phrasing.weight)
            if overlap > overlap_by_entry[phrasing.entry]:
                overlap_by_entry[phrasing.entry] = overlap
        share, answer_share = self.weights.fuzzy, self.weights.answer
        in_answers: dict[int, float] = defaultdict(float)
        if answer_share > 0:
            answer_weight = sum(self.answer_idf.get(t, self.unknown_idf) for t in query)
            for term in query:
                for entry in self.answer_postings.get(term, ()):
                    in_answers[entry] += self.answer_idf[term] / answer_weight
        lexical = {
            entry: (1 - share - answer_share) * overlap_by_entry[entry]
            + answer_share * in_answers[entry]
            for entry in overlap_by_entry.keys() | in_answers.keys()
        }
        by_entry = dict(
            sorted(lexical.items(), key=lambda kv: kv[1], reverse=True)[: self.weights.shortlist]
        )
        segmented = " ".join(sorted(t for t in query if not t.startswith("~")))
        fuzzy_by_entry: dict[int, float] = defaultdict(float)
        if self.weights.fuzzy > 0:
            for entry in by_entry:
                fuzzy_by_entry[entry] = (
                    max(
                        fuzz.token_set_ratio(segmented, self.phrasings[number].segmented)
                        for number in self.by_entry[entry]
                    )
                    / 100
                )
        combined = [
            Candidate(
                self.entry_ids[entry], round(100 * (score + share * fuzzy_by_entry[entry]), 1)
            )
            for entry, score in by_entry.items()
        ]
        combined.sort(key=lambda c: c.score, reverse=True)
        return combined

    def match(self, text: str, thresholds: Thresholds) -> Match:
        """What the bot does with ``text``: answer, suggest or hand off."""
        return decide(self.scores(text), thresholds)


def decide(candidates: Sequence[Candidate], thresholds: Thresholds) -> Match:
    """Turn scored candidates (best first) into a decision."""
    plausible = [c for c in candidates if c.score >= thresholds.suggest]
    if not plausible:
        return Match(Decision.HANDOFF, tuple(candidates[:1]))
    runner_up = plausible[1].score if len(plausible) > 1 else 0.0
    best = plausible[0]
    if best.score >= thresholds.answer and best.score - runner_up >= thresholds.margin:
        return Match(Decision.ANSWER, (best,))
    return Match(Decision.SUGGEST, tuple(plausible[: thresholds.suggestions]))
