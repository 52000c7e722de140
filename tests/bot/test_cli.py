"""The ``carebot`` command line, driven through typer's CliRunner on the test database.

Each command runs its own ``asyncio.run``, so the tests call it in a worker thread and
look at the database through the suite's own sessionmaker.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import sys
import traceback
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from typer.testing import CliRunner, Result

from bot.cli import app, problem_in_words
from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from bot.settings import Settings
from care.clock import ManualClock
from care.contacts import ContactEntry, record_contacts
from care.importing import ImportProblem, RowError
from care.models import ContactKind, Customer, Direction, StaffMember

SECRET = "AAHsecret-token-never-shown"
TOKEN = f"123456789:{SECRET}"
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "customers.csv"


class Carebot:
    """Runs ``carebot ARGS`` with a clean environment pointing at the test database."""

    def __init__(self, database_url: str, config: Path) -> None:
        self.env = {
            "CAREBOT_DATABASE_URL": database_url,
            "CAREBOT_CONFIG": str(config),  # absent: no carebot.toml is read
            "CAREBOT_TOKEN": TOKEN,
            "COLUMNS": "200",  # rich tables without wrapped cells
        }

    async def __call__(self, *args: str, **env: str) -> Result:
        result = await asyncio.to_thread(
            CliRunner().invoke, app, list(args), env={**self.env, **env}
        )
        assert SECRET not in result.output
        assert "Traceback" not in result.output
        return without_database_line(result)


def without_database_line(result: Result) -> Result:
    """The result without the "Database: ..." line a command that opens the database
    prints first on stderr (tests/bot/test_cli_database.py checks that line), so that
    the tests here read what the command says about its work."""
    shown, newline, rest = result.stderr_bytes.partition(b"\n")
    if not shown.startswith(b"Database: "):
        return result
    output = result.output_bytes.replace(shown + newline, b"", 1)
    return Result(
        result.runner, result.stdout_bytes, rest, output, result.return_value,
        result.exit_code, result.exception, result.exc_info,
    )  # fmt: skip


@pytest.fixture
def carebot(
    database_url: str,
    engine: object,  # empties the tables before the test
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Carebot:
    for name in list(os.environ):
        if name.startswith("CAREBOT_") and not name.startswith("CAREBOT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return Carebot(database_url, tmp_path / "absent.toml")


def write_csv(path: Path, *lines: str, bom: bool = False) -> Path:
    data = "\n".join(lines) + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data.encode("utf-8"))
    return path


async def all_customers(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> dict[int | None, Customer]:
    async with sessionmaker() as session:
        return {c.telegram_user_id: c for c in (await session.scalars(select(Customer))).all()}


def table_rows(text: str) -> list[list[str]]:
    """The body rows of a rich table, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in text.splitlines()
        if line.startswith("│")
    ]


# ---------------------------------------------------------------------------- help


async def test_help_explains_every_command(carebot: Carebot) -> None:
    top = await carebot("--help")
    assert top.exit_code == 0
    for word in ("run", "db", "import", "export", "staff", "CAREBOT_DATABASE_URL", "Exit codes"):
        assert word in top.output
    expectations = {
        ("run",): "Run carebot: on Telegram when CAREBOT_TOKEN is set, otherwise the local",
        ("db", "upgrade"): "migrations",
        ("import", "customers"): "telegram_user_id",
        ("export", "customer"): "tg:123456",
        ("staff", "add"): "supervisor",
        ("staff", "remove"): "USER_ID",
        ("staff", "list"): "active staff",
    }
    for command, phrase in expectations.items():
        result = await carebot(*command, "--help")
        assert result.exit_code == 0, command
        assert phrase in result.output, command


# ---------------------------------------------------------------------------- settings


async def test_a_bad_setting_is_one_red_line_naming_it(carebot: Carebot) -> None:
    result = await carebot("staff", "list", CAREBOT_TIMEZONE="Mars/Olympus_Mons")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "CAREBOT_TIMEZONE: is not an IANA time zone (e.g. Asia/Shanghai)"
    ]


async def test_a_malformed_token_is_named_but_never_shown(carebot: Carebot) -> None:
    result = await carebot("db", "upgrade", CAREBOT_TOKEN=f"oops-{SECRET}")

    assert result.exit_code == 2
    assert result.stderr.startswith("CAREBOT_TOKEN: ")
    assert len(result.stderr.strip().splitlines()) == 1


