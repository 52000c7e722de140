"""``carebot faq``: the knowledge base of FAQ answers (import, export, list, stats),
``match``, which shows exactly what the bot would do with a message, and ``misses`` and
``phrase``: the questions that went to a person, and teaching their wording to an entry."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import CareTyper, app, cli_settings, clock, err, fail, in_transaction, out
from care import faq, faq_teaching
from care.faq_files import FaqProblem, FileError, read_file, write_toml
from care.faq_match import Match
from care.faq_teaching import MissReason, PhrasingRefused, TeachProblem
from care.locales import LOCALES

faq_app = CareTyper(
    help=(
        "The FAQ knowledge base the bot answers from (TOML or CSV, zh_CN and en), its "
        "measures, and what the bot would do with a message (for tuning "
        "CAREBOT_FAQ_ANSWER_SCORE, CAREBOT_FAQ_ANSWER_MARGIN, CAREBOT_FAQ_SUGGEST_SCORE)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(faq_app, name="faq")

_PROBLEMS: dict[FaqProblem, str] = {
    FaqProblem.BROKEN_FILE: "the file cannot be read",
    FaqProblem.NO_ENTRIES: "no entries",
    FaqProblem.MISSING_ID: "no id",
    FaqProblem.BAD_ID: "the id must be lowercase letters, digits and '-' (at most 48)",
    FaqProblem.DUPLICATE_ID: "the id is used more than once",
    FaqProblem.UNKNOWN_LANGUAGE: f"unknown language (known: {', '.join(LOCALES)})",
    FaqProblem.UNKNOWN_FIELD: "unknown field",
    FaqProblem.NO_LANGUAGE: "no language table",
    FaqProblem.MISSING_QUESTIONS: "no question phrasings",
    FaqProblem.MISSING_ANSWER: "no answer",
    FaqProblem.ANSWER_TOO_LONG: "the answer is longer than Telegram's 4096 characters",
    FaqProblem.QUESTION_TOO_LONG: "a question phrasing is longer than 500 characters",
    FaqProblem.CONFLICTING_ANSWERS: "rows give different answers",
    FaqProblem.BAD_VALUE: "a field has the wrong type",
    FaqProblem.UNKNOWN_RELATED: "a related entry that does not exist",
}

LocaleOption = Annotated[
    str | None,
    typer.Option(
        "--locale",
        help="The customer's language (zh_CN or en): the answer is given in it. "
        "Default: CAREBOT_DEFAULT_LOCALE.",
    ),
]


def problem_in_words(error: FileError) -> str:
    detail = f" ({error.detail})" if error.detail else ""
    return f"{error.where}: {_PROBLEMS[error.problem]}{detail}"


@faq_app.command("import")
def faq_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="TOML or .csv")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and say what would change; change nothing.")
    ] = False,
) -> None:
    """Add the file's entries and update the entries whose id exists, keeping their
    measures; entries the file does not name are kept. All or nothing: any problem and
    nothing changes (every problem is listed)."""
    settings = cli_settings()
    parsed = read_file(file.name, file.read_bytes())
    now = clock().now()

    async def work(session: AsyncSession) -> faq.ImportOutcome:
        return await faq.import_entries(session, parsed, now, dry_run=dry_run)

    outcome = in_transaction(settings, work, commit=not dry_run)
    if not outcome.ok:
        for error in outcome.errors:
            err().print(problem_in_words(error), soft_wrap=True, markup=False)
        fail(f"Nothing imported: {len(outcome.errors)} problem(s) in {file.name}.")
    verb = "Would import" if dry_run else "Imported"
    out().print(
        f"{verb}: {len(outcome.created)} new, {len(outcome.updated)} updated, "
        f"{len(outcome.unchanged)} unchanged."
    )


@faq_app.command("export")
def faq_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Write the whole knowledge base as TOML (what faq import reads)."""
    settings = cli_settings()

    async def work(session: AsyncSession) -> str:
        return write_toml(faq.entry_data(row) for row in await faq.all_entries(session))

    text = in_transaction(settings, work, commit=False)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out().print(f"Written to {output}.")


@faq_app.command("list")
def faq_list() -> None:
    """Every entry: id, on or off, tags, languages, first phrasing."""
    settings = cli_settings()

    async def work(session: AsyncSession) -> tuple[list[faq.EntryData], set[str], bool]:
        rows = await faq.all_entries(session)
        off = {row.id for row in rows if not row.enabled}
        return [faq.entry_data(row) for row in rows], off, await faq.faq_enabled(session)

    entries, off, enabled = in_transaction(settings, work, commit=False)
    if not enabled:
        out().print("FAQ answers are switched off (/faq on in the staff group).")
    table = Table("id", "on", "tags", "languages", "question")
    for entry in entries:
        first = next(iter(entry.texts.values()))
        table.add_row(
            entry.id,
            "no" if entry.id in off else "yes",
            ", ".join(entry.tags),
            ", ".join(entry.texts),
            first.questions[0],
        )
    out().print(table)
    out().print(f"{len(entries)} entries.")


