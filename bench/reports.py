"""Reports: how long the monthly report takes on a big database, next to a baseline.

::

    python bench/reports.py                          # SQLite: 100,000 customers,
                                                     # 1,000,000 contacts, 50,000 complaints
    python bench/reports.py --database postgresql    # the same on PostgreSQL
    python bench/reports.py --customers 2000 --contacts 20000 --complaints 1000 --runs 1

It builds a database once (migrated with ``bot.db.upgrade_sync``, filled with
``sqlite3.executemany`` or asyncpg's ``COPY``; on PostgreSQL a database of its own on
the server at ``--pg-url``, dropped at the end) holding a year of history:

- customers who came in over the last two years; 2 % blocked the bot, 1 % were
  forgotten (an anonymous row, as ``care.privacy`` leaves it); each one's
  ``last_seen_at`` as the contact log keeps it (their last message to us);
- contacts spread over the last 365 days, 60 % from customers, 40 % ours;
- complaints over the last 365 days in five categories and three priorities, each with
  its events (acknowledged, 80 % resolved, 5 % of those reopened), deadlines and
  outcomes, and a rating for half of the resolutions;
- care messages (outbox rows) of twelve monthly campaigns and follow-ups in every state.
- conversations, twice as many as complaints, with their events (opened, the first staff
  answer, closed), a third of them taken by an agent; FAQ answers, as many as
  complaints, a quarter followed by "ask a person" and a quarter found helpful.

Then, ``--runs`` times each, alternating:

- **report**: ``care.reports.build_report`` of the last full month with every view (by
  category, priority, staff and channel), through the async engine carebot uses;
- **baseline**: one plain aggregate query over the same tables for the same month
  (contacts in and out, complaints filed, ratings, care messages, conversations opened
  and FAQ events counted), through
  the same engine: what merely touching the month's rows costs.

Time is wall-clock for the whole report or query. docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

NOW = datetime(2026, 10, 5, 2, 0, tzinfo=UTC)
TIMEZONE = "Asia/Shanghai"
MONTH = date(2026, 9, 1)  # the last full month before NOW
YEAR = timedelta(days=365)
CATEGORIES = ("product", "delivery", "service", "billing", "other")
PRIORITIES = ("normal", "normal", "normal", "high", "urgent")
STAFF = 20

TABLES: dict[str, tuple[str, ...]] = {
    "staff_member": ("id", "telegram_user_id", "name", "role", "active", "created_at"),
    "customer": (
        "id", "chat_id", "first_name", "customer_type", "birthday_leap_month", "consent_care",
        "reachable", "unreachable_since", "created_at", "erased_at",
    ),
    "contact": ("customer_id", "direction", "kind", "created_at"),
    "complaint": (
        "id", "number", "customer_id", "category", "status", "priority", "agitated",
        "assignee_id", "created_at", "filed_at", "updated_at", "acknowledged_at",
        "resolved_at", "times_resolved", "acknowledge_due_at", "resolve_due_at",
        "acknowledged_on_time", "resolved_on_time",
    ),
    "complaint_event": (
        "complaint_id", "at", "type", "staff_id", "by_customer", "from_status", "to_status",
    ),
    "complaint_rating": ("complaint_id", "resolution", "resolved_at", "score", "rated_at"),
    "conversation": (
        "id", "customer_id", "status", "assignee_id", "opened_at", "updated_at",
        "first_response_due_at", "first_response_at", "resolve_due_at", "closed_at",
    ),
    "conversation_event": ("conversation_id", "at", "type", "staff_id", "by_customer",
                           "to_status"),
    "faq_event": ("entry_id", "customer_id", "kind", "at"),
    "campaign": (
        "id", "name", "audience", "send_on", "send_at_local", "quiet_start", "quiet_end",
        "status", "automatic", "created_at", "planned_count",
    ),
    "outbox": (
        "customer_id", "campaign_id", "rule", "dedupe_key", "due_at", "state", "attempts",
        "sent_at", "last_error",
    ),
}  # fmt: skip


def _moment(draw: random.Random, span: timedelta = YEAR) -> datetime:
    return NOW - timedelta(seconds=int(draw.random() * span.total_seconds()))


def rows(customers: int, contacts: int, complaints: int, seed: int = 13) -> dict[str, Any]:
    """Every table's rows, made lazily (a generator per table)."""
    draw = random.Random(seed)
    created: list[datetime] = [_moment(draw, 2 * YEAR) for _ in range(customers)]

    def staff() -> Iterator[tuple[Any, ...]]:
        for n in range(1, STAFF + 1):
            role = "supervisor" if n <= 2 else "agent"
            yield (n, 10_000 + n, f"Agent {n}", role, True, NOW - YEAR)

    def customer() -> Iterator[tuple[Any, ...]]:
        for n, at in enumerate(created, start=1):
            luck = draw.random()
            blocked = at + (NOW - at) * draw.random() if luck < 0.02 else None
            erased = at + (NOW - at) * draw.random() if 0.02 <= luck < 0.03 else None
            yield (
                n, None if erased else 1_000_000 + n, None if erased else f"C{n}", "potential",
                False, luck < 0.9, blocked is None, blocked, at, erased,
            )  # fmt: skip

    def contact() -> Iterator[tuple[Any, ...]]:
        for _ in range(contacts):
            who = draw.randrange(customers)
            at = max(created[who], _moment(draw))
            yield (who + 1, "in" if draw.random() < 0.6 else "out", "text", at)

    events: list[tuple[Any, ...]] = []
    ratings: list[tuple[Any, ...]] = []

    def complaint() -> Iterator[tuple[Any, ...]]:
        for n in range(1, complaints + 1):
            who = draw.randrange(customers)
            filed = max(created[who], _moment(draw))
            priority = draw.choice(PRIORITIES)
            ack_target = {"normal": 2, "high": 0.5, "urgent": 1 / 6}[priority]
            resolve_target = {"normal": 48, "high": 24, "urgent": 4}[priority]
            agent = draw.randrange(1, STAFF + 1)
            acked = filed + timedelta(hours=draw.expovariate(1 / ack_target))
            if acked > NOW:
                acked = None
            resolved = None
            if acked is not None and draw.random() < 0.8:
                resolved = acked + timedelta(hours=draw.expovariate(1 / resolve_target))
                resolved = resolved if resolved <= NOW else None
            ack_due = filed + timedelta(hours=ack_target)
            resolve_due = filed + timedelta(hours=resolve_target)
            reopened = resolved is not None and draw.random() < 0.05
            status = "new" if acked is None else "in_progress"
            if resolved is not None:
                status = "reopened" if reopened else "closed"
            yield (
                n, f"C-{n:07d}", who + 1, draw.choice(CATEGORIES), status, priority, False,
                agent, filed, filed, resolved or acked or filed, acked,
                None if reopened else resolved, 1 if resolved else 0, ack_due, resolve_due,
                None if acked is None else acked <= ack_due,
                None if resolved is None else resolved <= resolve_due,
            )  # fmt: skip
            if acked is not None:
                events.append((n, acked, "status", agent, False, "new", "acknowledged"))
            if resolved is not None:
                events.append((n, resolved, "status", agent, False, "in_progress", "resolved"))
                if draw.random() < 0.5:
                    rated = resolved + timedelta(hours=draw.random() * 24)
                    score = draw.choices((1, 2, 3, 4, 5), (5, 5, 10, 30, 50))[0]
                    ratings.append((n, 1, resolved, score, min(rated, NOW)))
                if reopened:
                    again = resolved + timedelta(days=1)
                    events.append((n, min(again, NOW), "status", None, True, "resolved",
                                   "reopened"))  # fmt: skip

    talk_events: list[tuple[Any, ...]] = []

    def conversation() -> Iterator[tuple[Any, ...]]:
        # Two conversations a complaint: answered within an hour or so (first response
        # due in 2 hours), 90 % closed within a day or two (due in 48), a third taken by
        # an agent.
        for n in range(1, 2 * complaints + 1):
            who = draw.randrange(customers)
            opened = max(created[who], _moment(draw))
            agent = draw.randrange(1, STAFF + 1)
            answered: datetime | None = opened + timedelta(hours=draw.expovariate(1.0))
            if answered is not None and answered > NOW:
                answered = None
            closed = None
            if answered is not None and draw.random() < 0.9:
                closed = answered + timedelta(hours=draw.expovariate(1 / 24))
                closed = closed if closed <= NOW else None
            talk_events.append((n, opened, "opened", None, True, "open"))
            if answered is not None:
                talk_events.append((n, answered, "staff_answer", agent, False, "waiting_customer"))
            if closed is not None:
                talk_events.append((n, closed, "status", agent, False, "closed"))
            yield (
                n, who + 1, "closed" if closed else "waiting_customer" if answered else "open",
                agent if draw.random() < 0.33 else None, opened, closed or answered or opened,
                opened + timedelta(hours=2), answered, opened + timedelta(hours=48), closed,
            )  # fmt: skip

    def faq_event() -> Iterator[tuple[Any, ...]]:
        # As many FAQ answers as complaints; a quarter followed by "ask a person".
        for _ in range(complaints):
            who = draw.randrange(customers)
            at = max(created[who], _moment(draw))
            entry = f"entry-{draw.randrange(40)}"
            yield (entry, who + 1, "answered", at)
            luck = draw.random()
            if luck < 0.25:
                yield (entry, who + 1, "asked_person", at + timedelta(minutes=2))
            elif luck < 0.5:
                yield (entry, who + 1, "helpful", at + timedelta(minutes=1))

    def campaign() -> Iterator[tuple[Any, ...]]:
        for n in range(1, 13):
            day = (NOW - timedelta(days=30 * n)).date()
            yield (n, f"Campaign {n}", '{"kind": "all"}', day, "09:00", "21:00", "08:00",
                   "done", False, NOW - timedelta(days=30 * n + 3), 0)  # fmt: skip

    def outbox() -> Iterator[tuple[Any, ...]]:
        states = ("sent",) * 80 + ("skipped",) * 10 + ("failed", "blocked", "unconfirmed") * 3
        reasons = ("opted_out", "unreachable", "forgotten", "too_late", "no_longer_applies")
        for n in range(customers // 2):
            who = draw.randrange(customers)
            campaign_id = draw.randrange(1, 13) if draw.random() < 0.7 else None
            due = _moment(draw)
            state = draw.choice(states)
            yield (
                who + 1, campaign_id, None if campaign_id else "after_resolution", f"b:{n}",
                due, state, 1, due if state == "sent" else None,
                draw.choice(reasons) if state == "skipped" else None,
            )  # fmt: skip

    # Complaints first: they fill the events and ratings generated after them.
    return {
        "staff_member": staff(),
        "customer": customer(),
        "contact": contact(),
        "complaint": complaint(),
        "complaint_event": iter(events),
        "complaint_rating": iter(ratings),
        "conversation": conversation(),
        "conversation_event": iter(talk_events),
        "faq_event": faq_event(),
        "campaign": campaign(),
        "outbox": outbox(),
    }


# What the contact log keeps on each customer: the last message they sent us.
LAST_SEEN = (
    "UPDATE customer SET last_seen_at = (SELECT max(created_at) FROM contact"
    " WHERE contact.customer_id = customer.id AND contact.direction = 'in')"
)


def _sqlite_value(value: Any) -> Any:
    # As UTCDateTime stores them on SQLite: UTC wall time with microseconds.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def build_sqlite(path: Path, sizes: tuple[int, int, int]) -> str:
    from bot.db import upgrade_sync

    url = f"sqlite+aiosqlite:///{path}"
    upgrade_sync(url)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    with connection:
        for table, produced in rows(*sizes).items():
            columns = TABLES[table]
            marks = ", ".join("?" for _ in columns)
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                (tuple(_sqlite_value(v) for v in row) for row in produced),
            )
        connection.execute(LAST_SEEN)
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return url


