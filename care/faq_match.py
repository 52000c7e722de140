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
combined with a weight chosen by measurement (``bench/faq.py``). An English word of the
message that no phrasing uses stands for the phrasings' words WordNet relates to it
(``care.faq_words``: synonyms, definitions, broader words), weighted by how close the
relation is. The score of an entry is
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

import numpy as np
import opencc
import rjieba
import snowballstemmer
from rapidfuzz import fuzz, process

from care.faq_words import Lookup, Relations, WordNetRelations, wordnet

# A run of Han characters (CJK unified ideographs and extension A), or of letters/digits.
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_WORD = re.compile(r"[^\W_]+")
_ENGLISH_WORD = re.compile(r"[a-z]{3,}")
# A Han run, or a run of anything else but spaces (a normalized text has no punctuation).
_PIECE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[^\s\u3400-\u4dbf\u4e00-\u9fff]+")
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

    answer: float = 30.0
    margin: float = 12.0
    suggest: float = 18.0
    suggestions: int = 3


@dataclass(frozen=True)
class Weights:
    """How the scores are combined (chosen by ``bench/faq.py``, not by taste).

    Attributes:
        fuzzy: The share of rapidfuzz's token-set ratio in the score; the rest is the
            weighted term overlap.
        answer: The share of the message's terms found in an entry's answers (the
            answers name things customers ask about that no phrasing mentions).
        related: How much a knowledge-base word related to a message's word counts
            (``care.faq_words``), against 1 for the word itself; only for English words
            no phrasing uses. 0: not at all.
        shortlist: How many entries, best by term overlap, are scored with rapidfuzz.
    """

    fuzzy: float = 0.2
    answer: float = 0.3
    related: float = 1.0
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


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """The word's English stem (the pure-Python stemmer is slow; words repeat)."""
    return str(_stemmer().stemWord(word))


@lru_cache(maxsize=1)
def wordnet_relations() -> Relations | None:
    """English words related by WordNet, or None when its files are not installed."""
    found = wordnet()
    return WordNetRelations(found, _stem) if found else None


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
    for piece in _PIECE.findall(normalized):
        if not _HAN_RUN.match(piece):
            found.append(_stem(piece))
            continue
        found.extend(rjieba.cut(piece))
        if len(piece) == 1:
            found.append("~" + piece)
        found.extend("~" + piece[i : i + 2] for i in range(len(piece) - 1))
    return found


def _segmented(normalized: str) -> str:
    """The text with its Chinese cut into words, for rapidfuzz's token scorers."""
    return " ".join(t for t in terms(normalized) if not t.startswith("~"))


@dataclass(frozen=True)
class Phrasing:
    """One way customers ask an entry's question (any language)."""

    entry_id: str
    text: str


