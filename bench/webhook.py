"""Webhook instances next to polling: ``python bench/inbound.py --webhook --instances 1 2 3``.

Each configuration is the real ``carebot run`` (the CLI, as deployed) on a PostgreSQL
database of its own, against a sandbox of its own without rate limits:

- ``polling``: one ``carebot run`` fetching updates with ``getUpdates`` (the baseline,
  measured in the same run);
- ``webhook ×N``: N ``carebot run --webhook`` instances behind the load balancer of the
  whole-process tests (tests/e2e/balancer.py: nginx when installed), the sandbox POSTing
  updates to it with up to 40 connections, as Telegram does.

Against each, as phases 1, 2 and 4 of bench/inbound.py (its customers, its staff desk
and its measurements): a warm-up, the closed loop (``--users`` customers registering and
writing free texts, each action after the reply to the one before: throughput) and the
paced phase (``--rate`` updates/s for ``--seconds``: reply latency). A free text's reply
is its relay into the staff group, as in bench/inbound.py. CPU per update is the sum over
the carebot processes; the balancer's CPU is given apart.

On one machine every instance, the balancer, the sandbox, PostgreSQL and the customers
share the same cores: more instances add handling capacity only while there are idle
cores, and add their own overhead (each polls the inbox, runs its jobs and keeps its
connections). docs/benchmarks.md has the figures and what they show.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from bench.inbound import (
    REGISTRATION_STEPS,
    SCRIPT_STEPS,
    WEBHOOK_SERVER,
    ChatChanges,
    Child,
    Control,
    Customer,
    Latency,
    Options,
    StaffDesk,
    Throughput,
    _run_script,
    child_environment,
    closed_loop,
    new_customers,
    paced,
    process_cpu_seconds,
    start_sandbox,
)
from tests.e2e.balancer import balancer, free_port, nginx_path

CAREBOT = Path(sys.executable).parent / "carebot"
TOKEN = "7000000001:bench-carebot-token"
SECRET = "bench-webhook-secret"
MAX_CONNECTIONS = 40
START_SECONDS = 90.0


@dataclass
class Configuration:
    name: str  # polling, webhook ×1, …
    instances: int
    webhook: bool
    throughput: Throughput
    latency: Latency
    balancer_cpu: dict[str, float]  # seconds during the closed loop and the paced phase
    errors_logged: int


class Instances:
    """The carebot processes of one configuration, measured as one bot."""

    def __init__(self, children: list[Child]) -> None:
        self.children = children

    def cpu_seconds(self) -> float:
        return sum(child.cpu_seconds() for child in self.children)

    def error_lines(self) -> list[str]:
        return [line for child in self.children for line in child.error_lines()]

    async def stop(self) -> None:
        await asyncio.gather(*(child.stop() for child in self.children))


def nginx_cpu_seconds() -> float:
    """CPU time of the nginx processes this process started (master and workers)."""
    parents = {os.getpid()}
    total = 0.0
    for _generation in range(2):
        found = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent in parents and name == "nginx":
                found.add(int(entry.name))
                total += process_cpu_seconds(int(entry.name))
        parents = found
    return total


@contextlib.asynccontextmanager
async def fresh_database(server: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database on ``server``, dropped afterwards."""
    import asyncpg

    parsed = make_url(server)
    name = f"carebot_bench_{uuid.uuid4().hex[:10]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password,
            database=parsed.database or "postgres",
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield (
            parsed.set(drivername="postgresql+asyncpg", database=name).render_as_string(
                hide_password=False
            )
        )
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def start_instance(
    name: str,
    sandbox_url: str,
    database_url: str,
    workdir: Path,
    staff_chat_id: int,
    webhook: tuple[str, int] | None,
) -> Child:
    """``carebot run`` (``--webhook URL`` listening on the port given) as deployed."""
    environment = {
        **child_environment(),
        "CAREBOT_TOKEN": TOKEN,
        "CAREBOT_API_BASE_URL": f"{sandbox_url}/bot",
        "CAREBOT_DATABASE_URL": database_url,
        "CAREBOT_STAFF_CHAT_ID": str(staff_chat_id),
        "CAREBOT_DEFAULT_LOCALE": "zh_CN",
        "CAREBOT_COMPANY_NAME": "Acme",
        "CAREBOT_LOG_LEVEL": "WARNING",
    }
    options: list[str] = []
    if webhook is not None:
        url, port = webhook
        options = ["--webhook", url]
        environment |= {
            "CAREBOT_WEBHOOK_SECRET": SECRET,
            "CAREBOT_WEBHOOK_PORT": str(port),
            "CAREBOT_WEBHOOK_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        }
    log_path = workdir / f"{name}.log"
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            str(CAREBOT),
            "run",
            *options,
            env=environment,
            cwd=workdir,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    return Child(name, process, log_path)


async def until(condition: Callable[[], Any], what: str, instances: Instances) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not await condition():
        for child in instances.children:
            if child.process.returncode is not None:
                raise RuntimeError(f"{child.name} exited:\n{child.log_path.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"waited {START_SECONDS:g} s for {what}")
        await asyncio.sleep(0.2)


async def healthy(ports: list[int]) -> bool:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        for port in ports:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status != 200:
                        return False
            except (aiohttp.ClientError, TimeoutError):
                return False
    return True


COMMANDS = ("/help", "/status", "/profile")


class Asking(Customer):
    """A customer who only sends commands answered in their own chat (``/help``,
    ``/status``, ``/profile``: a customer lookup, the contact log, a read, the reply)."""

    def _free_text(self, step: int) -> str:
        return COMMANDS[step % len(COMMANDS)]


def texts_only(customers: list[Customer]) -> list[Customer]:
    """The customers, set to skip registration and only write free texts.

    Registration is a dialogue whose step python-telegram-bot keeps in the memory of the
    process that handled the last update (bot.persistence writes it through but never
    reads it back): with several instances a customer's next answer often lands on
    another, which does not know the step, and the dialogue stalls. Until that is fixed,
    only the free texts (each answered by its relay to staff) measure every configuration
    alike.
    """
    for customer in customers:
        customer.step = REGISTRATION_STEPS
    return customers


async def people(
    control: Control,
    changes: ChatChanges,
    count: int,
    prefix: str,
    desk: StaffDesk,
    mix: str,
) -> list[Customer]:
    """``count`` new customers, skipping registration: writing free texts (answered by
    their relay to staff) for ``mix="texts"``, sending commands for ``"commands"``."""
    made = await new_customers(control, changes, count, prefix, desk)
    if mix == "commands":
        made = [Asking(control, changes, {"id": c.chat_id}) for c in made]
    return texts_only(made)


async def measure(
    name: str,
    count: int,
    webhook: bool,
    server: str,
    workdir: Path,
    options: Options,
    progress: Callable[[str], None],
    mix: str = "texts",
) -> Configuration:
    """Start a configuration, run the phases against it, stop it."""
    ports = [free_port() for _ in range(count)]
    async with contextlib.AsyncExitStack() as stack:
        database_url = await stack.enter_async_context(fresh_database(server))
        sandbox, sandbox_url = await start_sandbox(workdir)
        stack.push_async_callback(sandbox.stop)
        front = None
        if webhook:
            front = await stack.enter_async_context(
                balancer([f"http://127.0.0.1:{port}" for port in ports])
            )
        control = Control(sandbox_url)
        stack.push_async_callback(control.close)
        changes = ChatChanges(control)
        desk = StaffDesk(control, changes, await control.create_group("Care staff", []))
        hook = f"{front}/telegram/hook" if front else None
        instances = Instances(
            [
                await start_instance(
                    f"{name}-{n}".replace(" ", "").replace("×", "x"),
                    sandbox_url,
                    database_url,
                    workdir,
                    desk.chat_id,
                    (hook, port) if hook else None,
                )
                for n, port in enumerate(ports)
            ]
        )
        stack.push_async_callback(instances.stop)
        if webhook:
            await until(lambda: healthy(ports), "the instances' /healthz", instances)
        else:

            async def polling() -> bool:
                return any(r["method"] == "getUpdates" for r in await control.requests())

            await until(polling, "carebot to poll", instances)
        await changes.start()
        stack.push_async_callback(changes.stop)
        desk.start()
        stack.push_async_callback(desk.stop)
        rng = random.Random(options.seed)
        if options.warm_up:
            progress(f"{name}: warm-up")
            warm = await people(control, changes, options.warm_up, "Warm", desk, mix)
            await asyncio.gather(*(_run_script(c) for c in warm))
        progress(f"{name}: throughput, {options.users} customers")
        customers = await people(control, changes, options.users, "Customer", desk, mix)
        before = nginx_cpu_seconds()
        throughput = await closed_loop(control, customers, SCRIPT_STEPS, instances, sandbox)
        middle = nginx_cpu_seconds()
        progress(f"{name}: latency, {options.rate:g} updates/s for {options.seconds:g} s")
        paced_customers = await people(
            control, changes, options.paced_customers, "Paced", desk, mix
        )
        latency = await paced(
            control, paced_customers, options.rate, options.seconds, instances, sandbox, rng
        )
        after = nginx_cpu_seconds()
    return Configuration(
        name,
        count,
        webhook,
        throughput,
        latency,
        {"throughput": middle - before, "latency": after - middle},
        len(instances.error_lines()),
    )


def configurations(instances: list[int]) -> list[tuple[str, int, bool]]:
    """The polling baseline first, then each webhook configuration asked for."""
    return [("polling", 1, False)] + [(f"webhook ×{n}", n, True) for n in instances]


async def run(
    options: Options,
    instances: list[int],
    server: str,
    progress: Callable[[str], None],
    keep: Path | None = None,
    mix: str = "texts",
) -> dict[str, Any]:
    """Measure every configuration in turn; return the report."""
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    results: list[Configuration] = []
    with contextlib.ExitStack() as stack:
        if keep is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="carebot-wh-")))
        else:
            workdir = keep
            workdir.mkdir(parents=True, exist_ok=True)
        for name, count, webhook in configurations(instances):
            results.append(
                await measure(name, count, webhook, server, workdir, options, progress, mix)
            )
    return report(options, results, load_before, mix)