class Postgres:
    """A database of its own on a PostgreSQL server, dropped at the end."""

    def __init__(self, server: str) -> None:
        self.server = make_url(server)
        self.name = f"carebot_bench_reports_{os.getpid()}"

    def url(self) -> str:
        return self.server.set(
            drivername="postgresql+asyncpg", database=self.name
        ).render_as_string(hide_password=False)

    async def _connect(self, database: str) -> Any:
        import asyncpg

        return await asyncpg.connect(
            host=self.server.host or "127.0.0.1", port=self.server.port or 5432,
            user=self.server.username or "postgres", password=self.server.password,
            database=database,
        )  # fmt: skip

    async def _admin(self, statement: str) -> None:
        connection = await self._connect(self.server.database or "postgres")
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def build(self, sizes: tuple[int, int, int]) -> str:
        from bot.db import upgrade_sync

        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        asyncio.run(self._admin(f'CREATE DATABASE "{self.name}"'))
        upgrade_sync(self.url())

        async def fill() -> None:
            connection = await self._connect(self.name)
            try:
                for table, produced in rows(*sizes).items():
                    await connection.copy_records_to_table(
                        table, records=produced, columns=TABLES[table]
                    )
                await connection.execute(LAST_SEEN)
                for table in ("staff_member", "customer", "complaint", "campaign", "conversation"):
                    await connection.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                await connection.execute("VACUUM ANALYZE")
            finally:
                await connection.close()

        asyncio.run(fill())
        return self.url()

    def drop(self) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


