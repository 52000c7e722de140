"""The ``carebot`` command line: run the bot, migrate, import and export, manage staff.

An operator's tool, so its words are English and not translated. Each command loads the
settings, runs one ``asyncio.run`` that migrates the database (cheap when it is up to
date, and what makes a fresh machine work), does its work in one transaction that the
command owns, and disposes of the engine. Exit codes: 0 done, 1 the command could not do
what was asked (the reasons are printed), 2 bad usage or a bad setting.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer
from alembic.util.exc import CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import make_engine, make_sessionmaker, upgrade
from bot.settings import Settings, SettingsError, load_settings
from care.clock import SystemClock
from care.importing import COLUMNS, ImportProblem, ImportResult, RowError, import_customers
from care.models import CustomerType, StaffRole
from care.occasions import MAX_YEAR, MIN_YEAR, occasions_in_year
from care.records import CustomerNotFound, export_customer, find_customer_id
from care.staff import add_staff, list_staff, remove_staff

T = TypeVar("T")

# How many import problems are listed before "... and N more".
MAX_LISTED_PROBLEMS = 100

app = typer.Typer(
    name="carebot",
    help=(
        "carebot, the Telegram customer-care assistant: run it, look after its database, "
        "import and export customers, manage staff.\n\n"
        "Settings come from CAREBOT_* environment variables, or from carebot.toml in the "
        "current directory (CAREBOT_CONFIG names another file). The ones that matter here: "
        "CAREBOT_DATABASE_URL (default sqlite:///var/carebot.db; or "
        "postgresql://user@host/db), CAREBOT_TOKEN (the bot token from @BotFather), "
        "CAREBOT_ADMINS (Telegram user ids made admins at start-up), CAREBOT_TIMEZONE.\n\n"
        "Exit codes: 0 done; 1 the command could not do it (the reasons are printed); "
        "2 bad usage or a bad setting."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,  # locals would include settings and rows
)
db_app = typer.Typer(
    help="Look after the database schema.", no_args_is_help=True, rich_markup_mode="rich"
)
import_app = typer.Typer(
    help="Bring data in from files (all or nothing).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
export_app = typer.Typer(
    help="Take data out as JSON (a customer's right to their data).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
staff_app = typer.Typer(
    help="Who serves customers: agents, supervisors and admins (内客户).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.add_typer(staff_app, name="staff")


# ---------------------------------------------------------------------------- plumbing


def _out() -> Console:
    return Console(highlight=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _fail(message: str, code: int = 1) -> NoReturn:
    """Print one red line on stderr and leave with ``code``."""
    _err().print(Text(message, style="red"), soft_wrap=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    """The settings, or one red line naming the bad one and exit code 2."""
    try:
        return load_settings()
    except SettingsError as exc:
        _fail(str(exc), code=2)


class _RollBack(Exception):
    """Leaves the transaction without committing, carrying the work's result out."""

    def __init__(self, result: Any) -> None:
        super().__init__("roll back")
        self.result = result