@dataclass
class FaqIndex:
    """Everything precomputed for matching against one knowledge base.

    Phrasings sit in slots: an entry's n-th phrasing in row n of ``width`` rows of one slot
    per entry, so that the best phrasing of every entry is an element-wise max over the
    rows (contiguous: several times faster than a max along short rows per entry).
    """

    entry_ids: list[str]
    width: int  # rows of slots: entry e's n-th phrasing is slot n * len(entry_ids) + e
    sizes: list[int]  # entry -> how many phrasings it has
    inverse_root_weight: np.ndarray  # slot -> 1 / sqrt(the sum of its terms' idf); 0: empty
    segmented: list[str]  # slot -> its words, for rapidfuzz
    postings: dict[str, np.ndarray]  # term -> slots of the phrasings using it
    idf: dict[str, float]
    unknown_idf: float  # a term no entry uses
    vocabulary: dict[str, list[str]]  # English terms by their first letter, for typos
    answer_postings: dict[str, np.ndarray]  # term -> entries whose answers use it
    answer_idf: dict[str, float]
    weights: Weights = field(default_factory=Weights)
    related: Lookup | None = None  # English word -> related knowledge-base words

    @classmethod
    def build(
        cls,
        phrasings: Iterable[Phrasing],
        answers: Iterable[Phrasing] = (),
        weights: Weights | None = None,
        relations: Relations | None = None,
    ) -> FaqIndex:
        """Index the phrasings of a knowledge base.

        Args:
            phrasings: Every question phrasing of every enabled entry, any language.
            answers: The answers of those entries (any language), as phrasings.
            weights: How scores are combined; the measured defaults if None.
            relations: Where related English words come from (used when
                ``weights.related`` is not 0); WordNet's if None.
        """
        phrasings, answers = list(phrasings), list(answers)
        weights = weights or Weights()
        grouped: dict[str, list[str]] = defaultdict(list)
        for phrasing in phrasings:
            grouped[phrasing.entry_id].append(phrasing.text)
        entry_ids = list(grouped)
        position = {entry_id: n for n, entry_id in enumerate(entry_ids)}
        # Entry e's n-th phrasing is slot n * count + e (the rows past its last phrasing
        # empty there), so the best phrasing of every entry is one max over the rows.
        width = max((len(texts) for texts in grouped.values()), default=1)
        prepared: dict[int, tuple[frozenset[str], str]] = {}
        entries_using: dict[str, set[int]] = defaultdict(set)
        for entry, entry_id in enumerate(entry_ids):
            for number, text in enumerate(grouped[entry_id]):
                normalized = normalize(text)
                its_terms = frozenset(terms(normalized))
                for term in its_terms:
                    entries_using[term].add(entry)
                prepared[number * len(entry_ids) + entry] = (its_terms, _segmented(normalized))
        count = len(entry_ids)
        idf = {t: math.log((count + 1) / (len(users) + 0.5)) for t, users in entries_using.items()}
        postings: dict[str, list[int]] = defaultdict(list)
        inverse_root_weight = np.zeros(count * width)
        segmented = [""] * (count * width)
        for slot, (its_terms, segmented_text) in prepared.items():
            for term in its_terms:
                postings[term].append(slot)
            inverse_root_weight[slot] = 1 / math.sqrt(sum(idf[t] for t in its_terms) or 1.0)
            segmented[slot] = segmented_text
        answer_users: dict[str, set[int]] = defaultdict(set)
        for answer in answers:
            if answer.entry_id in position:
                for term in terms(normalize(answer.text)):
                    answer_users[term].add(position[answer.entry_id])
        answer_idf = {
            t: math.log((count + 1) / (len(users) + 0.5)) for t, users in answer_users.items()
        }
        related = None
        if relations is None and weights.related > 0:
            relations = wordnet_relations()
        if relations is not None and weights.related > 0:
            related = relations.lookup(
                word
                for phrasing in phrasings
                for word in _ENGLISH_WORD.findall(normalize(phrasing.text))
            )
        vocabulary: dict[str, list[str]] = defaultdict(list)
        for term in sorted(idf.keys() | answer_idf.keys()):
            if term.isascii() and len(term) >= _MIN_TYPO_LENGTH:
                vocabulary[term[0]].append(term)
        return cls(
            entry_ids=entry_ids,
            width=width,
            sizes=[len(grouped[entry_id]) for entry_id in entry_ids],
            inverse_root_weight=inverse_root_weight,
            segmented=segmented,
            postings={t: np.array(sorted(p), dtype=np.intp) for t, p in postings.items()},
            idf=idf,
            unknown_idf=math.log((count + 1) / 0.5),
            vocabulary=dict(vocabulary),
            answer_postings={
                t: np.array(sorted(users), dtype=np.intp) for t, users in answer_users.items()
            },
            answer_idf=answer_idf,
            weights=weights,
            related=related,
        )

    def _known(self, term: str) -> str:
        """The term itself if known, else the known English term it is a typo of (typos
        seldom change the first letter: only words with the same one are tried)."""
        if (
            term in self.idf
            or term in self.answer_idf
            or not term.isascii()
            or len(term) < _MIN_TYPO_LENGTH
        ):
            return term
        found = process.extractOne(
            term, self.vocabulary.get(term[0], []), scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF
        )
        return found[0] if found else term

    def scores(self, text: str) -> list[Candidate]:
        """The plausible entries with their scores, best first (at most ``shortlist``)."""
        if not self.entry_ids:
            return []
        normalized = normalize(text)
        query = {self._known(t) for t in terms(normalized)}
        known = [t for t in query if t in self.postings]
        stand_ins, replaced = self._stand_ins(normalized, query)
        if not known and not stand_ins:
            return []
        query_weight = sum(replaced.get(t, self.idf.get(t, self.unknown_idf)) for t in query)
        used = known + list(stand_ins)
        shared = _weighted_counts(
            [self.postings[t] for t in used],
            [self.idf[t] for t in known] + [self.idf[t] * s for t, s in stand_ins.items()],
            len(self.segmented),
        )
        # Per phrasing, the geometric mean of how much of each side the shared terms
        # cover; per entry, its best phrasing's.
        overlap = (shared * self.inverse_root_weight).reshape(self.width, -1).max(axis=0)
        share, answer_share = self.weights.fuzzy, self.weights.answer
        lexical = ((1 - share - answer_share) / math.sqrt(query_weight)) * overlap
        in_answers = [t for t in query if t in self.answer_postings]
        if answer_share > 0 and in_answers:
            answer_weight = sum(self.answer_idf.get(t, self.unknown_idf) for t in query)
            lexical += (answer_share / answer_weight) * _weighted_counts(
                [self.answer_postings[t] for t in in_answers],
                [self.answer_idf[t] for t in in_answers],
                len(self.entry_ids),
            )
        size = min(self.weights.shortlist, len(lexical))
        shortlist = [
            e for e in np.argpartition(-lexical, size - 1)[:size].tolist() if lexical[e] > 0
        ]
        if not shortlist:
            return []
        scores = lexical[shortlist]
        if share > 0:
            # rapidfuzz over the shortlisted entries' phrasings in one call.
            count = len(self.entry_ids)
            spans = [range(e, e + self.sizes[e] * count, count) for e in shortlist]
            phrasings = [self.segmented[n] for span in spans for n in span]
            words = " ".join(sorted(t for t in query if not t.startswith("~")))
            ratios = process.cdist([words], phrasings, scorer=fuzz.token_set_ratio)[0]
            firsts = np.cumsum([0] + [len(span) for span in spans[:-1]])
            scores = scores + share * np.maximum.reduceat(ratios, firsts) / 100
        found = [
            Candidate(self.entry_ids[entry], round(100 * float(score), 1))
            for entry, score in zip(shortlist, scores, strict=True)
        ]
        found.sort(key=lambda c: c.score, reverse=True)
        return found

    def _stand_ins(
        self, normalized: str, query: set[str]
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Phrasing terms related to the message's English words that no phrasing uses.

        Returns:
            The related terms with their weight (strength times ``Weights.related``), and
            for each word that has some, what it weighs in the message: the weight of
            its weightiest related term instead of that of a word nobody uses.
        """
        if self.related is None:
            return {}, {}
        found: dict[str, float] = {}
        replaced: dict[str, float] = {}
        for word in set(_ENGLISH_WORD.findall(normalized)):
            stem = self._known(_stem(word))
            if stem in self.postings:
                continue
            for other, strength in self.related(word):
                term = _stem(other)
                if term in self.postings and term not in query:
                    found[term] = max(found.get(term, 0.0), strength * self.weights.related)
                    replaced[stem] = max(replaced.get(stem, 0.0), self.idf[term])
        return found, replaced

    def match(self, text: str, thresholds: Thresholds) -> Match:
        """What the bot does with ``text``: answer, suggest or hand off."""
        return decide(self.scores(text), thresholds)


def _weighted_counts(postings: list[np.ndarray], weights: list[float], size: int) -> np.ndarray:
    """For each of ``size`` items, the sum of the weights of the postings naming it."""
    return np.bincount(
        np.concatenate(postings),
        weights=np.repeat(weights, [len(p) for p in postings]),
        minlength=size,
    )


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
