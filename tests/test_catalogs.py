"""The zh_CN and en catalogs are complete and match the code's strings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from handlers.i18n import gettext_in

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"{(\w+)(?::[^}]*)?}")


def code_messages() -> set[str]:
    found: set[str] = set()
    for package in ("handlers", "bot"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package,
            method_map=[("**.py", "python")],
            keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
        ):
            found.update([message] if isinstance(message, str) else message)
    return found


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_catalog_is_complete_and_in_step_with_the_code(locale: str) -> None:
    path = ROOT / "locale" / locale / "LC_MESSAGES" / "messages.po"
    catalog = read_po(path.open("rb"), locale=locale)
    ids: set[str] = set()
    strings: dict[str, str] = {}
    for m in catalog:
        if not m.id:
            continue
        # A plural message has a (singular, plural) id and one string per plural form.
        msgids = m.id if isinstance(m.id, tuple) else (m.id,)
        msgstrs = m.string if isinstance(m.string, tuple) else (m.string,)
        ids.update(msgids)
        for msgid in msgids:
            strings[msgid] = msgstrs[0] if len(msgstrs) == 1 else msgstrs[msgids.index(msgid)]
    missing = code_messages() - ids
    assert not missing, f"run `make catalogs`: not in {locale}: {sorted(missing)}"
    untranslated = [i for i, s in strings.items() if not s]
    assert not untranslated, f"untranslated in {locale}: {untranslated}"
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy in {locale}: {fuzzy}"
    for msgid, msgstr in strings.items():
        assert isinstance(msgid, str) and isinstance(msgstr, str)
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(msgstr)), msgid


def test_chinese_is_really_chinese() -> None:
    assert gettext_in("zh_CN", "Skip") == "跳过"
    assert gettext_in("en", "Skip") == "Skip"