def _in_transaction(
    settings: Settings,
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    commit: bool = True,
) -> T:
    """Migrate, then run ``work`` in one transaction (rolled back unless ``commit``)."""

    async def main() -> T:
        # The engine first: for SQLite it creates the database's directory.
        engine = make_engine(settings.database_url)
        try:
            await upgrade(settings.database_url)
            async with make_sessionmaker(engine).begin() as session:
                result = await work(session)
                if not commit:
                    raise _RollBack(result)
                return result
        except _RollBack as rolled_back:
            return rolled_back.result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except (SQLAlchemyError, CommandError, OSError) as exc:
        _fail(f"Database problem: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    """The driver's own first line, without SQLAlchemy's statement and parameters."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else ''}".rstrip(": ")


# ---------------------------------------------------------------------------- run


@app.command()
def run() -> None:
    """Run carebot: on Telegram when CAREBOT_TOKEN is set, otherwise the local playground on SQLite.

    With a token carebot long-polls Telegram. Without one it starts its local Telegram
    sandbox and prints the address of a browser playground where you can chat with it as
    customers and staff. Migrations are applied on start. Ctrl-C stops.
    """
    settings = _settings()
    # Imported here: the runner pulls in python-telegram-bot and the whole bot, which
    # the other commands do not need.
    from bot.runner import run as run_bot

    run_bot(settings)


# ---------------------------------------------------------------------------- db


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations that have not been applied yet.

    Safe to run at any time; it does nothing when the schema is up to date. Every other
    command runs it too, so a fresh machine needs nothing else. The database is
    CAREBOT_DATABASE_URL's.
    """
    settings = _settings()

    async def nothing(session: AsyncSession) -> None:
        return None

    _in_transaction(settings, nothing)
    _out().print("The database schema is up to date.")


# ---------------------------------------------------------------------------- import

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

    [bold]telegram_user_id[/] a positive number, once per file;
    [bold]first_name[/], [bold]last_name[/];
    [bold]phone[/] with country code (+86 138 0013 8000);
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
    settings = _settings()
    clock = SystemClock()
    try:
        source = file.open("rb")
    except OSError as exc:
        _fail(f"Cannot read {file}: {exc.strerror}")
    with source, _import_progress() as progress:
        task = progress.add_task("Importing customers", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        async def work(session: AsyncSession) -> ImportResult:
            return await import_customers(session, source, clock, progress=advance)

        result = _in_transaction(settings, work, commit=not dry_run)
    if result.errors:
        _report_problems(result.errors, file)
        raise typer.Exit(1)
    if dry_run:
        _out().print(
            f"Dry run: {result.created} would be created, {result.updated} updated; "
            "nothing was written."
        )
    else:
        _out().print(f"{result.created} created, {result.updated} updated.")


def _import_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err(),
        transient=True,
    )


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
    console = _err()
    console.print(table)
    if len(errors) > MAX_LISTED_PROBLEMS:
        console.print(f"… and {len(errors) - MAX_LISTED_PROBLEMS} more.")
    rows = len({error.row for error in errors})
    _err().print(
        Text(f"Nothing was imported: {len(errors)} problem(s) in {rows} row(s).", style="red"),
        soft_wrap=True,
    )


# ---------------------------------------------------------------------------- export


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
    settings = _settings()

    async def work(session: AsyncSession) -> dict[str, Any] | None:
        customer_id = await find_customer_id(session, ref)
        if customer_id is None:
            return None
        return await export_customer(session, customer_id)

    try:
        record = _in_transaction(settings, work, commit=False)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="ID") from None
    except CustomerNotFound:  # erased between lookup and export; vanishingly rare
        record = None
    if record is None:
        _fail(f"No customer {ref.strip()}.")
    data = (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    if output is None:
        # Bytes: the JSON is UTF-8 whatever the terminal's locale says.
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    _write_private(output, data)
    _err().print(f"Customer {record['customer']['id']} written to {output}.", soft_wrap=True)


def _write_private(path: Path, data: bytes) -> None:
    """Write personal data to a file only its owner can read."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
    except OSError as exc:
        _fail(f"Cannot write {path}: {exc.strerror}")


# ---------------------------------------------------------------------------- staff

UserIdArgument = Annotated[
    int,
    typer.Argument(
        metavar="USER_ID",
        min=1,
        help="The person's numeric Telegram user id (not their @username).",
    ),
]


@staff_app.command("add")
def staff_add(
    user_id: UserIdArgument,
    role: Annotated[
        StaffRole,
        typer.Option(
            "--role",
            "-r",
            case_sensitive=False,
            help=(
                "agent answers customers; supervisor also gets escalations; "
                "admin also runs campaigns."
            ),
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help='How colleagues know them, e.g. "Wang Li".'),
    ] = None,
) -> None:
    """Make someone a staff member, or change the role of one.

    A former staff member who was removed is made active again.
    """
    settings = _settings()
    now = SystemClock().now()

    async def work(session: AsyncSession) -> None:
        await add_staff(session, user_id, role, now, name=name)

    _in_transaction(settings, work)
    who = f"{user_id} ({name})" if name else str(user_id)
    _out().print(Text(f"Staff member {who} is now {role.value}."))


@staff_app.command("remove")
def staff_remove(user_id: UserIdArgument) -> None:
    """Stop someone being staff (their history stays)."""
    settings = _settings()

    async def work(session: AsyncSession) -> bool:
        return await remove_staff(session, user_id)

    if not _in_transaction(settings, work):
        _fail(f"No active staff member has Telegram user id {user_id}.")
    _out().print(f"{user_id} is no longer staff.")
    if user_id in settings.admins:
        _err().print(
            Text(
                f"{user_id} is listed in CAREBOT_ADMINS and becomes an admin again when "
                "carebot starts; take them out of it too.",
                style="yellow",
            ),
            soft_wrap=True,
        )


@staff_app.command("list")
def staff_list() -> None:
    """List the active staff members."""
    settings = _settings()

    async def work(session: AsyncSession) -> list[tuple[int, str, str, str]]:
        return [
            (m.telegram_user_id, m.name or "", m.role, m.created_at.date().isoformat())
            for m in await list_staff(session)
        ]

    members = _in_transaction(settings, work, commit=False)
    if not members:
        _out().print("No staff members yet. Add one with: carebot staff add USER_ID --role agent")
        return
    table = Table()
    table.add_column("Telegram user id", justify="right")
    table.add_column("Name")
    table.add_column("Role")
    table.add_column("Since")
    for user_id, name, role, since in members:
        table.add_row(str(user_id), Text(name), role, since)
    _out().print(table)


# ---------------------------------------------------------------------------- occasions

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@app.command("occasions")
def occasions_command(
    year: Annotated[
        int | None,
        typer.Option(
            "--year",
            "-y",
            min=MIN_YEAR,
            max=MAX_YEAR,
            help="The year. Default: this year, in CAREBOT_TIMEZONE.",
        ),
    ] = None,
    countries: Annotated[
        list[str] | None,
        typer.Option(
            "--country",
            "-c",
            metavar="CODE",
            help=(
                "A country whose public holidays count, as an ISO code (CN, DE, US…); "
                "repeat for more. Default: CAREBOT_HOLIDAY_COUNTRIES (CN)."
            ),
        ),
    ] = None,
) -> None:
    """List a year's occasions for greetings, by date.

    Public holidays of the countries (only the first day of a long one; no days off in
    lieu), the Chinese festivals of the lunar calendar, and the days on the same date
    every year. The code is what campaigns and greeting templates are keyed by.
    """
    settings = _settings()
    if year is None:
        year = SystemClock().now().astimezone(ZoneInfo(settings.timezone)).year
    chosen = tuple(countries or settings.holiday_countries)
    try:
        found = occasions_in_year(year, chosen)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--country") from None
    table = Table(
        title=f"Occasions in {year} ({', '.join(c.upper() for c in chosen) or 'no country'})",
        title_justify="left",
    )
    for column in ("Date", "Weekday", "Code", "中文", "English", "Kind"):
        table.add_column(column)
    for occasion in found:
        table.add_row(
            occasion.on.isoformat(),
            WEEKDAYS[occasion.on.weekday()],
            occasion.code,
            # Text, not str: holiday names must never be read as rich markup.
            Text(occasion.names["zh_CN"]),
            Text(occasion.names["en"]),
            occasion.kind,
        )
    _out().print(table)
