"""The command tree and what every command shares: settings, one red line on failure,
one transaction per command, the database named on stderr."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from alembic.util.exc import CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
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
from care.clock import Clock

T = TypeVar("T")


CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])


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


inbox_app = CareTyper(
    help="Updates from Telegram whose handling failed every attempt (parked), and what to do.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


app.add_typer(inbox_app, name="inbox")


def out() -> Console:
    return Console(highlight=False)


def err() -> Console:
    return Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one red line on stderr and leave with ``code``."""
    err().print(Text(message, style="red"), soft_wrap=True)
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


def cli_settings() -> Settings:
    """The settings, or one red line naming the bad one and exit code 2."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc), code=2)
    if _playground.get(False):
        settings = settings.model_copy(update={"database_url": PLAYGROUND_DATABASE_URL})
    return settings


def _name_database(settings: Settings) -> None:
    """Say on stderr which database the command uses, and where the playground's is when
    the default one is about to be made beside it (a newcomer looking for their chats)."""
    stderr = err()
    stderr.print(
        Text(f"Database: {describe_database(settings.database_url)}", style="dim"),
        soft_wrap=True,
    )
    default = Settings.model_fields["database_url"].default
    if (
        settings.database_url == default
        and describe_database(default).endswith(", new)")
        and PLAYGROUND_DATABASE.exists()
    ):
        stderr.print(
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


def in_transaction(
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
        fail(f"Database problem: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    """The driver's own first line, without SQLAlchemy's statement and parameters."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return f"{type(original).__name__}: {lines[0] if lines else ''}".rstrip(": ")


CampaignIdArgument = Annotated[
    int, typer.Argument(metavar="ID", min=1, help="The campaign's number (carebot campaign list).")
]


UserIdArgument = Annotated[
    int,
    typer.Argument(
        metavar="USER_ID",
        min=1,
        help="The person's numeric Telegram user id (not their @username).",
    ),
]


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err(),
        transient=True,
    )


def clock() -> Clock:
    """The clock the commands read. It is ``bot.cli.SystemClock``, looked up when asked,
    so that tests can send every command to another moment by replacing that one name."""
    import bot.cli

    return bot.cli.SystemClock()


customer_app = CareTyper(
    help=(
        "Find a customer, see their card, tag them; compute everyone's segments (docs/segments.md)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)


app.add_typer(customer_app, name="customer")