async def test_an_unreachable_database_is_one_line(carebot: Carebot) -> None:
    result = await carebot(
        "staff", "list", CAREBOT_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere"
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("Database problem: ")
    assert len(result.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------- db


async def test_db_upgrade_works_on_a_fresh_machine(carebot: Carebot, tmp_path: Path) -> None:
    fresh = tmp_path / "new" / "place" / "carebot.db"

    first = await carebot("db", "upgrade", CAREBOT_DATABASE_URL=f"sqlite:///{fresh}")
    again = await carebot("db", "upgrade", CAREBOT_DATABASE_URL=f"sqlite:///{fresh}")

    assert (first.exit_code, again.exit_code) == (0, 0)
    assert fresh.exists()
    assert "up to date" in again.stdout


# ---------------------------------------------------------------------------- run


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Settings, bool]]:
    """What ``carebot run`` hands to the runner, which is replaced by a recorder."""
    from bot import runner as real

    seen: list[tuple[Settings, bool]] = []

    def run(settings: Settings, *, jobs_only: bool = False) -> None:
        seen.append((settings, jobs_only))

    runner = types.ModuleType("bot.runner")
    runner.run = run  # type: ignore[attr-defined]
    runner.RunError = real.RunError  # type: ignore[attr-defined]
    runner.check_jobs_only = real.check_jobs_only  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "bot.runner", runner)
    monkeypatch.setattr("bot.runner", runner, raising=False)
    return seen


async def test_run_hands_the_settings_to_the_runner(
    carebot: Carebot, database_url: str, runs: list[tuple[Settings, bool]]
) -> None:
    result = await carebot("run")

    assert result.exit_code == 0, result.output
    [(settings, jobs_only)] = runs
    assert settings.token_value == TOKEN
    assert settings.database_url.split("://")[1] == database_url.split("://")[1]
    assert not jobs_only


async def test_run_jobs_only_needs_a_token_and_postgresql(
    carebot: Carebot, runs: list[tuple[Settings, bool]], tmp_path: Path
) -> None:
    postgresql = "postgresql+asyncpg://carebot@db.example/carebot"
    without_token = await carebot(
        "run", "--jobs-only", CAREBOT_TOKEN="", CAREBOT_DATABASE_URL=postgresql
    )
    on_sqlite = await carebot(
        "run", "--jobs-only", CAREBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db"
    )
    assert (without_token.exit_code, on_sqlite.exit_code) == (2, 2)
    assert "--jobs-only needs CAREBOT_TOKEN" in without_token.output
    assert "--jobs-only needs PostgreSQL" in on_sqlite.output
    assert len(on_sqlite.output.strip().splitlines()) == 1
    assert runs == []

    result = await carebot("run", "--jobs-only", CAREBOT_DATABASE_URL=postgresql)
    assert result.exit_code == 0, result.output
    [(settings, jobs_only)] = runs
    assert jobs_only and settings.database_url == postgresql


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Give the root logger back as it was: ``carebot run`` configures it for the process."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("answer", ["revoked (401)", "wrong base path (404)"])
@pytest.mark.usefixtures("root_logging")
async def test_a_rejected_token_is_one_line_naming_the_host_never_the_token(
    carebot: Carebot, sandbox: Sandbox, client: SandboxClient, answer: str
) -> None:
    base_url = sandbox.bot_base_url
    if answer.endswith("(401)"):
        await client.fault(kind="error", method="getMe", status=401, description="Unauthorized")
    else:
        base_url = f"{sandbox.url}/wrong/path/bot"

    result = await carebot("run", CAREBOT_API_BASE_URL=base_url)

    assert result.exit_code == 1, result.output
    host = sandbox.url.removeprefix("http://")
    # Before it: the start-up's log lines (migrations); no traceback, no token (see Carebot).
    *_log, last = result.stderr.strip().splitlines()
    assert last == f"the token was rejected by {host}: check CAREBOT_TOKEN"


def test_redact_exception_takes_the_token_out_of_the_whole_chain() -> None:
    from telegram.error import InvalidToken, NetworkError

    from bot.logs import redact_exception

    try:
        try:
            raise NetworkError(f"httpx.ConnectError: https://api.telegram.org/bot{TOKEN}/getMe")
        except NetworkError as cause:
            raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.") from cause
    except InvalidToken as error:
        redact_exception(error, TOKEN)
        text = "".join(traceback.format_exception(error))
    assert SECRET not in text
    assert "The token `<token>` was rejected" in text and "/bot<token>/getMe" in text


