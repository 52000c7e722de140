"""Which of our locales fits a customer, from what Telegram tells us."""

from __future__ import annotations

LOCALES: tuple[str, ...] = ("zh_CN", "en")


def locale_for_language_code(language_code: str | None, default: str) -> str:
    """Map Telegram's IETF ``language_code`` ("zh-hans", "en-US") to one of ``LOCALES``.

    Babel's negotiation does not map script subtags such as ``zh-hans``; we do it by
    hand. Every Chinese variant gets ``zh_CN`` (the only Chinese catalog we ship),
    every English one ``en``; anything else the configured default.
    """
    if not language_code:
        return default
    primary = language_code.strip().lower().replace("_", "-").split("-")[0]
    if primary == "zh":
        return "zh_CN"
    if primary == "en":
        return "en"
    return default
