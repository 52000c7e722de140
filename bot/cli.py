"""The ``carebot`` command line: run the bot, migrate, import and export, manage staff.

An operator's tool, so its words are English and not translated. Each command loads the
settings, runs one ``asyncio.run`` that migrates the database (cheap when it is up to
date, and what makes a fresh machine work), does its work in one transaction that the
command owns, and disposes of the engine. Exit codes: 0 done, 1 the command could not do
what was asked (the reasons are printed), 2 bad usage or a bad setting.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
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

from bot.db import describe_database, make_engine, make_sessionmaker, upgrade
from bot.settings import (
    PLAYGROUND_DATABASE,
    PLAYGROUND_DATABASE_URL,
    Settings,
    SettingsError,
    load_settings,
)
from care.audiences import audience_size, audience_text, in_audience, parse_audience
from care.birthdays import (
    FIRST_YEAR,
    LAST_YEAR,
    MOST_YEARS,
    BirthdayError,
    greeting_days,
    parse_birthday,
    parse_years,
)
from care.campaigns import (
    REPORTED_STATES,
    CampaignError,
    CampaignProblem,
    CampaignProgress,
    create_campaign,
    edit_campaign,
    find_campaign,
    find_occasion,
    list_campaigns,
    occasion_campaign_name,
)
from care.campaigns import approve as approve_campaign
from care.campaigns import cancel as cancel_campaign
from care.campaigns import status as campaign_progress
from care.clock import SystemClock
from care.deliveries import ComingUp, DeliveryReport, coming_up
from care.deliveries import report as delivery_report
from care.engine import parse_hhmm
from care.importing import COLUMNS, ImportProblem, ImportResult, RowError, import_customers
from care.messages import preview as campaign_preview_text
from care.messages import sample_name, sample_texts
from care.models import Campaign, CustomerType, LifecycleStage, OutboxState, StaffRole
from care.occasions import MAX_YEAR, MIN_YEAR, occasions_in_year
from care.purchases import (
    MAX_PRODUCT,
    MAX_REFERENCE,
    PurchaseError,
    PurchaseProblem,
    record_purchase,
)
from care.records import CustomerNotFound, export_customer, find_customer_id
from care.staff import add_staff, list_staff, remove_staff
from care.templates import TemplateBook, TemplateError
from handlers.i18n import use_locale
from handlers.texts import lunar_date_name

T = TypeVar("T")
CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])

# How many import problems are listed before "... and N more".
MAX_LISTED_PROBLEMS = 100


def reflow(text: str) -> str:
    """Join the lines of each paragraph of a docstring.

    In rich markup mode Typer keeps a docstring's line breaks, which then break sentences
    wherever the source did ("in the last and / next DAYS days") at every terminal width.
    A paragraph whose first line is ``\\b`` alone keeps its lines (click's convention).
    """
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        paragraph.removeprefix("\b\n")
        if paragraph.startswith("\b\n")
        else " ".join(line.strip() for line in paragraph.splitlines())
        for paragraph in paragraphs
    )


class CareTyper(typer.Typer):
    """A Typer whose commands' help is their docstring (or ``help=``) reflowed."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[CommandFunction], CommandFunction]:
        register = super().command(*args, **kwargs)

        def decorator(function: CommandFunction) -> CommandFunction:
            registered = register(function)
            info = self.registered_commands[-1]
            info.help = reflow(info.help or inspect.getdoc(function) or "")
            return registered

        return decorator


app = CareTyper(
    name="carebot",
    help=(
        "carebot, the Telegram customer-care assistant: run it, look after its database, "
        "import and export customers, manage staff.\n\n"
        "Settings come from CAREBOT_* environment variables, or from carebot.toml in the "
        "current directory (CAREBOT_CONFIG names another file). The ones that matter here: "
        "CAREBOT_DATABASE_URL (default sqlite:///var/carebot.db; or "
        "postgresql://user@host/db), CAREBOT_TOKEN (the bot token from @BotFather), "
        "CAREBOT_ADMINS (Telegram user ids made admins at start-up), CAREBOT_TIMEZONE.\n\n"
        "Every command that opens the database names it on stderr. The playground's "
        "(carebot run without a token) is var/playground.db: carebot --playground COMMAND "
        "uses it.\n\n"
        "Exit codes: 0 done; 1 the command could not do it (the reasons are printed); "
        "2 bad usage or a bad setting."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,  # locals would include settings and rows
)
db_app = CareTyper(
    help="Look after the database schema.", no_args_is_help=True, rich_markup_mode="rich"
)
import_app = CareTyper(
    help="Bring data in from files (all or nothing).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
export_app = CareTyper(
    help="Take data out as JSON (a customer's right to their data).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
staff_app = CareTyper(
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


# Whether --playground was given: set by the callback before the command runs, in the
# same context (a context variable, so that concurrent invocations in tests stay apart).
_playground: contextvars.ContextVar[bool] = contextvars.ContextVar("carebot_playground")


@app.callback()
def main(
    playground: Annotated[
        bool,
        typer.Option(
            "--playground",
            envvar="CAREBOT_PLAYGROUND",
            help=f"Use the playground's database ({PLAYGROUND_DATABASE}, the one carebot run "
            "without a token uses) instead of CAREBOT_DATABASE_URL's.",
        ),
    ] = False,
) -> None:
    _playground.set(playground)


def _settings() -> Settings:
    """The settings, or one red line naming the bad one and exit code 2."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc), code=2)
    if _playground.get(False):
        settings = settings.model_copy(update={"database_url": PLAYGROUND_DATABASE_URL})
    return settings


def _name_database(settings: Settings) -> None:
    """Say on stderr which database the command uses, and where the playground's is when
    the default one is about to be made beside it (a newcomer looking for their chats)."""
    err = _err()
    err.print(
        Text(f"Database: {describe_database(settings.database_url)}", style="dim"),
        soft_wrap=True,
    )
    default = Settings.model_fields["database_url"].default
    if (
        settings.database_url == default
        and describe_database(default).endswith(", new)")
        and PLAYGROUND_DATABASE.exists()
    ):
        err.print(
            Text(
                f"The playground's database is {PLAYGROUND_DATABASE}: "
                "carebot --playground COMMAND uses it.",
                style="yellow",
            ),
            soft_wrap=True,
        )


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
    _name_database(settings)

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
def run(
    jobs_only: Annotated[
        bool,
        typer.Option(
            "--jobs-only",
            help="Only do the scheduled work (send the outbox, plan campaigns and "
            "follow-ups, watch SLAs) and receive no updates: for more processes beside "
            "the one that does, on the same PostgreSQL database.",
        ),
    ] = False,
) -> None:
    """Run carebot: on Telegram when CAREBOT_TOKEN is set, otherwise the local playground on SQLite.

    With a token carebot long-polls Telegram. Without one it starts its local Telegram
    sandbox and prints the address of a browser playground where you can chat with it as
    customers and staff. Migrations are applied on start. Ctrl-C stops.

    To send faster on PostgreSQL, start more processes with --jobs-only: they share the
    outbox (no message goes out twice) and never poll Telegram, which allows one poller
    per bot. Give each process its share of CAREBOT_SEND_PER_SECOND.
    """
    settings = _settings()
    # Imported here: the runner pulls in python-telegram-bot and the whole bot, which
    # the other commands do not need.
    from bot import runner

    if jobs_only:
        try:
            runner.check_jobs_only(settings)
        except runner.RunError as exc:
            _fail(str(exc), code=2)
    try:
        runner.run(settings, jobs_only=jobs_only)
    except runner.RunError as exc:
        _fail(str(exc), code=exc.code)


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
            return await import_customers(
                session, source, clock, progress=advance, phone_region=settings.phone_region
            )

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


@app.command("birthday")
def birthday_command(
    birthday: Annotated[
        str,
        typer.Argument(
            metavar="BIRTHDAY",
            help="As a customer writes it: 1990-05-20, 农历闰四月三十, lunar 8-15.",
        ),
    ],
    years: Annotated[
        str | None,
        typer.Option(
            "--years",
            "-y",
            metavar="YEAR[-YEAR]",
            help="A year or years: 2026, 2020-2035. Default: this year and the next four.",
        ),
    ] = None,
) -> None:
    """On which days a birthday is greeted, year by year, as the planner computes them.

    For a customer who asks "when will my lunar birthday greeting come?": a lunar
    birthday comes once in every lunar year, so twice in some solar years and in none in
    others; leap months and day 30 follow the rule in docs/architecture.md, "Birthdays".
    """
    settings = _settings()
    today = SystemClock().now().astimezone(ZoneInfo(settings.timezone)).date()
    chosen = parse_years(years) if years else range(today.year, today.year + 5)
    if chosen is None:
        raise typer.BadParameter(
            f"a year or two joined by '-', from {FIRST_YEAR} to {LAST_YEAR}, "
            f"at most {MOST_YEARS} years",
            param_hint="--years",
        )
    try:
        found = greeting_days(parse_birthday(birthday, today), chosen)
    except BirthdayError as exc:
        raise typer.BadParameter(f"not a birthday ({exc.problem.value})") from None
    table = Table(title=f"Birthday greetings for {birthday}", title_justify="left")
    for column in ("Year", "Date", "Weekday", "Lunar date"):
        table.add_column(column)
    with use_locale("zh_CN"):  # lunar dates by their Chinese names
        for year, days in found.items():
            if not days:
                table.add_row(str(year), "—", "", "none this year")
            for day in days:
                lunar = lunar_date_name(day.lunar_month, day.lunar_day, day.lunar_leap)
                table.add_row(str(year), day.on.isoformat(), WEEKDAYS[day.on.weekday()], lunar)
    _out().print(table)


# ---------------------------------------------------------------------------- campaigns

campaign_app = CareTyper(
    help=(
        "Care campaigns: an occasion's greeting or a message of your own, to an audience, "
        "at a local time in each customer's time zone. Made as drafts; nothing is sent "
        "before it is approved."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
purchase_app = CareTyper(
    help="Purchases, for follow-up care some days later (CAREBOT_FOLLOWUP_AFTER_PURCHASE_DAYS).",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(campaign_app, name="campaign")
app.add_typer(purchase_app, name="purchase")

_CAMPAIGN_PROBLEMS: dict[CampaignProblem, str] = {
    CampaignProblem.UNKNOWN_AUDIENCE: (
        "not an audience; use all, tag:TAG, type:CUSTOMER_TYPE, stage:LIFECYCLE_STAGE or quiet:DAYS"
    ),
    CampaignProblem.BAD_AUDIENCE_VALUE: (
        "not an audience value: a tag is letters, digits, . _ -; a type one of "
        + ", ".join(kind.value for kind in CustomerType)
        + "; a stage one of "
        + ", ".join(stage.value for stage in LifecycleStage)
        + "; quiet days 1 to 3650"
    ),
    CampaignProblem.NO_MESSAGE: "give --occasion, or the text with --text-zh and/or --text-en",
    CampaignProblem.BOTH_MESSAGES: "give either --occasion or a text, not both",
    CampaignProblem.TEXT_TOO_LONG: "the text is longer than Telegram's 4096 characters",
    CampaignProblem.UNKNOWN_LOCALE: "texts are for zh_CN and en only",
    CampaignProblem.IN_THE_PAST: "that day is already over: its greetings would arrive a day "
    "or more late; choose today or a day to come",
    CampaignProblem.IN_QUIET_HOURS: "the send time is inside the quiet hours "
    "(CAREBOT_QUIET_HOURS), when no care messages are sent: every greeting would wait for "
    "their end, for an evening time the next morning, after the day; choose a time outside "
    "them",
    CampaignProblem.CANCELLED: "the campaign was cancelled; make a new one",
    CampaignProblem.DONE: "the campaign is done: every message is settled",
    CampaignProblem.NOT_A_DRAFT: (
        "the campaign is approved and its messages are planned, so it can no longer be "
        "edited; cancel it and make a new one"
    ),
}
# What --at takes: a day, or a day and a local time.
_MOMENT_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")

CampaignIdArgument = Annotated[
    int, typer.Argument(metavar="ID", min=1, help="The campaign's number (carebot campaign list).")
]


def _campaign_problem(error: CampaignError) -> str:
    """Why a campaign was refused, with the day or time at fault when there is one."""
    facts = error.facts
    if error.problem is CampaignProblem.IN_THE_PAST and facts:
        return (
            f"{facts['day']} is already over (today is {facts['today']}): its greetings would "
            "arrive a day or more late; choose today or a day to come"
        )
    if error.problem is CampaignProblem.IN_QUIET_HOURS and facts:
        return (
            f"{facts['time']} is inside the quiet hours ({facts['quiet_start']}-"
            f"{facts['quiet_end']}, CAREBOT_QUIET_HOURS), when no care messages are sent: every "
            f"greeting would wait until {facts['quiet_end']}, for an evening time the next "
            f"morning, after the day; choose a time from {facts['quiet_end']} to "
            f"{facts['quiet_start']}"
        )
    return _CAMPAIGN_PROBLEMS[error.problem]


def _template_book(settings: Settings) -> TemplateBook:
    try:
        return TemplateBook.load(settings.templates_file, settings.default_locale)
    except TemplateError as exc:
        _fail(str(exc), code=2)


def _audience(text: str) -> dict[str, Any]:
    try:
        return parse_audience(text)
    except CampaignError as exc:
        raise typer.BadParameter(_CAMPAIGN_PROBLEMS[exc.problem], param_hint="--audience") from None


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a day like 2026-09-25", param_hint=option
        ) from None


def _campaign_line(campaign: Campaign) -> str:
    what = f"occasion {campaign.occasion}" if campaign.occasion else "own text"
    return (
        f"#{campaign.id} {campaign.name} ({what}), {campaign.send_on.isoformat()} at "
        f"{campaign.send_at_local} local time, audience {audience_text(campaign.audience)}: "
        f"{campaign.status}"
    )


def _print_texts(texts: dict[str, str], samples: bool = True) -> None:
    """Each text under its heading: a locale, as the sample customer gets it (see
    ``care.messages.SAMPLE_NAMES``), or a customer's own."""
    console = _out()
    for heading, text in texts.items():
        if samples:
            heading = f"{heading}, as a customer named {sample_name(heading)} gets it"
        console.print(Text(f"--- {heading} ---", style="bold"))
        console.print(Text(text))


@campaign_app.command("new")
def campaign_new(
    occasion: Annotated[
        str | None,
        typer.Option(
            "--occasion",
            "-o",
            help="The occasion whose greeting is sent: its code (mid_autumn) or name (中秋节); "
            "see carebot occasions.",
        ),
    ] = None,
    text_zh: Annotated[
        str | None, typer.Option("--text-zh", help="A text of your own in Chinese.")
    ] = None,
    text_en: Annotated[
        str | None,
        typer.Option(
            "--text-en", help="A text of your own in English (one language alone serves both)."
        ),
    ] = None,
    audience: Annotated[
        str,
        typer.Option(
            "--audience",
            "-a",
            help="all, tag:vip, type:regular, stage:dormant or quiet:90 (has not written to us "
            "for 90 days); only customers who accept care messages get it.",
        ),
    ] = "all",
    on: Annotated[
        str | None,
        typer.Option(
            "--on",
            metavar="YYYY-MM-DD",
            help="The local day of sending. Default for an occasion: its next date; a text "
            "needs one.",
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="HH:MM",
            help="The local time of sending in each customer's time zone. Default: "
            "CAREBOT_SEND_AT_LOCAL (09:00). A time inside the quiet hours "
            "(CAREBOT_QUIET_HOURS) is refused.",
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="What staff call it. Default: made up.")
    ] = None,
) -> None:
    """Make a campaign as a draft, and show what it says and how many it reaches now.

    Nothing is sent until it is approved (carebot campaign approve ID, or the Approve
    button in Telegram).
    """
    settings = _settings()
    engine_config = settings.engine()
    book = _template_book(settings)
    now = SystemClock().now()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    chosen_audience = _audience(audience)
    day = _day(on, "--on") if on else None
    window = engine_config.window
    if at is not None:
        try:
            window = replace(window, send_at=parse_hhmm(at))
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--at") from None
    texts = {k: v for k, v in (("zh_CN", text_zh), ("en", text_en)) if v and v.strip()} or None
    if (occasion is None) == (texts is None):
        raise typer.BadParameter(
            _CAMPAIGN_PROBLEMS[
                CampaignProblem.NO_MESSAGE if texts is None else CampaignProblem.BOTH_MESSAGES
            ],
            param_hint="--occasion",
        )
    code: str | None = None
    if occasion is not None:
        found = find_occasion(occasion, day, today, engine_config.holiday_countries)
        if found is None:
            raise typer.BadParameter(
                f"no occasion {occasion!r}" + (f" in {day.year}" if day else " in the next year")
                + "; see carebot occasions",
                param_hint="--occasion",
            )  # fmt: skip
        code, day = found.code, day or found.on
        name = name or f"{found.names['en']} {day.year}"
    elif day is None:
        raise typer.BadParameter("a text campaign needs its day", param_hint="--on")
    assert day is not None
    campaign_name = name or next(iter((texts or {"": "campaign"}).values())).splitlines()[0][:40]

    async def work(session: AsyncSession) -> tuple[int, str, int, dict[str, str]]:
        campaign = await create_campaign(
            session, campaign_name, code, texts, chosen_audience, day, window, now,
            timezone=settings.timezone,
        )  # fmt: skip
        size = await audience_size(session, campaign.audience, now)
        samples = sample_texts(
            campaign, book.render, company=settings.company_name,
            default_locale=settings.default_locale,
            countries=engine_config.holiday_countries,
        )  # fmt: skip
        return campaign.id, _campaign_line(campaign), size, samples

    try:
        campaign_id, line, size, samples = _in_transaction(settings, work)
    except CampaignError as exc:
        _fail(f"No campaign made: {_campaign_problem(exc)}.")
    _out().print(Text(f"Drafted {line}; it reaches {size} customers now."))
    _print_texts(samples)
    _err().print(f"Nothing is sent before it is approved: carebot campaign approve {campaign_id}")


@campaign_app.command("edit")
def campaign_edit(
    campaign_id: CampaignIdArgument,
    audience: Annotated[
        str | None,
        typer.Option(
            "--audience",
            "-a",
            help="all, tag:vip, type:regular, stage:dormant or quiet:90 (has not written to us "
            "for 90 days); only customers who accept care messages get it.",
        ),
    ] = None,
    on: Annotated[
        str | None,
        typer.Option("--on", "--day", metavar="YYYY-MM-DD", help="The local day of sending."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            "--time",
            metavar="HH:MM",
            help="The local time of sending in each customer's time zone. A time inside "
            "the quiet hours (CAREBOT_QUIET_HOURS) is refused.",
        ),
    ] = None,
    occasion: Annotated[
        str | None,
        typer.Option(
            "--occasion",
            "-o",
            help="Send this occasion's greeting instead: its code (mid_autumn) or name "
            "(中秋节); without --on, on its next date.",
        ),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option("--text", help="Send a text of your own instead, in every language."),
    ] = None,
    text_zh: Annotated[
        str | None, typer.Option("--text-zh", help="The text of your own in Chinese.")
    ] = None,
    text_en: Annotated[
        str | None,
        typer.Option(
            "--text-en", help="The text of your own in English (one language alone serves both)."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="What staff call it.")] = None,
) -> None:
    """Change a draft campaign: its audience, day, time or message; the rest stays.

    Texts given replace the old ones. An approved campaign is planned and can no longer
    be edited: cancel it and make a new one.
    """
    settings = _settings()
    engine_config = settings.engine()
    book = _template_book(settings)
    now = SystemClock().now()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    chosen_audience = _audience(audience) if audience is not None else None
    day = _day(on, "--on") if on else None
    send_at = None
    if at is not None:
        try:
            send_at = parse_hhmm(at)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--at") from None
    typed = (("zh_CN", text_zh or text), ("en", text_en or text))
    texts = {locale: value for locale, value in typed if value and value.strip()} or None
    if occasion is not None and texts is not None:
        raise typer.BadParameter(
            _CAMPAIGN_PROBLEMS[CampaignProblem.BOTH_MESSAGES], param_hint="--occasion"
        )
    code: str | None = None
    if occasion is not None:
        found = find_occasion(occasion, day, today, engine_config.holiday_countries)
        if found is None:
            raise typer.BadParameter(
                f"no occasion {occasion!r}" + (f" in {day.year}" if day else " in the next year")
                + "; see carebot occasions",
                param_hint="--occasion",
            )  # fmt: skip
        code, day = found.code, day or found.on
        name = name or occasion_campaign_name(found, day)
    elif texts is not None:
        name = name or next(iter(texts.values())).strip().splitlines()[0][:40]
    if all(value is None for value in (chosen_audience, day, send_at, code, texts, name)):
        _fail(
            "Nothing to change: give --audience, --on, --at, --occasion, --text (or --text-zh, "
            "--text-en) or --name.",
            code=2,
        )

    async def work(session: AsyncSession) -> tuple[str, int, dict[str, str]] | None:
        campaign = await find_campaign(session, campaign_id)
        if campaign is None:
            return None
        await edit_campaign(
            session, campaign, now, audience=chosen_audience, send_on=day, send_at=send_at,
            occasion=code, texts=texts, name=name, timezone=settings.timezone,
        )  # fmt: skip
        size = await audience_size(session, campaign.audience, now)
        samples = sample_texts(
            campaign, book.render, company=settings.company_name,
            default_locale=settings.default_locale,
            countries=engine_config.holiday_countries,
        )  # fmt: skip
        return _campaign_line(campaign), size, samples

    try:
        done = _in_transaction(settings, work)
    except CampaignError as exc:
        _fail(f"Campaign {campaign_id} not changed: {_campaign_problem(exc)}.")
    if done is None:
        _fail(f"No campaign {campaign_id}.")
    line, size, samples = done
    _out().print(Text(f"Changed {line}; it reaches {size} customers now."))
    _print_texts(samples)
    _err().print(f"Nothing is sent before it is approved: carebot campaign approve {campaign_id}")


@campaign_app.command("preview")
def campaign_preview(
    campaign_id: CampaignIdArgument,
    customer: Annotated[
        str | None,
        typer.Option(
            "--customer",
            "-c",
            metavar="ID",
            help="Show exactly what this customer would get: our customer id (17) or, with "
            "tg:, a Telegram user id (tg:123456).",
        ),
    ] = None,
) -> None:
    """Show what a campaign says: in every language, or as one customer would get it."""
    settings = _settings()
    engine_config = settings.engine()
    book = _template_book(settings)
    now = SystemClock().now()

    async def work(session: AsyncSession) -> tuple[str, dict[str, str], bool] | str:
        campaign = await find_campaign(session, campaign_id)
        if campaign is None:
            return f"No campaign {campaign_id}."
        if customer is None:
            samples = sample_texts(
                campaign, book.render, company=settings.company_name,
                default_locale=settings.default_locale,
                countries=engine_config.holiday_countries,
            )  # fmt: skip
            return _campaign_line(campaign), samples, True
        customer_id = await find_customer_id(session, customer)
        text = None
        if customer_id is not None:
            text = await campaign_preview_text(
                session, campaign, customer_id, book.render, company=settings.company_name,
                default_locale=settings.default_locale, countries=engine_config.holiday_countries,
            )  # fmt: skip
        if customer_id is None or text is None:
            return f"No customer {customer.strip()}."
        reached = await in_audience(session, campaign, customer_id, now)
        return _campaign_line(campaign), {f"customer {customer_id}": text}, reached

    try:
        found = _in_transaction(settings, work, commit=False)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--customer") from None
    if isinstance(found, str):
        _fail(found)
    line, texts, reached = found
    _out().print(Text(line))
    _print_texts(texts, samples=customer is None)
    if not reached:
        _err().print(
            Text(
                "This customer is not in the audience now (not matching, no consent to care "
                "messages, blocked the bot, forgotten or never wrote to it): they would not "
                "get it.",
                style="yellow",
            ),
            soft_wrap=True,
        )


@campaign_app.command("approve")
def campaign_approve(campaign_id: CampaignIdArgument) -> None:
    """Approve a campaign: plan one message per customer in its audience into the outbox.

    Each is due at the campaign's local time in the customer's time zone, out of quiet
    hours; the running bot sends them. Approving again adds only customers who joined
    the audience since.
    """
    settings = _settings()
    now = SystemClock().now()
    with _import_progress() as progress:
        task = progress.add_task("Planning", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        async def work(session: AsyncSession) -> tuple[str, int] | None:
            campaign = await find_campaign(session, campaign_id)
            if campaign is None:
                return None
            count = await approve_campaign(
                session, campaign, None, now, settings.timezone, progress=advance
            )
            return _campaign_line(campaign), count

        try:
            done = _in_transaction(settings, work)
        except CampaignError as exc:
            _fail(f"Campaign {campaign_id} not approved: {_campaign_problem(exc)}.")
    if done is None:
        _fail(f"No campaign {campaign_id}.")
    line, count = done
    _out().print(Text(f"Approved {line}; {count} messages planned."))


@campaign_app.command("cancel")
def campaign_cancel(campaign_id: CampaignIdArgument) -> None:
    """Cancel a campaign: its messages not sent yet never will be."""
    settings = _settings()

    async def work(session: AsyncSession) -> int | None:
        campaign = await find_campaign(session, campaign_id)
        if campaign is None:
            return None
        return await cancel_campaign(session, campaign)

    try:
        count = _in_transaction(settings, work)
    except CampaignError as exc:
        _fail(f"Campaign {campaign_id} not cancelled: {_CAMPAIGN_PROBLEMS[exc.problem]}.")
    if count is None:
        _fail(f"No campaign {campaign_id}.")
    _out().print(f"Campaign {campaign_id} cancelled; {count} messages will not be sent.")


@campaign_app.command("status")
def campaign_status_command(campaign_id: CampaignIdArgument) -> None:
    """How many messages were planned, sent, are pending, failed, blocked, skipped (and
    why) or unconfirmed (maybe delivered when the bot stopped; never resent)."""
    settings = _settings()

    async def work(session: AsyncSession) -> tuple[str, CampaignProgress] | None:
        progress = await campaign_progress(session, campaign_id)
        if progress is None:
            return None
        return _campaign_line(progress.campaign), progress

    found = _in_transaction(settings, work, commit=False)
    if found is None:
        _fail(f"No campaign {campaign_id}.")
    line, progress = found
    counts = progress.counts
    _out().print(Text(line))
    table = Table()
    table.add_column("State")
    table.add_column("Messages", justify="right")
    table.add_row("planned", str(progress.planned), style="bold")
    for state in REPORTED_STATES:
        if state not in (OutboxState.SENDING, OutboxState.CANCELLED) or counts[state.value]:
            table.add_row(state.value, str(counts[state.value]))
        if state is OutboxState.SKIPPED:
            # Why, by reason code (opted_out, unreachable, forgotten, cancelled,
            # no_longer_applies), as care.outbox.SkipReason records them.
            for reason, count in progress.skipped_because.items():
                table.add_row(f"  {reason}", str(count), style="dim")
    _out().print(table)


@campaign_app.command("list")
def campaign_list(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20,
) -> None:
    """List the newest campaigns."""
    settings = _settings()

    async def work(session: AsyncSession) -> list[tuple[str, ...]]:
        return [
            (
                str(c.id),
                c.name,
                c.occasion or "(own text)",
                f"{c.send_on.isoformat()} {c.send_at_local}",
                audience_text(c.audience),
                c.status + (" (auto)" if c.automatic else ""),
                str(c.planned_count),
            )
            for c in await list_campaigns(session, limit)
        ]

    rows = _in_transaction(settings, work, commit=False)
    if not rows:
        _out().print("No campaigns yet. Make one with: carebot campaign new --occasion mid_autumn")
        return
    table = Table()
    for column in ("Id", "Name", "Occasion", "Local send time", "Audience", "Status", "Planned"):
        table.add_column(column, justify="right" if column in ("Id", "Planned") else "left")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    _out().print(table)


# ---------------------------------------------------------------------------- purchases

_PURCHASE_PROBLEMS: dict[PurchaseProblem, str] = {
    PurchaseProblem.NO_SUCH_CUSTOMER: "no such customer",
    PurchaseProblem.FORGOTTEN: "the customer asked to be forgotten",
    PurchaseProblem.IN_THE_FUTURE: "the purchase is in the future",
    PurchaseProblem.TOO_LONG: (
        f"the product (at most {MAX_PRODUCT} characters) or the reference "
        f"(at most {MAX_REFERENCE}) is too long"
    ),
}


def _purchase_moment(text: str, timezone: str) -> datetime:
    """A day (taken at noon, so every time zone agrees on the day) or a day and time, in
    CAREBOT_TIMEZONE."""
    for layout in _MOMENT_FORMATS:
        try:
            moment = datetime.strptime(text.strip(), layout)
        except ValueError:
            continue
        if layout == "%Y-%m-%d":
            moment = moment.replace(hour=12)
        return moment.replace(tzinfo=ZoneInfo(timezone))
    raise typer.BadParameter(
        f"{text!r} is not a day (2026-09-18) or a day and time (2026-09-18 14:30)",
        param_hint="--at",
    )


@purchase_app.command("add")
def purchase_add(
    customer: Annotated[
        str,
        typer.Argument(
            metavar="CUSTOMER_ID",
            help="Our customer id (17) or, with tg:, a Telegram user id (tg:123456).",
        ),
    ],
    at: Annotated[
        str,
        typer.Option(
            "--at",
            metavar="DATE",
            help="When it was bought: 2026-09-18, or 2026-09-18 14:30 (CAREBOT_TIMEZONE).",
        ),
    ],
    product: Annotated[str | None, typer.Option("--product", "-p", help="What was bought.")] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", "-r", help="An order number or similar.")
    ] = None,
) -> None:
    """Record a customer's purchase; the bot asks after it some days later."""
    settings = _settings()
    purchased_at = _purchase_moment(at, settings.timezone)
    now = SystemClock().now()

    async def work(session: AsyncSession) -> int | None:
        customer_id = await find_customer_id(session, customer)
        if customer_id is None:
            return None
        purchase = await record_purchase(
            session, customer_id, purchased_at, product, reference, now
        )
        return purchase.id

    try:
        purchase_id = _in_transaction(settings, work)
    except ValueError as exc:
        if isinstance(exc, PurchaseError):
            _fail(f"No purchase recorded: {_PURCHASE_PROBLEMS[exc.problem]}.")
        raise typer.BadParameter(str(exc), param_hint="CUSTOMER_ID") from None
    if purchase_id is None:
        _fail(f"No purchase recorded: no customer {customer.strip()}.")
    days = settings.followup_after_purchase_days
    follow_up = f"; the follow-up goes out {days} days later" if days is not None else ""
    _out().print(f"Purchase {purchase_id} recorded for customer {customer.strip()}{follow_up}.")


# ---------------------------------------------------------------------------- followups


@app.command("followups")
def followups_command(
    days: Annotated[
        int,
        typer.Option(
            "--days", metavar="DAYS", min=1, max=365, help="How many days back and ahead."
        ),
    ] = 7,
) -> None:
    """Follow-ups and personal greetings (birthdays, anniversaries) due in the last and
    next DAYS days, by rule and state, with why skipped ones were skipped, and the
    unconfirmed ones by name (maybe delivered when the bot stopped; never resent)."""
    settings = _settings()
    now, span = SystemClock().now(), timedelta(days=days)
    zone = ZoneInfo(settings.timezone)

    async def work(session: AsyncSession) -> tuple[DeliveryReport, list[ComingUp]]:
        ahead = await coming_up(
            session, now.astimezone(zone).date(), (now + span).astimezone(zone).date(),
            settings.engine().followups, settings.timezone,
        )  # fmt: skip
        return await delivery_report(session, now - span, now + span), ahead

    found, ahead = _in_transaction(settings, work, commit=False)

    def moment(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    window = f"{moment(found.since)} – {moment(found.until)} ({settings.timezone})"
    coming = [
        f"coming up, {c.rule}: {c.count} ({c.first_day.isoformat()} – {c.last_day.isoformat()})"
        for c in ahead
    ]
    if not found.counts and not found.not_planned:
        _out().print(f"No follow-ups or greetings are due {window}.")
        for line in coming:
            _out().print(line)
        return
    _out().print(f"Follow-ups and greetings due {window}:")
    states = [s for s in OutboxState if any(s.value in c for c in found.counts.values())]
    table = Table()
    table.add_column("Rule")
    for state in states:
        table.add_column(state.value, justify="right")
    for rule, counts in found.counts.items():
        table.add_row(rule, *(str(counts.get(state.value, 0)) for state in states))
    _out().print(table)
    for reason, count in found.skipped_because.items():
        _out().print(f"skipped, {reason}: {count}")
    if found.unconfirmed:
        unconfirmed = Table(title="Unconfirmed: maybe delivered, never resent")
        for column in ("Row", "Customer", "Name", "Rule", "Due"):
            unconfirmed.add_column(column)
        for row in found.unconfirmed:
            unconfirmed.add_row(
                str(row.row_id), str(row.customer_id), row.name, row.rule, moment(row.due_at)
            )
        _out().print(unconfirmed)
    for failed in found.not_planned:  # care.followups: an error with the customer's data
        _out().print(
            f"not planned: customer {failed.customer_id} ({failed.name}), {failed.rule}, "
            f"{failed.times} day(s), last {moment(failed.last_at)}; the log has the error",
            markup=False,  # a customer's name is no markup
        )
    for line in coming:
        _out().print(line)