# ---------------------------------------------------------------------------- import


async def test_import_a_good_file_with_chinese_names_and_lunar_birthdays(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "customers.csv",
        "telegram_user_id,first_name,last_name,phone,language,birthday,consent",
        "1001,小明,王,+86 138 0013 8000,zh-hans,农历八月十五,是",
        "1002,丽,李,,zh_CN,农历腊月廿三,否",
        "1003,Alice,Smith,,en,1990-05-20,yes",
    )

    result = await carebot("import", "customers", str(path))

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "3 created, 0 updated."
    found = await all_customers(sessionmaker)
    assert (found[1001].first_name, found[1001].last_name) == ("小明", "王")
    assert (found[1001].birthday_calendar, found[1001].birthday_month) == ("lunar", 8)
    assert found[1001].consent_care is True
    assert (found[1002].birthday_month, found[1002].birthday_day) == (12, 23)
    assert found[1003].language == "en"


async def test_the_documented_example_file_imports(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    result = await carebot("import", "customers", str(EXAMPLE))

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "5 created, 0 updated."
    assert len(await all_customers(sessionmaker)) == 5


async def test_import_with_a_bom_and_then_an_update(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    first = write_csv(tmp_path / "a.csv", "telegram_user_id,first_name", "7,七", bom=True)
    second = write_csv(tmp_path / "b.csv", "telegram_user_id,first_name", "7,小七", "8,八")

    one = await carebot("import", "customers", str(first))
    two = await carebot("import", "customers", str(second))

    assert one.stdout.strip() == "1 created, 0 updated."
    assert two.stdout.strip() == "1 created, 1 updated."
    found = await all_customers(sessionmaker)
    assert (found[7].first_name, found[8].first_name) == ("小七", "八")


async def test_import_with_three_bad_rows_lists_them_all_and_imports_nothing(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "bad.csv",
        "telegram_user_id,first_name,phone,language,birthday",
        "1,好,,,",
        "2,[red]markup[/red],[b]12[/b],,",
        "3,好,,,",
        "abc,坏,,,",
        "5,坏,,klingon,农历十三月初一",
    )

    result = await carebot("import", "customers", str(path))

    assert result.exit_code == 1
    assert result.stdout == ""
    rows = [(row, column, value) for row, column, _, value in table_rows(result.stderr)]
    assert rows == [
        ("3", "phone", "[b]12[/b]"),
        ("5", "telegram_user_id", "abc"),
        ("6", "language", "klingon"),
        ("6", "birthday", "农历十三月初一"),
    ]
    words = [problem for _, _, problem, _ in table_rows(result.stderr)]
    assert words[0].startswith("not a phone number")
    assert words[3] == "there is no such date"
    assert "Nothing was imported: 4 problem(s) in 3 row(s)." in result.stderr
    assert await all_customers(sessionmaker) == {}


async def test_import_reports_a_duplicate_id_with_both_rows(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "dup.csv", "telegram_user_id,first_name", "42,一", "42,二")

    result = await carebot("import", "customers", str(path))

    assert result.exit_code == 1
    assert "this Telegram user id is already on row 2" in result.stderr
    assert await all_customers(sessionmaker) == {}


async def test_import_refuses_an_unknown_column(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "labels.csv", "telegram_user_id,labels", "42,vip")

    result = await carebot("import", "customers", str(path))

    assert result.exit_code == 1
    assert "unknown column; the columns are telegram_user_id, first_name" in result.stderr
    assert await all_customers(sessionmaker) == {}


async def test_import_dry_run_counts_and_writes_nothing(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "c.csv", "telegram_user_id", "1", "2")

    result = await carebot("import", "customers", str(path), "--dry-run")

    assert result.exit_code == 0
    assert result.stdout.startswith("Dry run: 2 would be created, 0 updated")
    assert await all_customers(sessionmaker) == {}


async def test_import_of_a_missing_file_is_a_usage_error(carebot: Carebot) -> None:
    result = await carebot("import", "customers", "nowhere.csv")

    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_every_import_problem_has_words() -> None:
    for problem in ImportProblem:
        words = problem_in_words(RowError(2, "x", problem, "v", first_row=1))
        assert words and "{" not in words


# ---------------------------------------------------------------------------- export


async def seed_customer_with_contacts(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> int:
    async with sessionmaker.begin() as session:
        customer = Customer(
            telegram_user_id=123456,
            first_name="小明",
            birthday_calendar="lunar",
            birthday_month=8,
            birthday_day=15,
            created_at=clock.now(),
        )
        session.add(customer)
        await session.flush()
        await record_contacts(
            session,
            [
                ContactEntry(
                    Direction.INBOUND,
                    ContactKind.TEXT,
                    clock.now(),
                    customer_id=customer.id,
                    text="我的快递到哪了？",
                    telegram_message_id=5,
                ),
                ContactEntry(
                    Direction.OUTBOUND,
                    ContactKind.TEXT,
                    clock.now(),
                    customer_id=customer.id,
                    text="马上帮您查！",
                    telegram_message_id=6,
                ),
            ],
        )
        return customer.id


async def test_export_prints_the_whole_record_as_json(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> None:
    customer_id = await seed_customer_with_contacts(sessionmaker, clock)

    by_id = await carebot("export", "customer", str(customer_id))
    by_telegram = await carebot("export", "customer", "tg:123456")

    assert by_id.exit_code == 0, by_id.output
    assert by_id.stdout == by_telegram.stdout
    assert "小明" in by_id.stdout  # not \u escapes
    assert by_id.stdout.startswith('{\n  "schema": "carebot.customer.v1",')
    record = json.loads(by_id.stdout)
    assert record["customer"]["id"] == customer_id
    assert record["customer"]["birthday"]["calendar"] == "lunar"
    assert [(c["direction"], c["text"], c["telegram_message_id"]) for c in record["contacts"]] == [
        ("in", "我的快递到哪了？", 5),
        ("out", "马上帮您查！", 6),
    ]


async def test_export_to_a_file_only_its_owner_can_read(
    carebot: Carebot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    customer_id = await seed_customer_with_contacts(sessionmaker, clock)
    target = tmp_path / "record.json"

    result = await carebot("export", "customer", str(customer_id), "--output", str(target))

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8"))["customer"]["first_name"] == "小明"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


async def test_export_of_an_unknown_customer_is_a_clear_error(carebot: Carebot) -> None:
    unknown = await carebot("export", "customer", "999")
    unknown_telegram = await carebot("export", "customer", "tg:999")
    malformed = await carebot("export", "customer", "wang")

    assert (unknown.exit_code, unknown.stdout) == (1, "")
    assert unknown.stderr.strip() == "No customer 999."
    assert unknown_telegram.stderr.strip() == "No customer tg:999."
    assert malformed.exit_code == 2
    assert "expected 17 or tg:123456" in malformed.output


# ---------------------------------------------------------------------------- staff


async def test_staff_add_list_remove(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    added = await carebot("staff", "add", "5001", "--role", "supervisor", "--name", "王丽")
    agent = await carebot("staff", "add", "5002", "--role", "agent")
    listed = await carebot("staff", "list")

    assert (added.exit_code, agent.exit_code, listed.exit_code) == (0, 0, 0)
    assert added.stdout.strip() == "Staff member 5001 (王丽) is now supervisor."
    assert [row[:3] for row in table_rows(listed.stdout)] == [
        ["5002", "", "agent"],
        ["5001", "王丽", "supervisor"],
    ]

    removed = await carebot("staff", "remove", "5001")
    again = await carebot("staff", "remove", "5001")
    listed = await carebot("staff", "list")

    assert removed.stdout.strip() == "5001 is no longer staff."
    assert again.exit_code == 1
    assert again.stderr.strip() == "No active staff member has Telegram user id 5001."
    assert "5001" not in listed.stdout and "5002" in listed.stdout
    async with sessionmaker() as session:
        member = await session.scalar(
            select(StaffMember).where(StaffMember.telegram_user_id == 5001)
        )
    assert member is not None and member.active is False


async def test_staff_add_refuses_an_unknown_role(carebot: Carebot) -> None:
    result = await carebot("staff", "add", "5001", "--role", "boss")

    assert result.exit_code == 2
    assert "agent" in result.output and "supervisor" in result.output


async def test_staff_list_when_empty_says_how_to_add(carebot: Carebot) -> None:
    result = await carebot("staff", "list")

    assert result.exit_code == 0
    assert "carebot staff add USER_ID --role agent" in result.stdout


async def test_removing_a_configured_admin_warns_they_come_back(carebot: Carebot) -> None:
    await carebot("staff", "add", "77", "--role", "admin")

    result = await carebot("staff", "remove", "77", CAREBOT_ADMINS="77,78")

    assert result.exit_code == 0
    assert "CAREBOT_ADMINS" in result.stderr
