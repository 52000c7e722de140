"""The import rule of the team's style guide, enforced (import-linter runs in `make lint` too).

The guide is not in this repository: it is shared by the team's projects and lives beside
the checkout, at ``../shared/STYLE.md``. Its rule 1 reads: "Imports flow one way:
`bot/` → `handlers/` → `care/`. `care/` never imports `telegram`, `handlers` or `bot`:
it takes a session and plain values and returns plain values (dataclasses, enums). A
check in CI keeps it so." This is that check (and docs/architecture.md says the same).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "care": ("telegram", "handlers", "bot", "aiohttp", "httpx"),
    "handlers": ("bot",),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layers_import_only_downwards() -> None:
    offences = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in imported_modules(path):
                if name.split(".")[0] in forbidden:
                    offences.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offences == []


def test_the_check_catches_an_offence(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from telegram import Update\nimport bot.app\n", encoding="utf-8")
    assert {"telegram", "bot.app"} <= imported_modules(sample)
