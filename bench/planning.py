"""Planning: how long approving a campaign for a million customers takes, and its memory.

Approving a campaign plans it: one outbox row per customer in its audience, due at the
campaign's local time in that customer's time zone (``care.campaigns.approve``: keyset
pages of 10,000 customers, one bulk ``INSERT … ON CONFLICT DO NOTHING`` per page)::

    python bench/planning.py                      # 1,000,000 customers, 3 runs of each
    python bench/planning.py --database postgresql   # the same on PostgreSQL
    python bench/planning.py --customers 20000 --runs 1 --json out.json   # a smoke run

It builds a database of ``--customers`` customers once (migrated with
``bot.db.upgrade_sync``, filled with ``sqlite3.executemany`` or asyncpg's ``COPY``; on
PostgreSQL a database of its own on the server at ``--pg-url``, dropped at the end, each
run on a copy made with ``CREATE DATABASE … TEMPLATE``): 90 % accept care messages,
2 % blocked the bot, 1 % were forgotten; most have no time zone of their own, the rest
one of Asia/Shanghai, Europe/Berlin, America/New_York, Asia/Tokyo; 95 % last wrote to us
in the last 400 days (``last_seen_at``), and about half got a message from us in the
last 30 (``last_contact_at``). Then, each on a fresh copy of it and in a process of its
own (so that the memory figures are that run's):

- **approve**: ``care.campaigns.approve`` of an all-customers campaign, through the
  async engine and session carebot uses, committed;
- **replan**: ``approve`` again on the same copy (every row already there: the cost of
  idempotence);
- **baseline**: the same rows with one plain ``INSERT … SELECT`` in raw SQL through
  ``sqlite3`` or asyncpg, the due time picked by a ``CASE`` on the time zone (what the
  database alone costs; the floor for any planner);
- **traced**: ``approve`` once more under ``tracemalloc``, for the peak of Python
  allocations (tracing slows it down, so its time is not the figure).

Time is wall-clock from before the campaign is read to after the commit. Memory is the
process's peak resident set (``ru_maxrss``), which includes the interpreter and the
imported libraries; the ``idle`` line is that of a process that imported everything and
did nothing, so the difference is what planning itself needs. docs/benchmarks.md has
the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

NOW = datetime(2026, 9, 20, 2, 0, tzinfo=UTC)
SEND_ON = date(2026, 9, 25)
CREATED = datetime(2025, 1, 1, tzinfo=UTC)
DEFAULT_TIMEZONE = "Asia/Shanghai"
ZONES = (None, None, None, None, None, None, "Asia/Shanghai", "Europe/Berlin",
         "America/New_York", "Asia/Tokyo")  # fmt: skip
TARGET_SECONDS = 30.0
TARGET_MB = 500.0
KINDS = ("approve", "replan", "baseline", "traced", "idle")
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
# What the outbox holds after a run: rows per due time (the same for every kind of run).
DIGEST = "SELECT due_at, count(*) FROM outbox GROUP BY due_at ORDER BY due_at"
ELIGIBLE = "chat_id IS NOT NULL AND consent_care AND reachable AND erased_at IS NULL"
CUSTOMER_COLUMNS = (
    "id", "telegram_user_id", "chat_id", "first_name", "language", "timezone", "consent_care",
    "reachable", "erased_at", "created_at", "birthday_leap_month", "customer_type",
    "last_contact_at", "last_seen_at",
)  # fmt: skip


# ----------------------------------------------------------------------------- the data


def customer_rows(customers: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """The customers, as rows of CUSTOMER_COLUMNS."""
    draw = random.Random(seed).random
    # Apart, so that the rest of the data stays what it was before these columns.
    draw_seen = random.Random(seed + 1).random
    for n in range(1, customers + 1):
        luck = draw()
        seen, contact = _last_seen_and_contact(draw_seen)
        yield (
            n,
            10_000_000 + n,  # telegram_user_id
            10_000_000 + n,  # chat_id
            f"Customer {n}",
            "en" if n % 4 == 0 else "zh_CN",
            ZONES[n % len(ZONES)],
            luck < 0.90,  # consent_care
            not 0.90 <= luck < 0.92,  # reachable: 2 % blocked the bot
            CREATED if 0.92 <= luck < 0.93 else None,  # erased_at: 1 % forgotten
            CREATED,
            False,
            "regular",
            contact,
            seen,
        )


def _last_seen_and_contact(draw: Any) -> tuple[datetime | None, datetime | None]:
    """When a customer last wrote to us and when we last exchanged a message either way:
    5 % never wrote, the rest wrote in the last 400 days (spread evenly: a quiet:N
    audience holds about (400 - N) / 400 of them); about half, of both kinds, got a
    message from us in the last 30 days."""
    luck = draw()
    ours = NOW - timedelta(seconds=int(draw() * 30 * 86_400)) if draw() < 0.5 else None
    if luck < 0.05:
        return None, ours
    seen = NOW - timedelta(seconds=int(draw() * 400 * 86_400))
    return seen, max(seen, ours) if ours else seen


CAMPAIGN = (
    "INSERT INTO campaign (id, name, occasion, audience, send_on, send_at_local, quiet_start, "
    "quiet_end, status, automatic, created_at, planned_count) VALUES (1, 'Mid-Autumn 2026', "
    "'mid_autumn', '{\"kind\": \"all\"}', '2026-09-25', '09:00', '21:00', '08:00', 'draft', "
    "false, '2026-09-20 02:00:00', 0)"
)


def due_cases() -> tuple[list[str | None], list[datetime]]:
    """Each time zone and its due time (UTC), as care.campaigns works them out."""
    from care.engine import SendWindow
    from care.planning import DueTimes

    times = DueTimes(SendWindow(), DEFAULT_TIMEZONE, NOW)
    zones = sorted(set(ZONES), key=lambda zone: zone or "")
    return zones, [times.due(SEND_ON, zone) for zone in zones]


class SqliteStore:
    """A SQLite file built once; each run on a copy of it."""

    def __init__(self, folder: Path) -> None:
        self.base, self.work = folder / "base.db", folder / "run.db"

    def build(self, customers: int) -> None:
        from bot.db import upgrade_sync

        upgrade_sync(f"sqlite+aiosqlite:///{self.base}")
        connection = sqlite3.connect(self.base)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        # As UTCDateTime stores them on SQLite: UTC wall time.
        rows = (
            tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in row)
            for row in customer_rows(customers)
        )
        marks = ", ".join("?" for _ in CUSTOMER_COLUMNS)
        with connection:
            connection.executemany(
                f"INSERT INTO customer ({', '.join(CUSTOMER_COLUMNS)}) VALUES ({marks})", rows
            )
            connection.execute(CAMPAIGN)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()

    def fresh(self) -> str:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.work}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.base, self.work)
        return f"sqlite+aiosqlite:///{self.work}"

    def outbox_rows(self, url: str) -> list[tuple[str, int]]:
        connection = sqlite3.connect(make_url(url).database or "")
        try:
            return [(str(due)[:19], int(n)) for due, n in connection.execute(DIGEST)]
        finally:
            connection.close()

    def close(self) -> None:
        pass


class PostgresStore:
    """A database of its own on a PostgreSQL server, built once; each run on a copy."""

    def __init__(self, server: str) -> None:
        self.server = make_url(server)
        # Named after this process, so that two benchmarks on one server never meet.
        self.base = f"carebot_bench_planning_{os.getpid()}"
        self.run = f"{self.base}_run"

    def url(self, database: str) -> str:
        return self.server.set(drivername="postgresql+asyncpg", database=database).render_as_string(
            hide_password=False
        )

    async def _connect(self, database: str | None = None) -> Any:
        import asyncpg

        return await asyncpg.connect(
            host=self.server.host or "127.0.0.1",
            port=self.server.port or 5432,
            user=self.server.username or "postgres",
            password=self.server.password,
            database=database or self.server.database or "postgres",
        )

    async def _admin(self, *statements: str) -> None:
        connection = await self._connect()
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    def build(self, customers: int) -> None:
        from bot.db import upgrade_sync

        asyncio.run(
            self._admin(
                f'DROP DATABASE IF EXISTS "{self.base}" WITH (FORCE)',
                f'CREATE DATABASE "{self.base}"',
            )
        )
        upgrade_sync(self.url(self.base))

        async def fill() -> None:
            connection = await self._connect(self.base)
            try:
                await connection.copy_records_to_table(
                    "customer", records=customer_rows(customers), columns=CUSTOMER_COLUMNS
                )
                await connection.execute(CAMPAIGN)
                await connection.execute("VACUUM ANALYZE")
            finally:
                await connection.close()

        asyncio.run(fill())

    def fresh(self) -> str:
        asyncio.run(
            self._admin(
                f'DROP DATABASE IF EXISTS "{self.run}" WITH (FORCE)',
                f'CREATE DATABASE "{self.run}" TEMPLATE "{self.base}"',
            )
        )
        return self.url(self.run)

    def outbox_rows(self, url: str) -> list[tuple[str, int]]:
        async def count() -> list[tuple[str, int]]:
            connection = await self._connect(self.run)
            try:
                rows = await connection.fetch(DIGEST)
                return [
                    (row[0].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), row[1]) for row in rows
                ]
            finally:
                await connection.close()

        return asyncio.run(count())

    def close(self) -> None:
        asyncio.run(
            self._admin(
                f'DROP DATABASE IF EXISTS "{self.run}" WITH (FORCE)',
                f'DROP DATABASE IF EXISTS "{self.base}" WITH (FORCE)',
            )
        )


# ----------------------------------------------------------------------------- one run


async def _approve(url: str) -> int:
    from bot.db import make_engine, make_sessionmaker
    from care.campaigns import approve
    from care.models import Campaign

    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine).begin() as session:
            campaign = await session.get_one(Campaign, 1)
            return await approve(session, campaign, None, NOW, DEFAULT_TIMEZONE)
    finally:
        await engine.dispose()


def _baseline_sql(zones: Sequence[str | None], mark: Any) -> str:
    cases = " ".join(f"WHEN {mark(2 * n + 1)} THEN {mark(2 * n + 2)}" for n in range(len(zones)))
    return (
        "INSERT INTO outbox (customer_id, campaign_id, dedupe_key, due_at, state, attempts) "
        f"SELECT id, 1, 'campaign:1', CASE coalesce(timezone, '') {cases} END, 'pending', 0 "
        f"FROM customer WHERE {ELIGIBLE} ON CONFLICT (customer_id, dedupe_key) DO NOTHING"
    )


def _baseline(url: str) -> int:
    """The same rows in one INSERT … SELECT: due times worked out per zone in Python (a
    handful), the rest in the database."""
    zones, dues = due_cases()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        values: list[Any] = []
        for zone, due in zip(zones, dues, strict=True):
            values += [zone or "", due.replace(tzinfo=None).isoformat(" ", "microseconds")]
        connection = sqlite3.connect(parsed.database or "")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        try:
            with connection:
                return connection.execute(_baseline_sql(zones, lambda n: "?"), values).rowcount
        finally:
            connection.close()

    async def insert() -> int:
        import asyncpg

        connection = await asyncpg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username,
            password=parsed.password, database=parsed.database,
        )  # fmt: skip
        try:
            values: list[Any] = []
            for zone, due in zip(zones, dues, strict=True):
                values += [zone or "", due]
            sql = _baseline_sql(zones, lambda n: f"${n}::" + ("text" if n % 2 else "timestamptz"))
            async with connection.transaction():
                status = await connection.execute(sql, *values)
            return int(status.split()[-1])
        finally:
            await connection.close()

    return asyncio.run(insert())


def worker(kind: str, url: str) -> dict[str, Any]:
    """One measured run in this process; what it did, how long, how much memory."""
    # Everything imported before the clock starts, so every kind pays the same.
    import asyncpg  # noqa: F401

    import bot.db  # noqa: F401
    import care.campaigns  # noqa: F401

    if kind == "traced":
        tracemalloc.start()
    started = time.perf_counter()
    if kind in ("approve", "traced"):
        rows = asyncio.run(_approve(url))
    elif kind == "replan":
        asyncio.run(_approve(url))
        started = time.perf_counter()
        rows = asyncio.run(_approve(url))
    elif kind == "baseline":
        rows = _baseline(url)
    else:
        rows = 0
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "kind": kind,
        "rows": rows,
        "seconds": round(seconds, 3),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if kind == "traced":
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    return result


def measure(kind: str, store: SqliteStore | PostgresStore) -> dict[str, Any]:
    """Run ``kind`` in a fresh process on a fresh copy of the built database."""
    url = store.fresh()
    done = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--url", url],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0:
        raise SystemExit(f"the {kind} run failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    digest = store.outbox_rows(url)
    result["outbox_rows"] = sum(count for _due, count in digest)
    result["outbox_digest"] = digest
    return result


# ----------------------------------------------------------------------------- report


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians per kind and the targets."""
    found: dict[str, Any] = {}
    for kind in ("approve", "replan", "baseline"):
        times = [r["seconds"] for r in results if r["kind"] == kind]
        if times:
            found[kind] = {
                "median_s": statistics.median(times),
                "min_s": min(times),
                "max_s": max(times),
            }
    worst = max(r["seconds"] for r in results if r["kind"] == "approve")
    peak = max(r["max_rss_mb"] for r in results if r["kind"] != "traced")
    found["target_seconds_met"] = worst <= TARGET_SECONDS
    found["target_memory_met"] = peak <= TARGET_MB
    found["worst_approve_s"], found["peak_rss_mb"] = worst, peak
    return found


