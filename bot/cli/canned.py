"""``carebot canned add|list|remove``: the canned answers staff send with ``/c <name>``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import CareTyper, app, cli_settings, clock, fail, in_transaction, out
from care import canned
from care.canned import CannedError, CannedProblem
from care.locales import LOCALES, locale_for_language_code

canned_app = CareTyper(
    help="Canned answers: short saved answers staff send with /c <name>, one text per language.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(canned_app, name="canned")

PROBLEMS = {
    CannedProblem.BAD_NAME: (
        "A name is 1 to 32 letters a-z, digits or _, starting with a letter or digit."
    ),
    CannedProblem.EMPTY: "The text is empty.",
    CannedProblem.TOO_LONG: f"The text is too long ({canned.TEXT_LIMIT} characters at most).",
    CannedProblem.BAD_PLACEHOLDER: (
        "The text may hold {name} (the customer's name) and no other {...}; "
        "write {{ and }} for braces."
    ),
}

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="e.g. refund_policy")]


def _locale(typed: str) -> str:
    locale = locale_for_language_code(typed, "")
    if locale not in LOCALES:
        fail(f"{typed} is not a language carebot speaks: {', '.join(LOCALES)}.", code=2)
    return locale


@canned_app.command("add")
def canned_add(
    name: NameArgument,
    language: Annotated[str, typer.Argument(metavar="LANGUAGE", help="zh_CN or en")],
    text: Annotated[
        str | None,
        typer.Argument(
            metavar="[TEXT]",
            help="The answer; {name} becomes the customer's name. Not given (or -): read "
            "from standard input, for answers of several lines.",
        ),
    ] = None,
) -> None:
    """Save a canned answer's text in one language (replacing the one there was)."""
    settings = cli_settings()
    locale = _locale(language)
    words = sys.stdin.read() if text in (None, "-") else text
    assert words is not None
    now = clock().now()

    async def work(session: AsyncSession) -> canned.Saved:
        return await canned.save(session, name, locale, words, None, now)

    try:
        saved = in_transaction(settings, work)
    except CannedError as error:
        fail(PROBLEMS[error.problem], code=2)
    verb = "replaced" if saved.replaced else "saved"
    out().print(Text(f"Canned answer {saved.answer.name} ({locale}) {verb}."))


@canned_app.command("list")
def canned_list() -> None:
    """List the canned answers, a line per language."""
    settings = cli_settings()

    async def work(session: AsyncSession) -> list[tuple[str, str, str]]:
        return [(a.name, a.language, a.text) for a in await canned.all_answers(session)]

    answers = in_transaction(settings, work, commit=False)
    if not answers:
        out().print("No canned answers yet. Add one with: carebot canned add NAME LANGUAGE TEXT")
        return
    table = Table()
    table.add_column("Name")
    table.add_column("Language")
    table.add_column("Text")
    for name, language, text in answers:
        table.add_row(name, language, Text(text))
    out().print(table)


@canned_app.command("remove")
def canned_remove(
    name: NameArgument,
    language: Annotated[
        str | None,
        typer.Option("--language", "-l", help="Only this language's text (default: all)."),
    ] = None,
) -> None:
    """Remove a canned answer (every language, or one)."""
    settings = cli_settings()
    locale = _locale(language) if language is not None else None

    async def work(session: AsyncSession) -> int:
        return await canned.remove(session, name, locale)

    if not in_transaction(settings, work):
        fail(f"There is no canned answer {name.lower()}" + (f" in {locale}." if locale else "."))
    out().print(Text(f"Canned answer {name.lower()} removed."))
