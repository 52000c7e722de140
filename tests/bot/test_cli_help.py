"""Every ``carebot ... --help`` reads well: no ``<bool>`` after a flag, no sentence broken
where the source's docstring happened to break its line.

The help is rendered on a very wide terminal: there nothing needs wrapping, so any line
break inside a sentence comes from the text itself and would break it mid-sentence at
every other width too.
"""

from __future__ import annotations

import itertools

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import app

WIDE = "1000"
# A line break is fine after these (the end of a sentence or of a list item).
ENDS = (".", ":", ";", "!", "?", ")")


def command_paths() -> list[tuple[str, ...]]:
    """Every group and command of ``carebot``, as the words typed to reach it."""
    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def broken_wraps(output: str) -> list[str]:
    """Lines of prose that run on into the next line without ending a sentence."""
    problems: list[str] = []
    lines = output.splitlines()
    prose = [line.strip() for line in lines if not line.startswith(("╭", "│", "╰"))]
    for line, following in itertools.pairwise(prose):
        if line and following and not line.startswith("Usage:") and not line.endswith(ENDS):
            problems.append(f"{line!r} runs on into {following!r}")
    # In a panel, a row that starts far right of the others (its name columns empty)
    # continues the row above: on this width a break from the source, except typer's own
    # [default: …] and [env var: …] lines.
    rows = [line.strip("│").rstrip() for line in lines if line.startswith("│")]
    indents = [len(row) - len(row.lstrip()) for row in rows if row.strip()]
    for row in rows:
        indent = len(row) - len(row.lstrip())
        if row.strip() and indent > min(indents) + 8 and not row.lstrip().startswith("["):
            problems.append(f"a panel row continues: {row.strip()!r}")
    return problems


@pytest.mark.parametrize("path", command_paths(), ids=lambda path: " ".join(path) or "carebot")
def test_help_has_no_bool_placeholder_and_no_broken_line(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": WIDE})

    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert broken_wraps(result.output) == []


def test_the_check_sees_a_broken_wrap() -> None:
    """The check above would see the wrap issue 9 saw in `carebot followups --help`."""
    broken = (
        " Usage: carebot followups [OPTIONS]\n\n"
        " Follow-ups and personal greetings due in the last and\n"
        " next DAYS days, by rule and state.\n"
    )
    assert len(broken_wraps(broken)) == 1
    listed = (
        "│ followups  Follow-ups due in the last and  │\n"
        "│            next DAYS days.                 │\n"
    )
    assert len(broken_wraps(listed)) == 1
