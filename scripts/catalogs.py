"""Re-extract user-facing strings and bring the catalogs up to date.

`make catalogs` runs this: it writes locale/messages.pot, updates the zh_CN and en
catalogs (new strings arrive empty in zh_CN for a translator; English is the source
language, so en gets each new string as its own translation), and lists what is left
to translate. See docs/i18n.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _strings(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


def main() -> int:
    pot = ROOT / "locale" / "messages.pot"
    subprocess.run(
        [
            str(BIN / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "--no-location",
            "--sort-output",
            "--project",
            "carebot",
            "--copyright-holder",
            "carebot",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    template = read_po(pot.open("rb"))
    untranslated = 0
    for locale in ("zh_CN", "en"):
        path = ROOT / "locale" / locale / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as po_file:
            catalog = read_po(po_file, locale=locale)
        catalog.update(template, no_fuzzy_matching=True)
        for message in catalog:
            if not message.id:
                continue
            if locale == "en" and not any(_strings(message.string)):
                message.string = message.id
            if not all(_strings(message.string)):
                untranslated += 1
                print(f"{locale}: untranslated: {message.id!r}")
        with path.open("wb") as po_file:
            write_po(
                po_file,
                catalog,
                width=100,
                sort_output=True,
                no_location=True,
                ignore_obsolete=True,
            )
    print("catalogs updated" + (f"; {untranslated} strings to translate" if untranslated else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
