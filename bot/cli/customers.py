"""``carebot import customers`` and ``carebot export customer``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import (
    cli_settings,
    clock,
    err,
    export_app,
    fail,
    import_app,
    in_transaction,
    out,
    progress_bar,
)
from care.importing import COLUMNS, ImportProblem, ImportResult, RowError, import_customers
from care.models import CustomerType
from care.records import CustomerNotFound, export_customer, find_customer_id

# How many import problems are listed before "... and N more".
MAX_LISTED_PROBLEMS = 100


_PROBLEM_WORDS: dict[ImportProblem, str] = {
    ImportProblem.EMPTY_FILE: "the file is empty; it needs a header row",
    ImportProblem.NOT_UTF8: (
        'not UTF-8 text; save the file as "CSV UTF-8" (Excel in Chinese saves GBK)'
    ),
    ImportProblem.MALFORMED_CSV: "not valid CSV from here on (a stray quote?)",
    ImportProblem.UNKNOWN_COLUMN: "unknown column; the columns are " + ", ".join(COLUMNS),
    ImportProblem.DUPLICATE_COLUMN: "this column appears twice in the header",
    ImportProblem.MISSING_COLUMN: "the header has no telegram_user_id column (it is required)",
    ImportProblem.TOO_MANY_CELLS: "more cells than the header has columns",
    ImportProblem.MISSING_VALUE: "empty; every row needs a Telegram user id",
    ImportProblem.NOT_A_USER_ID: "not a Telegram user id (a positive whole number)",
    ImportProblem.DUPLICATE_USER_ID: "this Telegram user id is already on row {first_row}",
    ImportProblem.TOO_LONG: "longer than 128 characters",
    ImportProblem.NOT_A_PHONE: "not a phone number (give it with its country code: +86 138…)",
    ImportProblem.UNKNOWN_LANGUAGE: "not a language we speak (zh_CN or en)",
    ImportProblem.BIRTHDAY_UNREADABLE: (
        "not a birthday we can read (1990-05-20, 5月20日, 农历八月十五, lunar 8-15)"
    ),
    ImportProblem.BIRTHDAY_NO_SUCH_DATE: "there is no such date",
    ImportProblem.BIRTHDAY_IN_FUTURE: "a birthday in the future",
    ImportProblem.BIRTHDAY_TOO_OLD: "more than 120 years ago",
    ImportProblem.UNKNOWN_CUSTOMER_TYPE: (
        "not a customer type; use one of " + ", ".join(kind.value for kind in CustomerType)
    ),
    ImportProblem.NOT_YES_OR_NO: "not yes or no (yes/no, true/false, 1/0, 是/否)",
    ImportProblem.UNKNOWN_TIMEZONE: "not an IANA time zone (e.g. Asia/Shanghai)",
    ImportProblem.BAD_TAG: (
        "not tags: words of letters, digits, '.', '-' or '_' (at most 32 characters each), "
        "separated by ';' or spaces"
    ),
}


def problem_in_words(error: RowError) -> str:
    """What an import problem means, for the operator."""
    return _PROBLEM_WORDS[error.problem].format(first_row=error.first_row)


@import_app.command("customers")
def import_customers_command(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE.csv",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The CSV file: UTF-8 (a BOM is fine), comma-separated, with a header row.",
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Check the file and count what would be created and updated; write nothing.",
        ),
    ] = False,
) -> None:
    """Create and update customers from a CSV file; all or nothing.

    The header names the columns, in any order; only telegram_user_id is required:

    \b
    [bold]telegram_user_id[/] a positive number, once per file;
    [bold]first_name[/], [bold]last_name[/];
    [bold]phone[/] 138 0013 8000, or +86 138 0013 8000 from elsewhere (CAREBOT_PHONE_REGION);
    [bold]language[/] zh_CN or en (zh, zh-hans, en-US are understood);
    [bold]birthday[/] solar or lunar: 1990-05-20, 5月20日, 农历八月十五, 农历闰四月初八;
    [bold]customer_type[/] potential, intending, signed, one_time, occasional or regular;
    [bold]consent[/] to care messages: yes/no, true/false, 1/0, 是/否 (empty is no);
    [bold]timezone[/] an IANA zone such as Asia/Shanghai.

    Customers whose Telegram user id is already known are updated (an empty cell keeps
    what we have, except consent); the others are created. The whole file is checked
    first: if any row has a problem, every problem is listed by row and column and
    nothing is imported (exit code 1). See docs/examples/customers.csv.
    """
    settings = cli_settings()
    system_clock = clock()
    try:
        source = file.open("rb")
    except OSError as exc:
        fail(f"Cannot read {file}: {exc.strerror}")
    with source, progress_bar() as progress:
        task = progress.add_task("Importing customers", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        async def work(session: AsyncSession) -> ImportResult:
            return await import_customers(
                session, source, system_clock, progress=advance, phone_region=settings.phone_region
            )

        result = in_transaction(settings, work, commit=not dry_run)
    if result.errors:
        _report_problems(result.errors, file)
        raise typer.Exit(1)
    if dry_run:
        out().print(
            f"Dry run: {result.created} would be created, {result.updated} updated; "
            "nothing was written."
        )
    else:
        out().print(f"{result.created} created, {result.updated} updated.")


def _report_problems(errors: list[RowError], file: Path) -> None:
    table = Table(title=f"Problems in {file.name}", title_justify="left")
    table.add_column("Row", justify="right")
    table.add_column("Column")
    table.add_column("Problem")
    table.add_column("Value")
    for error in errors[:MAX_LISTED_PROBLEMS]:
        # Text, not str: a cell must never be read as rich markup.
        table.add_row(
            str(error.row),
            Text(error.column or ""),
            Text(problem_in_words(error)),
            Text(error.value or ""),
        )
    console = err()
    console.print(table)
    if len(errors) > MAX_LISTED_PROBLEMS:
        console.print(f"… and {len(errors) - MAX_LISTED_PROBLEMS} more.")
    rows = len({error.row for error in errors})
    err().print(
        Text(f"Nothing was imported: {len(errors)} problem(s) in {rows} row(s).", style="red"),
        soft_wrap=True,
    )


@export_app.command("customer")
def export_customer_command(
    ref: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="Our customer id (17) or, with tg:, a Telegram user id (tg:123456).",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="Write the JSON to this file (readable by its owner only) instead of stdout.",
        ),
    ] = None,
) -> None:
    """Export everything we hold on one customer as JSON.

    The profile, every contact in and out, and in time complaints, surveys and care
    messages: the record a customer may ask for under PIPL and GDPR. UTF-8, indented;
    the "schema" key names the format (carebot.customer.v1).
    """
    settings = cli_settings()

    async def work(session: AsyncSession) -> dict[str, Any] | None:
        customer_id = await find_customer_id(session, ref)
        if customer_id is None:
            return None
        return await export_customer(session, customer_id)

    try:
        record = in_transaction(settings, work, commit=False)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="ID") from None
    except CustomerNotFound:  # erased between lookup and export; vanishingly rare
        record = None
    if record is None:
        fail(f"No customer {ref.strip()}.")
    data = (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if output is None:
        # Bytes: the JSON is UTF-8 whatever the terminal's locale says.
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    _write_private(output, data)
    err().print(f"Customer {record['customer']['id']} written to {output}.", soft_wrap=True)


def _write_private(path: Path, data: bytes) -> None:
    """Write personal data to a file only its owner can read."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
    except OSError as exc:
        fail(f"Cannot write {path}: {exc.strerror}")