@faq_app.command("stats")
def faq_stats(
    days: Annotated[
        int | None, typer.Option("--days", min=1, help="Only the last DAYS days.")
    ] = None,
) -> None:
    """Deflection, helpful and hand-off rates, overall and per entry."""
    settings = cli_settings()
    since = clock().now() - timedelta(days=days) if days else None

    async def work(session: AsyncSession) -> faq.FaqStats:
        return await faq.faq_stats(
            session, since=since, quiet_after_answer=timedelta(minutes=settings.faq_quiet_minutes)
        )

    stats = in_transaction(settings, work, commit=False)
    table = Table(
        "entry", "answered", "suggested", "picked", "helpful", "ask a person", "deflected"
    )
    for row in [*stats.entries, stats.overall]:
        table.add_row(
            row.entry_id or "all",
            str(row.answered),
            str(row.suggested),
            str(row.picked),
            f"{row.helpful} {_percent(row.helpful_rate)}",
            f"{row.asked_person} {_percent(row.handoff_rate if row.entry_id else None)}",
            f"{row.deflected} {_percent(row.deflection_rate)}",
        )
    out().print(table)
    overall = stats.overall
    out().print(
        f"Handed off without an answer: {overall.handed_off}; hand-off rate "
        f"{_percent(overall.handoff_rate) or '-'} of the messages the FAQ saw."
    )


def _percent(rate: float | None) -> str:
    return f"({rate:.0%})" if rate is not None else ""


@faq_app.command("match")
def faq_match(
    text: Annotated[str | None, typer.Argument(help="A customer's message.")] = None,
    batch: Annotated[
        Path | None,
        typer.Option(
            "--batch", exists=True, dir_okay=False, help="One message per line (or JSON lines)."
        ),
    ] = None,
    locale: LocaleOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per message.")] = False,
    kb: Annotated[
        Path | None,
        typer.Option(
            "--kb",
            exists=True,
            dir_okay=False,
            help="Match against this knowledge-base file instead of the database's.",
        ),
    ] = None,
) -> None:
    """Show what the bot would do with a message: answer, suggest or hand off, with the
    scores (CAREBOT_FAQ_* thresholds)."""
    settings = cli_settings()
    if (text is None) == (batch is None):
        raise typer.BadParameter("give either TEXT or --batch FILE", param_hint="TEXT")
    if locale is not None and locale not in LOCALES:
        raise typer.BadParameter(f"one of {', '.join(LOCALES)}", param_hint="--locale")
    locale = locale or settings.default_locale
    book = _book(settings, kb)
    messages = [text] if text is not None else _batch_lines(batch)
    for message in messages:
        match = book.match(message)
        if as_json:
            sys.stdout.write(json.dumps(_as_json(message, match), ensure_ascii=False) + "\n")
        else:
            _print_match(book, message, match, locale)


def _book(settings: Any, kb: Path | None) -> faq.FaqBook:
    thresholds = settings.faq_thresholds()
    if kb is not None:
        parsed = read_file(kb.name, kb.read_bytes())
        if parsed.errors:
            for error in parsed.errors:
                err().print(problem_in_words(error), soft_wrap=True, markup=False)
            fail(f"{kb.name} has {len(parsed.errors)} problem(s).")
        return faq.FaqBook.of(parsed.entries, thresholds)

    async def work(session: AsyncSession) -> faq.FaqBook:
        return await faq.load_book(session, thresholds)

    book = in_transaction(settings, work, commit=False)
    if not book.entries:
        fail("The knowledge base is empty: carebot faq import FILE (or --kb FILE).")
    return book


def _batch_lines(path: Path | None) -> list[str]:
    assert path is not None
    messages = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                messages.append(str(json.loads(line)["q"]))
                continue
            except (ValueError, KeyError, TypeError):
                pass
        messages.append(line.strip())
    return messages


def _as_json(message: str, match: Match) -> dict[str, Any]:
    return {
        "q": message,
        "decision": match.decision.value,
        "id": match.entry_id,
        "score": match.score,
        "candidates": [{"id": c.entry_id, "score": c.score} for c in match.candidates],
    }


def _print_match(book: faq.FaqBook, message: str, match: Match, locale: str) -> None:
    console = out()
    console.print(f"[bold]{match.decision.value}[/bold]  {message}", soft_wrap=True)
    for candidate in match.candidates:
        title = book.title(candidate.entry_id, locale)
        console.print(
            f"  {candidate.score:5.1f}  {candidate.entry_id}  {title}",
            markup=False,
            soft_wrap=True,
        )
    if match.entry_id is not None and match.decision.value == "answer":
        answer = book.answer(match.entry_id, locale)
        if answer is not None:
            console.print(answer.answer, markup=False, soft_wrap=True)


