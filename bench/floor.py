"""The floor under carebot's CPU per update: what its database work costs at the least.

Issue 14 asks for carebot's CPU per update at 50 updates/s to be at most 1.5 times a bare
PTB echo bot's. An echo bot does no database work; carebot, for one customer's free text,
writes the update to the durable inbox and claims it, records the message in the
customer's conversation and owes its relay to staff (one transaction), marks the update
done with its contact-log entry, then claims the owed relay, sends it and settles it.
``bench/inbound.py --census`` counts what that costs in statements and transactions.

This script measures, in one process and on the same machine, what the smallest pieces
cost the event loop's thread (``time.thread_time``: SQLite's own work runs on aiosqlite's
thread and does not count, nor do other processes), through the engine carebot uses
(``bot.db.make_engine``: aiosqlite with ``bot.sqlite_driver``):

- an empty transaction (BEGIN … COMMIT through the session);
- a prebuilt Core SELECT by key: within a transaction already open (the statement
  alone), on a connection of its own and through a session of its own;
- a prebuilt Core UPDATE in a transaction of its own;
- an ORM ``session.get``, and an ORM change flushed and committed;
- the same SELECT as raw SQL on the connection (``exec_driver_sql``): the asyncio and
  pool overhead alone, without SQLAlchemy's statement handling.

and then the floor for a census: ``statements × cheapest statement + transactions ×
empty transaction``, the CPU carebot would spend on its database work if every statement
were the cheapest kind. Added to the echo bot's CPU per update (which covers receiving an
update and one Bot API call), it is a lower bound for carebot, whatever is optimised::

    python bench/floor.py                                   # census of the closed loop
    python bench/floor.py --statements 13.3 --commits 5.6 --echo-ms 4.5 --json out.json

docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.db import make_engine
from care.models import Base, Customer

Step = Callable[[], Awaitable[None]]


async def _per_call_us(step: Step, calls: int, rounds: int) -> float:
    """The median over ``rounds`` of the loop thread's CPU per call, in microseconds."""
    for _ in range(max(calls // 10, 20)):
        await step()  # warm: statement caches, pool
    figures = []
    for _ in range(rounds):
        start = time.thread_time()
        for _ in range(calls):
            await step()
        figures.append((time.thread_time() - start) / calls * 1e6)
    return statistics.median(figures)


async def measure(calls: int, rounds: int) -> dict[str, float]:
    """Microseconds of loop-thread CPU per call of each piece."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(folder) / 'floor.db'}")
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        now = datetime.now(UTC)
        async with sessions.begin() as session:
            session.add(Customer(chat_id=1, telegram_user_id=1, created_at=now))
        by_chat = select(Customer.id, Customer.last_seen_at).where(
            Customer.chat_id == bindparam("chat")
        )
        seen = (
            update(Customer)
            .where(Customer.id == bindparam("customer"))
            .values(last_seen_at=bindparam("at"))
        )

        async def empty_transaction() -> None:
            async with sessions.begin():
                pass

        async def core_select_connection() -> None:
            async with engine.connect() as connection:
                (await connection.execute(by_chat, {"chat": 1})).first()

        async def core_select_session() -> None:
            async with sessions() as session:
                (await session.execute(by_chat, {"chat": 1})).first()

        async def raw_select() -> None:
            async with engine.connect() as connection:
                sql = "SELECT id, last_seen_at FROM customer WHERE chat_id = ?"
                (await connection.exec_driver_sql(sql, (1,))).first()

        async def core_update_transaction() -> None:
            async with sessions.begin() as session:
                await session.execute(seen, {"customer": 1, "at": datetime.now(UTC)})

        async def orm_get() -> None:
            async with sessions() as session:
                await session.get(Customer, 1)

        async def orm_change_committed() -> None:
            async with sessions.begin() as session:
                customer = await session.get_one(Customer, 1)
                customer.last_seen_at = datetime.now(UTC)

        held = await engine.connect()

        async def core_select_held() -> None:
            (await held.execute(by_chat, {"chat": 1})).first()

        steps: dict[str, Step] = {
            "empty transaction": empty_transaction,
            "prebuilt Core SELECT (within a transaction)": core_select_held,
            "raw SQL SELECT (connection)": raw_select,
            "prebuilt Core SELECT (connection)": core_select_connection,
            "prebuilt Core SELECT (session)": core_select_session,
            "prebuilt Core UPDATE in a transaction": core_update_transaction,
            "ORM session.get": orm_get,
            "ORM get, change, flush, commit": orm_change_committed,
        }
        figures = {name: await _per_call_us(step, calls, rounds) for name, step in steps.items()}
        await held.close()
        await engine.dispose()
        return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure, print, and return the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (the median is shown)")
    parser.add_argument(
        "--statements", type=float, default=13.3, help="SQL statements per update (census)"
    )
    parser.add_argument("--commits", type=float, default=5.6, help="commits per update (census)")
    parser.add_argument(
        "--echo-ms", type=float, default=4.5, help="the echo bot's CPU ms per update, same machine"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)

    figures = asyncio.run(measure(args.calls, args.rounds))
    statement = figures["prebuilt Core SELECT (within a transaction)"]
    transaction = figures["empty transaction"]
    database_ms = (args.statements * statement + args.commits * transaction) / 1000
    floor_ms = args.echo_ms + database_ms

    console = Console()
    table = Table(title="Loop-thread CPU per call (µs), the median of the rounds")
    table.add_column("piece")
    table.add_column("µs", justify="right")
    for name, value in figures.items():
        table.add_row(name, f"{value:.0f}")
    console.print(table)
    console.print(
        f"floor for {args.statements} statements and {args.commits} commits per update: "
        f"database {database_ms:.1f} ms + echo {args.echo_ms:.1f} ms = {floor_ms:.1f} ms, "
        f"{floor_ms / args.echo_ms:.2f} × the echo bot (target ≤ 1.5 ×: "
        f"{1.5 * args.echo_ms:.1f} ms)"
    )
    console.print(
        f"{datetime.now(UTC).isoformat(timespec='seconds')}, {platform.platform()}, "
        f"Python {platform.python_version()}"
    )
    report: dict[str, Any] = {
        "figures_us": figures,
        "statements": args.statements,
        "commits": args.commits,
        "echo_ms": args.echo_ms,
        "database_floor_ms": database_ms,
        "floor_ms": floor_ms,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