BASELINE = text(
    "SELECT"
    " (SELECT count(*) FROM contact WHERE created_at >= :start AND created_at < :end),"
    " (SELECT count(*) FROM complaint WHERE filed_at >= :start AND filed_at < :end),"
    " (SELECT count(*) FROM complaint_rating WHERE rated_at >= :start AND rated_at < :end),"
    " (SELECT count(*) FROM outbox WHERE due_at >= :start AND due_at < :end),"
    " (SELECT count(*) FROM conversation WHERE opened_at >= :start AND opened_at < :end),"
    " (SELECT count(*) FROM faq_event WHERE at >= :start AND at < :end)"
)


async def measure(url: str, runs: int) -> dict[str, Any]:
    from bot.db import make_engine, make_sessionmaker
    from care.reports import Period, PeriodKind, ReportSettings, build_report

    period = Period.of(PeriodKind.MONTH, MONTH, TIMEZONE)
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    dialect = engine.dialect.name

    def bound(moment: datetime) -> Any:
        # The baseline's raw SQL binds as the ORM's UTCDateTime would.
        return _sqlite_value(moment) if dialect == "sqlite" else moment

    report_times: list[float] = []
    baseline_times: list[float] = []
    figures: dict[str, Any] = {}
    baseline: tuple[Any, ...] = ()
    try:
        for _ in range(runs):
            started = time.perf_counter()
            async with sessionmaker() as session:
                report = await build_report(session, period, NOW, ReportSettings())
            report_times.append(time.perf_counter() - started)
            figures = report.as_dict()
            started = time.perf_counter()
            async with sessionmaker() as session:
                baseline = tuple(
                    (
                        await session.execute(
                            BASELINE, {"start": bound(period.start), "end": bound(period.end)}
                        )
                    ).one()
                )
            baseline_times.append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return {
        "report_s": report_times,
        "baseline_s": baseline_times,
        "report_median_s": statistics.median(report_times),
        "baseline_median_s": statistics.median(baseline_times),
        "complaints": figures.get("complaints"),
        "contacts": (figures.get("contacts_in") or 0) + (figures.get("contacts_out") or 0),
        "baseline_counts": list(baseline),
        "figures": {
            key: figures.get(key)
            for key in (
                "customers_served",
                "ack_on_time_rate",
                "first_response_median_s",
                "csat_score",
                "churn_rate",
                "care_planned",
                "faq_deflection_rate",
            )
        },
        "conversations": {
            key: (figures.get("conversations") or {}).get(key)
            for key in ("conversations", "ack_on_time_rate", "resolve_on_time_rate")
        },
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CAREBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--dir", type=Path, help="where the SQLite file goes (default: temp)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--reuse", action="store_true", help="SQLite: measure the file in --dir as it is"
    )
    parser.add_argument(
        "--keep", action="store_true", help="PostgreSQL: keep the database (and print its URL)"
    )
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    sizes = (args.customers, args.contacts, args.complaints)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.dir or Path(temporary)
        postgres = Postgres(args.pg_url) if args.database == "postgresql" else None
        try:
            if postgres is not None:
                url = postgres.build(sizes)
            else:
                path = folder / "reports.db"
                if args.reuse and path.exists():
                    url = f"sqlite+aiosqlite:///{path}"
                else:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{path}{suffix}").unlink(missing_ok=True)
                    url = build_sqlite(path, sizes)
            built = time.perf_counter() - started
            result = asyncio.run(measure(url, args.runs))
        finally:
            if postgres is not None and not args.keep:
                postgres.drop()
            elif postgres is not None:
                print(f"kept {postgres.url()}", file=sys.stderr)
    result.update(
        database=args.database, customers=args.customers, contacts_total=args.contacts,
        complaints_total=args.complaints, build_s=built, runs=args.runs,
        python=platform.python_version(), when=datetime.now(UTC).isoformat(timespec="seconds"),
    )  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    if not args.quiet:
        print(
            f"{args.database}: {args.customers:,} customers, {args.contacts:,} contacts, "
            f"{args.complaints:,} complaints, {2 * args.complaints:,} conversations "
            f"(built in {built:.0f} s)\n"
            f"  monthly report  median {result['report_median_s']:.2f} s  "
            f"runs {', '.join(f'{t:.2f}' for t in result['report_s'])}\n"
            f"  baseline query  median {result['baseline_median_s']:.2f} s  "
            f"runs {', '.join(f'{t:.2f}' for t in result['baseline_s'])}\n"
            f"  September: {result['complaints']} complaints, {result['contacts']} contacts; "
            f"{result['figures']}; conversations {result['conversations']}"
        )
    return result


if __name__ == "__main__":
    main()
