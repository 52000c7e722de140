"""Greeting and follow-up texts: one template per key, one text per locale, in TOML.

The shipped book is ``care/templates/greetings.toml``; an operator may point
``CAREBOT_TEMPLATES_FILE`` at their own file of the same shape::

    [mid_autumn]
    zh_CN = "{name}，中秋快乐！…… —— {company}"
    en = "Happy Mid-Autumn Festival, {name}! … — {company}"

    [followup.after_resolution]    # dotted keys are nested tables in TOML
    zh_CN = "…"

Keys are occasion codes (``care.occasions``), ``birthday``, ``anniversary``,
``followup.*`` and ``greeting`` (any occasion without a text of its own; its name is
``{occasion}``). The placeholders are ``{name}`` (the customer's name), ``{company}`` and
``{occasion}`` (the occasion's name in the customer's language). Everything that can be
wrong with a file is found when it is loaded (:class:`TemplateError`), so a bad file
stops carebot at start-up rather than a greeting on Mid-Autumn night.

Rendering with a value missing or blank puts a neutral word in its place (see
:data:`NEUTRAL_WORDS`): "亲爱的朋友" / "Hi there", signed "您的客服团队" / "Your care
team", "这个特别的日子" / "this special day". Templates are written so these read well.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Formatter
from typing import Any

from care.locales import LOCALES

PLACEHOLDERS: frozenset[str] = frozenset({"name", "company", "occasion"})
# Telegram's limit for the text of one message.
MAX_TEXT_LENGTH = 4096

# What stands in for a value the caller does not have (a customer without a name).
NEUTRAL_WORDS: dict[str, dict[str, str]] = {
    "zh_CN": {"name": "朋友", "company": "您的客服团队", "occasion": "这个特别的日子"},
    "en": {"name": "there", "company": "Your care team", "occasion": "this special day"},
}

SHIPPED_FILE = "templates/greetings.toml"  # inside the ``care`` package


class TemplateError(Exception):
    """A template file cannot be used; the message names the file, key and locale."""


@dataclass(frozen=True)
class TemplateBook:
    """Every template, checked: key → locale → text."""

    texts: Mapping[str, Mapping[str, str]]
    default_locale: str
    source: str  # where the texts came from, for messages

    @classmethod
    def load(cls, path: str | Path | None = None, default_locale: str = "zh_CN") -> TemplateBook:
        """Read and check a template file.

        Args:
            path: a TOML file; None for the shipped ``care/templates/greetings.toml``.
            default_locale: the locale every key must have, used when the wanted
                locale has no text.

        Raises:
            TemplateError: the file cannot be read or is not TOML; a key has no text in
                the default locale; a text is empty or longer than 4096 characters, has
                malformed braces or a placeholder other than {name}, {company},
                {occasion}; a locale is not one of ours.
        """
        if default_locale not in LOCALES:
            raise TemplateError(
                f"the default locale {default_locale!r} is not one of {', '.join(LOCALES)}"
            )
        if path is None:
            source = f"care/{SHIPPED_FILE}"
            try:
                raw = resources.files("care").joinpath(SHIPPED_FILE).read_bytes()
            except OSError as exc:  # a broken installation
                raise TemplateError(f"{source}: cannot be read ({exc})") from None
        else:
            source = str(path)
            try:
                raw = Path(path).read_bytes()
            except OSError as exc:
                raise TemplateError(f"{source}: cannot be read ({exc.strerror})") from None
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise TemplateError(f"{source}: not UTF-8 text") from None
        except tomllib.TOMLDecodeError as exc:
            raise TemplateError(f"{source}: not valid TOML: {exc}") from None
        texts = _flatten(data, source)
        if not texts:
            raise TemplateError(f"{source}: no templates in it")
        for key, by_locale in texts.items():
            if default_locale not in by_locale:
                raise TemplateError(f"{source}: [{key}] has no {default_locale} text")
            for locale, text in by_locale.items():
                _check_text(text, f"{source}: [{key}] {locale}")
        return cls(texts, default_locale, source)

    def keys(self) -> tuple[str, ...]:
        """Every key, sorted."""
        return tuple(sorted(self.texts))

    def __contains__(self, key: object) -> bool:
        return key in self.texts

    def render(self, key: str, locale: str, values: Mapping[str, str]) -> str:
        """The text of ``key`` in ``locale`` (else the default locale), filled in.

        Args:
            key: an occasion code, ``birthday``, ``anniversary``, ``followup.…``.
            locale: the customer's locale, e.g. ``"en"``.
            values: ``name``, ``company`` and ``occasion``; a missing or blank one is
                replaced by a neutral word in the text's locale (``NEUTRAL_WORDS``).
                Other entries are ignored.

        Raises:
            KeyError: there is no template ``key``.
        """
        by_locale = self.texts.get(key)
        if by_locale is None:
            raise KeyError(f"no template {key!r} in {self.source}; known: {', '.join(self.keys())}")
        text_locale = locale if locale in by_locale else self.default_locale
        neutral = NEUTRAL_WORDS.get(text_locale, NEUTRAL_WORDS[self.default_locale])
        filled = {
            placeholder: (values.get(placeholder) or "").strip() or neutral[placeholder]
            for placeholder in PLACEHOLDERS
        }
        return by_locale[text_locale].format_map(filled)


def _flatten(data: Mapping[str, Any], source: str, prefix: str = "") -> dict[str, dict[str, str]]:
    """TOML tables to ``{"followup.win_back": {"zh_CN": …, "en": …}, …}``.

    A table holding strings is a template (its keys are locales); a table holding
    tables groups templates under a dotted key.
    """
    texts: dict[str, dict[str, str]] = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if not isinstance(value, dict):
            raise TemplateError(f"{source}: {key} is not a table of texts by locale")
        strings = {k: v for k, v in value.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in value.items() if isinstance(v, dict)}
        if strings and tables:
            raise TemplateError(f"{source}: [{key}] mixes texts and tables")
        if tables:
            texts.update(_flatten(tables, source, f"{key}."))
            continue
        for locale, text in strings.items():
            if locale not in LOCALES:
                raise TemplateError(
                    f"{source}: [{key}] {locale} is not a locale (use {', '.join(LOCALES)})"
                )
            if not isinstance(text, str):
                raise TemplateError(f"{source}: [{key}] {locale} is not a text")
        texts[key] = strings
    return texts


def _check_text(text: str, where: str) -> None:
    if not text.strip():
        raise TemplateError(f"{where} is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise TemplateError(
            f"{where} is {len(text)} characters long; a message holds {MAX_TEXT_LENGTH}"
        )
    try:
        parts = list(Formatter().parse(text))
    except ValueError as exc:  # "Single '}' encountered in format string"
        raise TemplateError(
            f"{where} has malformed braces ({exc}); write {{{{ and }}}} for a brace"
        ) from None
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in PLACEHOLDERS:
            raise TemplateError(
                f"{where} has an unknown placeholder {{{field}}}; the placeholders are "
                "{name}, {company} and {occasion} (write {{ and }} for a brace)"
            )
        if spec or conversion:
            raise TemplateError(f"{where}: write {{{field}}} without a format or conversion")