def report(
    results: list[dict[str, Any]], customers: int, database: str, build_seconds: float
) -> None:
    console = Console()
    table = Table(title=f"Planning a campaign for {customers:,} customers ({database})")
    for column in ("run", "kind", "rows planned", "seconds", "peak RSS MB", "tracemalloc MB"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for n, result in enumerate(results, 1):
        table.add_row(
            str(n),
            result["kind"],
            f"{result['rows']:,}",
            f"{result['seconds']:.2f}",
            f"{result['max_rss_mb']:.0f}",
            str(result.get("tracemalloc_peak_mb", "")),
        )
    console.print(table)
    console.print(f"database built in {build_seconds:.1f} s")
    found = summary(results)
    for kind in ("approve", "replan", "baseline"):
        if kind in found:
            console.print(
                f"{kind}: median {found[kind]['median_s']:.2f} s "
                f"(min {found[kind]['min_s']:.2f}, max {found[kind]['max_s']:.2f})"
            )
    console.print(
        f"target ≤ {TARGET_SECONDS:.0f} s: {'met' if found['target_seconds_met'] else 'MISSED'} "
        f"(worst {found['worst_approve_s']:.2f} s); ≤ {TARGET_MB:.0f} MB: "
        f"{'met' if found['target_memory_met'] else 'MISSED'} (peak {found['peak_rss_mb']:.0f} MB)"
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of approve and baseline")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--pg-url", default=os.environ.get("CAREBOT_TEST_PG_URL", PG_URL),
        help=f"the PostgreSQL server (default: CAREBOT_TEST_PG_URL or {PG_URL})",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--dir", type=Path, help="where SQLite files go (default: a temp dir)")
    parser.add_argument("--quiet", action="store_true", help="no table, only --json")
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = worker(args.worker, args.url)
        print(json.dumps(result))
        return result
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        store: SqliteStore | PostgresStore = (
            SqliteStore(Path(folder)) if args.database == "sqlite" else PostgresStore(args.pg_url)
        )
        try:
            started = time.perf_counter()
            store.build(args.customers)
            build_seconds = time.perf_counter() - started
            results = [measure("idle", store)]
            # Interleaved, so that drift in the machine's load touches both alike.
            for _ in range(args.runs):
                results.append(measure("approve", store))
                results.append(measure("baseline", store))
            results.append(measure("replan", store))
            results.append(measure("traced", store))
        finally:
            store.close()
    digests = {json.dumps(r["outbox_digest"]) for r in results if r["kind"] != "idle"}
    if len(digests) != 1:
        raise SystemExit(f"the runs planned different rows: {digests}")
    planned = {r["outbox_rows"] for r in results if r["kind"] != "idle"}
    if not args.quiet:
        report(results, args.customers, args.database, build_seconds)
    found = {
        "customers": args.customers,
        "database": args.database,
        "planned": planned.pop(),
        "build_seconds": round(build_seconds, 2),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "results": results,
        "summary": summary(results),
    }
    if args.json:
        args.json.write_text(json.dumps(found, indent=2))
    return found


if __name__ == "__main__":
    main()
