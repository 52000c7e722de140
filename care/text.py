"""Text from people made storable: no lone surrogates, no NUL characters, within bounds."""

from __future__ import annotations

import re

# UTF-16 surrogates: valid in JSON escapes ("\\ud83d") and Python strings, but a lone one
# cannot be encoded in UTF-8, so no database can store it. (JSON decodes a pair into the
# one character it stands for, so any surrogate left in a string is a lone one.)
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(text: str) -> str:
    """Return ``text`` with every lone surrogate replaced by U+FFFD (the replacement
    character) and NUL characters dropped (PostgreSQL refuses them), so it can be
    stored; the rest of the person's words are kept."""
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    return _SURROGATE.sub("\ufffd", text).replace("\x00", "")


def clip(text: str, length: int | None) -> str:
    """Cut ``text`` to at most ``length`` characters (None: no bound), ending in "…"."""
    if length is None or len(text) <= length:
        return text
    return text[: length - 1] + "…"
