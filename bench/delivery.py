"""Outbound delivery: how fast the outbox sender sends, within Telegram's limits and without.

    python bench/delivery.py                  # 3,000 recipients; 9,000 messages at full speed
    python bench/delivery.py --quick          # 300 recipients; a smoke run
    python bench/delivery.py --recipients 1000 --raw-rounds 2 --json out.json

The sandbox runs in a process of its own (``python -m bot.sandbox``); carebot's real
application (``build_application``: CareBot with its contact log, the JobQueue tick, the
sender, SQLite in WAL mode in a fresh temporary database) runs in this process, which
otherwise only polls the database now and then.

1. **Limited.** The sandbox keeps Telegram's limits (30/s overall, 1/s per chat with
   bursts of 3, 20/min per group) and answers 429 over them. One campaign row per
   recipient, plus ``--busy`` recipients with 5 messages each (4 follow-ups). Measured:
   the sustained rate (sendMessage calls the sandbox received, first to last) as a
   fraction of 30/s, the 429s, the most calls in any 1 s window, and whether every
   chat's calls kept 1/s after a burst of 3.
2. **Raw.** The sandbox's limits are lifted and carebot runs in paid-broadcast mode
   (up to 1,000/s, ``allow_paid_broadcast``). ``--raw-rounds`` messages per recipient
   (3 by default, within each chat's burst). Measured: messages/s the sender pushes,
   and, in the same run, a bare httpx client sending the same sendMessage requests to
   the same sandbox, and a bare python-telegram-bot ``Bot`` sending the same messages,
   each with 8 requests at a time (their best: httpx's pool slows down with more). The
   bare client is the ceiling (what the sandbox and HTTP cost); the bare PTB bot adds
   PTB; carebot adds its contact log, the outbox's database work and the limiter, which
   holds it to 1,000/s. To see the sender's headroom, it runs once more with its own
   pace lifted (every other limit kept).

Rates come from the sandbox's own timestamps (``GET /sandbox/requests``). docs/
benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import re
import signal
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, insert, select
from telegram import Bot
from telegram.request import HTTPXRequest

from bot import db
from bot.app import build_application, finish
from bot.outbox_jobs import outbox_sender
from bot.ratelimit import Limiter
from bot.sandbox.client import SandboxClient
from bot.settings import Settings
from care.models import Campaign, CampaignStatus, Customer, Outbox, OutboxState

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "7000000001:bench-delivery-token"
TELEGRAM_RATE = 30.0
TARGET_FRACTION = 0.95
TARGET_RAW = 1000.0
HTTP_CONNECTIONS = 64  # PTB's pool in bot/app.py
UNPACED = 1_000_000.0  # messages/s: no pace at all
BARE_CONCURRENCY = 8  # the bare client's best: httpcore's pool slows down beyond
BUSY_MESSAGES = 5
FOLLOW_UPS = (
    "followup.after_purchase",
    "followup.after_resolution",
    "followup.after_first_contact",
    "birthday",
)

Log = Callable[[str], None]


# -- the sandbox process ----------------------------------------------------------------------


@dataclass
class Sandbox:
    process: asyncio.subprocess.Process
    url: str

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (NaN without /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def start_sandbox(workdir: Path) -> Sandbox:
    """``python -m bot.sandbox --limits telegram`` on a free port."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CAREBOT_")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with (workdir / "sandbox.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.sandbox",
            "--port",
            "0",
            "--limits",
            "telegram",
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=env,
        )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
    match = re.search(r"playground: (http://\S+?)/?$", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"the sandbox did not start: {line!r}")
    return Sandbox(process, match.group(1))