_REASONS = {
    MissReason.NO_MATCH: "no entry fitted",
    MissReason.NONE_FITTED: "none of the suggestions",
    MissReason.NOT_HELPFUL: "asked a person after an answer",
}


@faq_app.command("misses")
def faq_misses(
    days: Annotated[int, typer.Option("--days", min=1, help="The last DAYS days.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per wording.")] = False,
) -> None:
    """The questions that went to a person (no entry fitted, "none of these", "ask a
    person" after an answer), newest first, one per wording, with the entries the bot
    finds likeliest now: teach one with [bold]carebot faq phrase ENTRY_ID "text"[/bold].
    Wordings taught since are left out (counted)."""
    settings = cli_settings()
    since = clock().now() - timedelta(days=days)
    thresholds = settings.faq_thresholds()

    async def work(session: AsyncSession) -> faq_teaching.Misses:
        book = await faq.load_book(session, thresholds)
        return await faq_teaching.recent_misses(session, book, since, settings.default_locale)

    found = in_transaction(settings, work, commit=False)
    if as_json:
        for miss in found.misses:
            sys.stdout.write(json.dumps(_miss_json(miss), ensure_ascii=False) + "\n")
        return
    table = Table("last asked", "times", "locale", "question", "why", "now", "likeliest entries")
    for miss in found.misses:
        assert miss.last_at is not None
        table.add_row(
            miss.last_at.strftime("%Y-%m-%d %H:%M"),
            str(miss.count),
            miss.locale,
            miss.question,
            "; ".join(_REASONS[reason] for reason in sorted(miss.reasons))
            + (f" ({', '.join(sorted(miss.given))})" if miss.given else ""),
            miss.decision.value,
            ", ".join(f"{c.entry_id} {c.score:.0f}" for c in miss.candidates) or "-",
        )
    out().print(table)
    out().print(
        f"{len(found.misses)} wording(s) in the last {days} day(s); {found.taught} more "
        "taught since."
    )


def _miss_json(miss: faq_teaching.Miss) -> dict[str, Any]:
    return {
        "q": miss.question,
        "locale": miss.locale,
        "count": miss.count,
        "last_at": miss.last_at.isoformat() if miss.last_at else None,
        "reasons": sorted(reason.value for reason in miss.reasons),
        "given": sorted(miss.given),
        "decision": miss.decision.value,
        "candidates": [{"id": c.entry_id, "score": c.score} for c in miss.candidates],
    }


_REFUSED = {
    TeachProblem.UNKNOWN_ENTRY: "there is no entry {id}",
    TeachProblem.EMPTY: "the text has no words",
    TeachProblem.TOO_LONG: "a question phrasing is longer than 500 characters",
    TeachProblem.NO_LANGUAGE: "entry {id} has no {locale} text (its languages: {languages})",
    TeachProblem.DUPLICATE: "entry {other} has this phrasing already",
}


@faq_app.command("phrase")
def faq_phrase(
    entry_id: Annotated[str, typer.Argument(help="The entry that answers it.")],
    text: Annotated[str, typer.Argument(help="The question as customers ask it.")],
    locale: Annotated[
        str | None,
        typer.Option(
            "--locale",
            help="Add it to the entry's zh_CN or en phrasings. Default: Chinese characters "
            "make it zh_CN, else en.",
        ),
    ] = None,
) -> None:
    """Add a question phrasing to an entry (as [bold]/faq same[/bold] does in Telegram):
    customers who ask that way get the entry's answer from now on, in every running
    instance."""
    settings = cli_settings()
    if locale is not None and locale not in LOCALES:
        raise typer.BadParameter(f"one of {', '.join(LOCALES)}", param_hint="--locale")
    chosen = locale or faq_teaching.locale_of_text(text)
    now = clock().now()

    async def work(session: AsyncSession) -> faq_teaching.Taught | str:
        try:
            return await faq_teaching.add_phrasing(
                session, entry_id, text, now, locale=chosen, strict=True
            )
        except PhrasingRefused as error:
            row = await faq.get_entry(session, entry_id)
            return _REFUSED[error.problem].format(
                id=entry_id, other=error.entry_id, locale=chosen,
                languages=", ".join(row.texts) if row is not None else "",
            )  # fmt: skip

    done = in_transaction(settings, work)
    if isinstance(done, str):
        fail(f"Nothing added: {done}.")
    out().print(
        f"Added to {done.entry_id} ({done.locale}): {done.phrasing}", markup=False, soft_wrap=True
    )
