"""Segments: how long classifying every customer takes (the segments job's run).

``care.segments.refresh`` reads each batch of 2,000 customers' signals with five grouped
queries (purchases, complaints, days of contact, ratings, answered care messages),
classifies them in Python and writes the rows that changed with one executemany UPDATE::

    python bench/segments.py                          # 100,000 customers, SQLite
    python bench/segments.py --database postgresql    # the same on PostgreSQL
    python bench/segments.py --customers 2000 --json out.json   # a smoke run

It builds a database (migrated with ``bot.db.upgrade``) of ``--customers`` customers with
ten inbound messages each on random days of the last 400 (so 1,000,000 contacts at the
default), one purchase for every customer (a third with an amount), a complaint for one
in five (half still open), a rating for one in ten, and a sent care message for one in
two. Then it times, in the same run:

- **first**: ``refresh`` over everyone on the fresh database (every row is written);
- **again**: ``refresh`` once more (nothing changed: the cost of reading and classifying);
- **baseline**: one plain aggregate over the same tables (days of contact per customer
  in the window, and the purchases per customer), what reading the signals costs the
  database alone, the floor for any classifier.

docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from care import segments  # noqa: E402
from care.models import (  # noqa: E402
    Complaint,
    ComplaintRating,
    Contact,
    Customer,
    Outbox,
    Purchase,
)

NOW = datetime(2026, 9, 20, 2, 0, tzinfo=UTC)
PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
CHUNK = 10_000


async def _fill(engine: AsyncEngine, customers: int, seed: int = 7) -> dict[str, int]:
    draw = random.Random(seed)
    counts = dict.fromkeys(("customers", "contacts", "purchases", "complaints", "ratings"), 0)
    counts["care_messages"] = 0
    async with engine.begin() as connection:
        for start in range(1, customers + 1, CHUNK):
            ids = range(start, min(start + CHUNK, customers + 1))
            people, contacts, purchases, complaints, outbox = [], [], [], [], []
            for cid in ids:
                days = sorted(draw.sample(range(400), 10))
                people.append(
                    {
                        "id": cid, "telegram_user_id": cid, "chat_id": cid,
                        "first_name": f"C{cid}", "created_at": NOW - timedelta(days=500),
                        "last_seen_at": NOW - timedelta(days=days[0]), "consent_care": True,
                        "reachable": True, "customer_type": "potential",
                        "birthday_leap_month": False,
                    }
                )  # fmt: skip
                contacts += [
                    {"customer_id": cid, "direction": "in", "kind": "text",
                     "created_at": NOW - timedelta(days=day, minutes=draw.randrange(1440))}
                    for day in days
                ]  # fmt: skip
                purchases.append(
                    {"customer_id": cid, "purchased_at": NOW - timedelta(days=draw.randrange(500)),
                     "created_at": NOW,
                     "amount": Decimal(draw.randrange(50, 3000)) if cid % 3 == 0 else None}
                )  # fmt: skip
                if cid % 5 == 0:
                    complaints.append(
                        {"id": cid, "customer_id": cid,
                         "status": "in_progress" if cid % 10 == 0 else "resolved",
                         "created_at": NOW - timedelta(days=20),
                         "filed_at": NOW - timedelta(days=20), "updated_at": NOW}
                    )  # fmt: skip
                if cid % 2 == 0:
                    sent = NOW - timedelta(days=draw.randrange(300))
                    outbox.append(
                        {"customer_id": cid, "dedupe_key": "campaign:1", "due_at": sent,
                         "state": "sent", "sent_at": sent}
                    )  # fmt: skip
            await connection.execute(insert(Customer), people)
            await connection.execute(insert(Contact), contacts)
            await connection.execute(insert(Purchase), purchases)
            if complaints:
                await connection.execute(insert(Complaint), complaints)
                ratings = [
                    {"complaint_id": row["id"], "resolution": 1, "resolved_at": NOW,
                     "score": 1 + row["id"] % 5, "rated_at": NOW - timedelta(days=5)}
                    for row in complaints if row["status"] == "resolved"
                ]  # fmt: skip
                await connection.execute(insert(ComplaintRating), ratings)
                counts["ratings"] += len(ratings)
            await connection.execute(insert(Outbox), outbox)
            counts["customers"] += len(people)
            counts["contacts"] += len(contacts)
            counts["purchases"] += len(purchases)
            counts["complaints"] += len(complaints)
            counts["care_messages"] += len(outbox)
    return counts


async def _refresh(engine: AsyncEngine) -> tuple[float, segments.RefreshResult]:
    sessionmaker = make_sessionmaker(engine)
    started = time.perf_counter()
    async with sessionmaker.begin() as session:
        result = await segments.refresh(session, segments.SegmentRules(), NOW)
    return time.perf_counter() - started, result


async def _baseline(engine: AsyncEngine) -> float:
    since = NOW - timedelta(days=365)
    started = time.perf_counter()
    async with engine.connect() as connection:
        await connection.execute(
            select(Contact.customer_id, func.count(func.distinct(func.date(Contact.created_at))))
            .where(Contact.direction == "in", Contact.created_at >= since)
            .group_by(Contact.customer_id)
        )
        await connection.execute(
            select(Purchase.customer_id, func.count(), func.sum(Purchase.amount)).group_by(
                Purchase.customer_id
            )
        )
    return time.perf_counter() - started


async def _distribution(engine: AsyncEngine) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    async with engine.connect() as connection:
        for column in ("customer_type", "value_segment", "lifecycle_stage", "churn_risk"):
            rows = await connection.execute(
                text(f"SELECT {column}, count(*) FROM customer GROUP BY {column} ORDER BY 1")
            )
            found[column] = {str(value): int(count) for value, count in rows}
    return found


async def run(customers: int, database: str, folder: Path) -> dict[str, Any]:
    if database == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'segments.db'}"
        admin = None
    else:
        name = f"carebot_bench_segments_{int(time.time())}"
        admin = make_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = f"{PG_SERVER}/{name}"
    await upgrade(url)
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        counts = await _fill(engine, customers)
        if database == "postgresql":
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
        fill_seconds = time.perf_counter() - started
        first, first_result = await _refresh(engine)
        again, again_result = await _refresh(engine)
        baseline = await _baseline(engine)
        return {
            "database": database,
            "counts": counts,
            "fill_s": round(fill_seconds, 1),
            "first_s": round(first, 4),
            "first_changed": first_result.changed,
            "again_s": round(again, 4),
            "again_changed": again_result.changed,
            "classified": again_result.customers,
            "baseline_s": round(baseline, 4),  # a small run takes milliseconds
            "again_over_baseline": round(again / baseline, 1) if baseline else None,
            "distribution": await _distribution(engine),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.platform()}, Python {platform.python_version()}",
        }
    finally:
        await engine.dispose()
        if admin is not None:
            async with admin.connect() as connection:
                await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            await admin.dispose()


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--quiet", action="store_true", help="no table, only --json")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(run(arguments.customers, arguments.database, Path(folder)))
    if arguments.json:
        arguments.json.write_text(json.dumps(result, indent=2))
    if not arguments.quiet:
        table = Table("", arguments.database)
        for key in ("counts", "fill_s", "first_s", "first_changed", "again_s",
                    "again_changed", "baseline_s", "again_over_baseline"):  # fmt: skip
            table.add_row(key, str(result[key]))
        Console().print(table)
    return result


if __name__ == "__main__":
    main()