# -- the database ---------------------------------------------------------------------------


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone (``Etc/GMT-8`` is UTC+8) in which it is 11:00-14:59 now: the
    recipients live there, so the send-time check (their day, outside quiet hours)
    lets every row go whatever the hour the benchmark runs at."""
    for offset in range(-12, 15):
        zone = f"Etc/GMT{-offset:+d}"
        if 11 <= now.astimezone(ZoneInfo(zone)).hour < 15:
            return zone
    raise AssertionError("every hour has a zone")


async def add_recipients(
    client: SandboxClient, settings: Settings, count: int, log: Log
) -> list[tuple[int, int]]:
    """``count`` sandbox users and customers who accept care messages: (customer, chat)."""
    semaphore = asyncio.Semaphore(16)

    async def one(n: int) -> dict[str, Any]:
        async with semaphore:
            return await client.create_user(f"Guest{n}", language_code="zh-hans")

    users = await asyncio.gather(*(one(n) for n in range(count)))
    now = datetime.now(UTC)
    engine = db.make_engine(settings.database_url)
    try:
        async with db.make_sessionmaker(engine).begin() as session:
            await session.execute(
                insert(Customer),
                [
                    {
                        "telegram_user_id": user["id"],
                        "chat_id": user["id"],
                        "first_name": user["first_name"],
                        "language": "zh_CN" if n % 2 else "en",
                        "consent_care": True,
                        "consent_changed_at": now,
                        "timezone": midday_zone(now),
                        "created_at": now,
                    }
                    for n, user in enumerate(users)
                ],
            )
            found = await session.execute(select(Customer.id, Customer.chat_id))
            recipients = [(int(cid), int(chat or 0)) for cid, chat in found]
    finally:
        await engine.dispose()
    log(f"{count} recipients in the sandbox and the database")
    return sorted(recipients)


async def plan(settings: Settings, rows: list[dict[str, Any]], name: str) -> int:
    """A campaign and pending rows, due now; returns how many rows."""
    now = datetime.now(UTC)
    engine = db.make_engine(settings.database_url)
    try:
        async with db.make_sessionmaker(engine).begin() as session:
            campaign = Campaign(
                name=name,
                texts={"zh_CN": f"{name}：中秋快乐", "en": f"{name}: Happy Mid-Autumn"},
                audience={"kind": "all"},
                send_on=now.astimezone(ZoneInfo(midday_zone(now))).date(),
                status=CampaignStatus.APPROVED.value,
                created_at=now,
            )
            session.add(campaign)
            await session.flush()
            for row in rows:
                row.setdefault("campaign_id", campaign.id if row.get("template") is None else None)
                row.setdefault("due_at", now)
                row.setdefault("state", OutboxState.PENDING.value)
                row.setdefault("attempts", 0)
            await session.execute(insert(Outbox), rows)
    finally:
        await engine.dispose()
    return len(rows)


async def open_rows(settings: Settings) -> dict[str, int]:
    engine = db.make_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            found = await connection.execute(
                select(Outbox.state, func.count()).group_by(Outbox.state)
            )
            return {str(state): int(count) for state, count in found}
    finally:
        await engine.dispose()


# -- the sender -----------------------------------------------------------------------------


async def run_sender(
    settings: Settings, expected: int, log: Log, *, unpaced: bool = False
) -> dict[str, Any]:
    """Start carebot's application (no polling: the JobQueue tick starts the sender),
    wait until no row is pending or sending, stop it.

    ``unpaced`` lifts the sender's own overall pace (paid broadcast's 1,000/s) to see
    what it could do; never in production.
    """
    built = build_application(settings)
    application = built.application
    if unpaced:
        sender = outbox_sender(application)
        limits = replace(sender.limiter.limits, paid_per_second=UNPACED)
        sender.limiter = Limiter(limits)
    sessionmaker = built.services.sessionmaker
    started = time.perf_counter()
    cpu_before = time.process_time()
    await application.initialize()
    await application.start()
    try:
        deadline = started + max(60.0, 4 * expected / sender_rate(settings))
        while True:
            await asyncio.sleep(0.5)
            async with sessionmaker() as session:
                still = await session.scalar(
                    select(func.count())
                    .select_from(Outbox)
                    .where(Outbox.state.in_([OutboxState.PENDING, OutboxState.SENDING]))
                )
            if not still:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{still} rows still open after {deadline - started:.0f} s")
    finally:
        stats = outbox_sender(application).stats
        await application.stop()
        await finish(application)
        await application.shutdown()
        await built.engine.dispose()
    elapsed = time.perf_counter() - started
    log(f"sender done: {stats.sent} sent in {elapsed:.1f} s")
    return {
        "sent": stats.sent,
        "settled": dict(stats.settled),
        "rate_limited": stats.rate_limited,
        "wall_seconds": round(elapsed, 2),
        "cpu_seconds": round(time.process_time() - cpu_before, 2),
    }


def sender_rate(settings: Settings) -> float:
    return 1000.0 if settings.paid_broadcast else settings.send_per_second


def carebot_settings(sandbox: Sandbox, database_url: str, *, paid: bool) -> Settings:
    return Settings(
        token=SecretStr(TOKEN),
        database_url=database_url,
        api_base_url=f"{sandbox.url}/bot",
        log_level="WARNING",
        outbox_check_seconds=0.2,
        paid_broadcast=paid,
        persistence_interval=1.0,
    )


# -- measuring ------------------------------------------------------------------------------


def rate_of(times: Sequence[float]) -> float:
    """Calls per second from the first call to the last."""
    if len(times) < 2:
        return math.nan
    return (len(times) - 1) / (max(times) - min(times))


def most_in_any_second(times: Sequence[float]) -> int:
    ordered = sorted(times)
    most = start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def per_chat_kept(by_chat: dict[int, list[float]], burst: int = 3) -> bool:
    """Whether every chat's calls kept 1/s after a burst: any ``burst + 1`` in a row span
    at least a second (10 ms of slack for the sandbox's own timing)."""
    return all(
        b - a >= 1.0 - 0.01
        for times in by_chat.values()
        for a, b in zip(sorted(times), sorted(times)[burst:], strict=False)
    )


async def send_calls(client: SandboxClient) -> list[dict[str, Any]]:
    return [r for r in await client.requests() if r["method"] == "sendMessage"]


async def bare_ptb(sandbox: Sandbox, chats: Sequence[int], rounds: int) -> dict[str, Any]:
    """The same messages from a bare python-telegram-bot ``Bot`` (carebot's HTTP client
    settings, no contact log, no database), as many at a time as the bare client."""
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for n in range(rounds):
        for chat in chats:
            queue.put_nowait((chat, n))
    request = HTTPXRequest(connection_pool_size=HTTP_CONNECTIONS, read_timeout=10, write_timeout=10)
    async with Bot(TOKEN, base_url=f"{sandbox.url}/bot", request=request) as bot:

        async def worker() -> None:
            while not queue.empty():
                chat, n = queue.get_nowait()
                await bot.send_message(chat, f"ptb {n}: 中秋快乐", allow_paid_broadcast=True)

        started = time.perf_counter()
        cpu_before = time.process_time()
        await asyncio.gather(*(worker() for _ in range(BARE_CONCURRENCY)))
        return {
            "calls": len(chats) * rounds,
            "wall_seconds": round(time.perf_counter() - started, 2),
            "cpu_seconds": round(time.process_time() - cpu_before, 2),
        }


async def bare_httpx(sandbox: Sandbox, chats: Sequence[int], rounds: int) -> dict[str, Any]:
    """The same sendMessage calls from a bare httpx client, 64 at a time."""
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for n in range(rounds):
        for chat in chats:
            queue.put_nowait((chat, n))
    limits = httpx.Limits(max_connections=HTTP_CONNECTIONS, max_keepalive_connections=64)
    failures = 0
    async with httpx.AsyncClient(
        base_url=f"{sandbox.url}/bot{TOKEN}/", limits=limits, trust_env=False, timeout=30
    ) as http:

        async def worker() -> None:
            nonlocal failures
            while not queue.empty():
                chat, n = queue.get_nowait()
                answer = await http.post(
                    "sendMessage",
                    data={
                        "chat_id": chat,
                        "text": f"raw {n}: 中秋快乐",
                        "allow_paid_broadcast": True,
                    },
                )
                if not answer.json().get("ok"):
                    failures += 1

        started = time.perf_counter()
        cpu_before = time.process_time()
        await asyncio.gather(*(worker() for _ in range(BARE_CONCURRENCY)))
        return {
            "calls": len(chats) * rounds,
            "failures": failures,
            "wall_seconds": round(time.perf_counter() - started, 2),
            "cpu_seconds": round(time.process_time() - cpu_before, 2),
        }


# -- the run --------------------------------------------------------------------------------


@dataclass
class Options:
    recipients: int = 3000
    busy: int = 20
    raw_rounds: int = 3


async def run(options: Options, log: Log, database_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="carebot-delivery-") as folder:
        workdir = Path(folder)
        url = database_url or f"sqlite+aiosqlite:///{workdir / 'carebot.db'}"
        await db.upgrade(url)
        sandbox = await start_sandbox(workdir)
        try:
            async with SandboxClient(sandbox.url) as client:
                return await measure(options, sandbox, client, url, log)
        finally:
            await sandbox.stop()


async def measure(
    options: Options, sandbox: Sandbox, client: SandboxClient, database_url: str, log: Log
) -> dict[str, Any]:
    limited_settings = carebot_settings(sandbox, database_url, paid=False)
    recipients = await add_recipients(client, limited_settings, options.recipients, log)
    chats = [chat for _customer, chat in recipients]
    report: dict[str, Any] = {
        "date": datetime.now(UTC).date().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "options": vars(options),
    }

    # 1. Telegram's limits.
    rows = [{"customer_id": cid, "dedupe_key": "campaign:limited"} for cid, _chat in recipients]
    for cid, _chat in recipients[: options.busy]:
        rows += [
            {"customer_id": cid, "template": t, "rule": t, "dedupe_key": f"{t}:bench"}
            for t in FOLLOW_UPS[: BUSY_MESSAGES - 1]
        ]
    planned = await plan(limited_settings, rows, "Limited")
    await client.clear_requests()
    log(f"limited: {planned} messages at Telegram's limits (about {planned / 30:.0f} s)")
    sandbox_cpu = sandbox.cpu_seconds()
    sender = await run_sender(limited_settings, planned, log)
    calls = await send_calls(client)
    ok = [r["time"] for r in calls if r["ok"]]
    by_chat: dict[int, list[float]] = defaultdict(list)
    for r in calls:
        by_chat[int(r["chat_id"])].append(r["time"])
    rate = rate_of(ok)
    report["limited"] = {
        "messages": planned,
        "calls": len(calls),
        "delivered": len(ok),
        "rate_per_second": round(rate, 2),
        "fraction_of_30": round(rate / TELEGRAM_RATE, 3),
        "http_429": sum(1 for r in calls if r["error_code"] == 429),
        "other_errors": sum(1 for r in calls if not r["ok"] and r["error_code"] != 429),
        "most_in_any_second": most_in_any_second(ok),
        "per_chat_kept": per_chat_kept(by_chat),
        "busiest_chat": max(len(t) for t in by_chat.values()),
        "states": await open_rows(limited_settings),
        "sender": sender,
        "sandbox_cpu_seconds": round(sandbox.cpu_seconds() - sandbox_cpu, 2),
    }

    # 2. Limits lifted: paid broadcast against the bare client.
    await client.set_limits(preset="off")
    raw_settings = carebot_settings(sandbox, database_url, paid=True)
    rows = [
        {"customer_id": cid, "dedupe_key": f"campaign:raw:{n}", "due_at": _due(n)}
        for n in range(options.raw_rounds)
        for cid, _chat in recipients
    ]
    planned = await plan(raw_settings, rows, "Raw")
    await client.clear_requests()
    log(f"raw: {planned} messages in paid-broadcast mode, sandbox limits off")
    sandbox_cpu = sandbox.cpu_seconds()
    sender = await run_sender(raw_settings, planned, log)
    calls = await send_calls(client)
    ok = [r["time"] for r in calls if r["ok"]]
    carebot_raw = {
        "messages": planned,
        "delivered": len(ok),
        "errors": len(calls) - len(ok),
        "rate_per_second": round(rate_of(ok), 1),
        "sender": sender,
        "sandbox_cpu_seconds": round(sandbox.cpu_seconds() - sandbox_cpu, 2),
    }
    # The same again with the sender's own pace lifted: its capacity.
    rows = [
        {"customer_id": cid, "dedupe_key": f"campaign:unpaced:{n}", "due_at": _due(n)}
        for n in range(options.raw_rounds)
        for cid, _chat in recipients
    ]
    planned = await plan(raw_settings, rows, "Unpaced")
    await client.clear_requests()
    log(f"raw: {planned} messages with the sender's own pace lifted")
    unpaced = await run_sender(raw_settings, planned, log, unpaced=True)
    calls = await send_calls(client)
    ok = [r["time"] for r in calls if r["ok"]]
    carebot_raw["unpaced"] = {
        "delivered": len(ok),
        "errors": len(calls) - len(ok),
        "rate_per_second": round(rate_of(ok), 1),
        "sender": unpaced,
    }
    await client.clear_requests()
    log(f"raw: the same {planned} calls from a bare httpx client")
    sandbox_cpu = sandbox.cpu_seconds()
    bare = await bare_httpx(sandbox, chats, options.raw_rounds)
    calls = await send_calls(client)
    ok = [r["time"] for r in calls if r["ok"]]
    bare |= {
        "delivered": len(ok),
        "rate_per_second": round(rate_of(ok), 1),
        "sandbox_cpu_seconds": round(sandbox.cpu_seconds() - sandbox_cpu, 2),
    }
    await client.clear_requests()
    log(f"raw: the same {planned} messages from a bare PTB bot")
    ptb = await bare_ptb(sandbox, chats, options.raw_rounds)
    calls = await send_calls(client)
    ok = [r["time"] for r in calls if r["ok"]]
    ptb |= {"delivered": len(ok), "rate_per_second": round(rate_of(ok), 1)}
    report["raw"] = {
        "carebot": carebot_raw,
        "httpx": bare,
        "ptb": ptb,
        "ratio": round(carebot_raw["rate_per_second"] / bare["rate_per_second"], 3),
    }
    return report


def _due(round_: int) -> datetime:
    # Each round a little later, so a claim takes many chats' first message before any
    # chat's second.
    return datetime.now(UTC) - timedelta(minutes=10) + timedelta(seconds=round_)


# -- output ---------------------------------------------------------------------------------


def print_report(report: dict[str, Any], console: Console) -> None:
    limited = report["limited"]
    raw = report["raw"]
    table = Table(title=f"Outbound delivery ({report['machine']}, {report['date']})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_row(
        f"limited: sustained rate ({limited['messages']} messages)",
        f"{limited['rate_per_second']:.2f}/s = {limited['fraction_of_30']:.3f} of 30/s",
        f"≥ {TARGET_FRACTION}",
    )
    table.add_row("limited: 429s received", str(limited["http_429"]), "0")
    table.add_row(
        "limited: most arrivals in any 1 s (sandbox clock)", str(limited["most_in_any_second"]), ""
    )
    table.add_row("limited: per-chat limit kept", str(limited["per_chat_kept"]), "True")
    table.add_row(
        f"raw: carebot sender, paid broadcast ({raw['carebot']['messages']} messages)",
        f"{raw['carebot']['rate_per_second']:.0f}/s",
        f"≥ {TARGET_RAW:.0f}/s",
    )
    table.add_row(
        "raw: carebot sender, its own pace lifted",
        f"{raw['carebot']['unpaced']['rate_per_second']:.0f}/s",
        "",
    )
    for name, what in (("httpx", "bare httpx client, same calls"), ("ptb", "bare PTB bot")):
        table.add_row(f"raw: {what}", f"{raw[name]['rate_per_second']:.0f}/s", "")
    table.add_row("raw: carebot / bare httpx", f"{raw['ratio']:.2f}", "")
    sender = raw["carebot"]["sender"]
    table.add_row(
        "raw: carebot's CPU while sending",
        f"{sender['cpu_seconds'] / sender['wall_seconds']:.0%} of a core",
        "",
    )
    console.print(table)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench/delivery.py", description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--busy", type=int, default=20, help="recipients with 5 messages")
    parser.add_argument("--raw-rounds", type=int, default=3, help="raw messages per recipient")
    parser.add_argument("--quick", action="store_true", help="300 recipients")
    parser.add_argument("--database", help="a database URL (default: a temporary SQLite file)")
    parser.add_argument("--json", type=Path, help="write the report here too")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the table, return the report."""
    args = parse_args(argv)
    options = Options(args.recipients, min(args.busy, args.recipients), args.raw_rounds)
    if args.quick:
        options.recipients, options.busy = 300, 10
    console = Console(stderr=True)
    report = asyncio.run(run(options, lambda text: console.log(text), args.database))
    print_report(report, Console())
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