def report(
    options: Options,
    results: list[Configuration],
    load_before: tuple[float, float, float] | None,
    mix: str,
) -> dict[str, Any]:
    baseline = results[0].throughput
    return {
        "mix": mix,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "balancer": "nginx" if nginx_path() else "round-robin proxy (tests/e2e/balancer.py)",
        "options": asdict(options),
        "configurations": {
            result.name: {
                **asdict(result),
                "throughput": {
                    **asdict(result.throughput),
                    "bot_ms_per_update": result.throughput.bot_ms_per_update,
                    "bot_core_share": result.throughput.bot_core_share,
                    "versus_polling": result.throughput.per_second / baseline.per_second,
                },
                "latency": {
                    **asdict(result.latency),
                    "bot_ms_per_update": _ms_per_update(result.latency),
                },
            }
            for result in results
        },
    }


def _ms_per_update(latency: Latency) -> float:
    return 1000 * latency.cpu.bot / latency.updates if latency.updates else math.nan


def print_report(result: dict[str, Any], console: Console) -> None:
    runs = result["configurations"]
    options = result["options"]
    table = Table(
        title=f"carebot on PostgreSQL: polling and webhook instances ({result['balancer']}),"
        f" customers sending {result['mix']}"
    )
    table.add_column("")
    for name in runs:
        table.add_column(name, justify="right")

    def row(label: str, value: Callable[[dict[str, Any]], str]) -> None:
        table.add_row(label, *(value(run) for run in runs.values()))

    table.add_row(f"[bold]closed loop: {options['users']} × {SCRIPT_STEPS}[/]")
    row("updates handled / s", lambda r: f"{r['throughput']['per_second']:.0f}")
    row("versus polling", lambda r: f"{r['throughput']['versus_polling']:.2f}")
    row("carebot CPU ms / update", lambda r: f"{r['throughput']['bot_ms_per_update']:.2f}")
    row("carebot busy (of one core)", lambda r: f"{r['throughput']['bot_core_share']:.0%}")
    row("balancer CPU s", lambda r: f"{r['balancer_cpu']['throughput']:.1f}")
    row("CPU s sandbox / load", lambda r: _others(r["throughput"]["cpu"]))
    table.add_row(f"[bold]paced: {options['rate']:g}/s for {options['seconds']:g} s[/]")
    row("offered updates / s", lambda r: f"{r['latency']['offered_per_second']:.1f}")
    row("latency p50 ms", lambda r: f"{r['latency']['p50_ms']:.1f}")
    row("latency p99 ms", lambda r: f"{r['latency']['p99_ms']:.1f}")
    row("latency max ms", lambda r: f"{r['latency']['max_ms']:.1f}")
    row("carebot CPU ms / update", lambda r: f"{r['latency']['bot_ms_per_update']:.2f}")
    row("balancer CPU s", lambda r: f"{r['balancer_cpu']['latency']:.1f}")
    table.add_row("[bold]correctness[/]")
    row(
        "replies missing",
        lambda r: str(r["throughput"]["missing"] + r["latency"]["missing"]),
    )
    row(
        "API errors / carebot errors",
        lambda r: (
            f"{r['throughput']['api_errors'] + r['latency']['api_errors']} / {r['errors_logged']}"
        ),
    )
    console.print(table)
    machine = result["machine"]
    console.print(
        f"{result['date']}, {machine['cpus']} CPUs, {machine['platform']},"
        f" Python {machine['python']}, load average before {machine['load_average_before']}"
        f" and after {machine['load_average_after']}"
    )


def _others(cpu: dict[str, float]) -> str:
    return f"{cpu['sandbox']:.1f} / {cpu['load']:.1f}"


def main(
    options: Options,
    instances: list[int],
    server: str | None,
    json_path: Path | None,
    keep: Path | None,
    mix: str = "texts",
) -> dict[str, Any]:
    """bench/inbound.py --webhook: run, print the table, return the report."""
    server = server or os.environ.get("CAREBOT_BENCH_PG_URL") or WEBHOOK_SERVER
    console = Console(stderr=True)
    result = asyncio.run(run(options, instances, server, lambda text: console.log(text), keep, mix))
    print_report(result, Console())
    if json_path:
        json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result
