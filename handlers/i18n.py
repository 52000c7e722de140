"""Words: gettext with the locale of the person being answered.

The locale lives in a context variable that the first handler of every update sets
(``use_locale``); each update runs in its own asyncio task, so concurrent updates never
see each other's locale. Catalogs are the ``.po`` files under ``locale/``, compiled in
memory when first used, so there are no binaries to keep in step with the sources.
"""

from __future__ import annotations

import contextvars
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from care.locales import LOCALES

LOCALE_DIR = Path(
    os.environ.get("CAREBOT_LOCALE_DIR", Path(__file__).resolve().parent.parent / "locale")
)
DOMAIN = "messages"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("carebot_locale", default="zh_CN")


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog for a locale (an empty one for a locale we do not ship)."""
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return GNUTranslations(buffer)


def load_all() -> None:
    """Compile every catalog now (at start-up) so a broken one fails early."""
    for locale in LOCALES:
        translations(locale)


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else LOCALES[0])


def current_locale() -> str:
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Speak ``locale`` inside the block (for jobs that write to many customers)."""
    token = _current.set(locale if locale in LOCALES else LOCALES[0])
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def gettext_in(locale: str, message: str) -> str:
    """Translate into a given locale, whatever the current one is."""
    return translations(locale).gettext(message)


def N_(message: str) -> str:
    """Mark a string for extraction; translate it later with ``gettext``."""
    return message
