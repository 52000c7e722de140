"""``carebot run --webhook`` as real processes (issue 14): the sandbox delivers updates by
webhook; a wrong secret is refused; /healthz and /metrics answer; several instances on
one PostgreSQL database behind a load balancer (nginx when installed: tests/e2e/balancer.py)
handle every update once, each chat in order, even when one of them is killed mid-stream
and started again: 2,000 updates from 200 chats over 40 connections, as issue 14 asks."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.inbox_models import InboxState
from tests.e2e.balancer import balancer, free_port
from tests.e2e.processes import TOKEN, sandbox_process, start_carebot, stop, wait_for
from tests.e2e.test_inbox_crash import inbound_by_chat, rows_in
from tests.helpers import Person, text_of

SECRET = "webhook-secret_42"


def webhook_settings(port: int) -> dict[str, str]:
    return {
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_MAX_CONNECTIONS": "40",
    }


async def webhook_info(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(trust_env=False) as http:
        answer = await http.post(f"{url}/bot{TOKEN}/getWebhookInfo")
        result: dict[str, Any] = answer.json()["result"]
        return result


async def listening(port: int) -> bool:
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=1) as http:
            return (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_one_instance_answers_by_webhook_and_refuses_a_wrong_secret(
    database_url: str, engine: object, tmp_path: Path
) -> None:
    log = tmp_path / "carebot.log"
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    async with sandbox_process() as url, SandboxClient(url) as client:
        anna = Person(client, await client.create_user("Anna", language_code="en"), timeout=30)
        carebot = await start_carebot(
            url, database_url, log, "--webhook", hook, **webhook_settings(port)
        )
        try:
            await wait_for(lambda: listening(port), 30, "the webhook server", log)

            async def webhook_set() -> bool:
                return (await webhook_info(url))["url"] == hook

            await wait_for(webhook_set, 30, "the webhook to be set", log)
            answer = await anna.say("/help")
            assert "/complain" in text_of(answer)
            async with httpx.AsyncClient(trust_env=False) as http:
                update = {"update_id": 999_999, "message": {"message_id": 1}}
                wrong = await http.post(
                    hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess-1"}
                )
                missing = await http.post(hook, json=update)
                health = (await http.get(f"http://127.0.0.1:{port}/healthz")).json()
                metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            assert (wrong.status_code, missing.status_code) == (401, 401)
            assert health["database"] == "ok" and health["last_update_age_seconds"] >= 0
            assert "carebot_updates_received_total 1.0" in metrics
            assert "carebot_updates_handled_total 1.0" in metrics
            assert "carebot_handler_seconds_bucket" in metrics
        finally:
            await stop(carebot, signal.SIGTERM)
        said = log.read_text(errors="replace")
        assert "refused a request" in said and "guess-1" not in said
        info = await webhook_info(url)
        assert info["pending_update_count"] == 0


CHATS = 200
MESSAGES = 10


@pytest.mark.timeout(600)
async def test_three_instances_behind_a_balancer_survive_a_kill_of_one(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share one database on PostgreSQL only")
    log = tmp_path / "carebot.log"
    ports = [free_port() for _ in range(3)]
    backends = [f"http://127.0.0.1:{port}" for port in ports]
    # Without Telegram's sending limits: a handler's reply is not paced (only the outbox
    # is), so 200 chats writing at once would meet 429s beyond bot.delivery's retries and
    # get an apology instead of some replies, whatever the instances and the balancer do.
    async with (
        sandbox_process(limits="off") as url,
        SandboxClient(url) as client,
        balancer(backends) as front,
    ):
        hook = f"{front}/telegram/hook"
        users = [await client.create_user(f"Guest{n}", language_code="en") for n in range(CHATS)]

        async def start(port: int) -> asyncio.subprocess.Process:
            return await start_carebot(
                url, database_url, log, "--webhook", hook, **webhook_settings(port)
            )

        # All at once: they take turns to migrate (and to set the webhook).
        instances = [await start(port) for port in ports]
        try:
            for port in ports:
                await wait_for(lambda port=port: listening(port), 60, "the instances", log)
            for n in range(MESSAGES):
                await asyncio.gather(
                    *(client.send_text(u["id"], u["id"], f"/help {n}") for u in users)
                )

                async def some_handled() -> bool:
                    return await rows_in(sessionmaker, InboxState.DONE) >= CHATS

                if n == 1:
                    await wait_for(some_handled, 60, "a part of the updates", log)
                    await stop(instances[0], signal.SIGKILL)
            instances[0] = await start(ports[0])
            await wait_for(lambda: listening(ports[0]), 60, "the restarted instance", log)
            restarted = time.time()

            async def all_handled() -> bool:
                return await rows_in(sessionmaker, InboxState.DONE) == CHATS * MESSAGES

            await wait_for(all_handled, 400, "every update to be handled", log)
        finally:
            for instance in instances:
                await stop(instance, signal.SIGTERM)
        assert await rows_in(sessionmaker, InboxState.PENDING) == 0
        assert await rows_in(sessionmaker, InboxState.PARKED) == 0
        written = await inbound_by_chat(sessionmaker)
        for user in users:
            # Logged with the done mark: an update handled again is on the record once.
            assert written[user["id"]] == [f"/help {n}" for n in range(MESSAGES)], (
                "each once, in order"
            )
            replies = [text_of(m) for m in await client.bot_messages(user["id"])]
            assert all("/complain" in reply for reply in replies), "only the help, no apology"
            # One update per chat is in flight: only its reply can have gone out twice.
            assert MESSAGES <= len(replies) <= MESSAGES + 1, "no reply missing, none doubled"
        info = await webhook_info(url)
        assert info["url"] == hook and info["pending_update_count"] == 0
        # Requests on the wire to the killed instance failed (502) and were delivered
        # again; nothing failed once it was back.
        assert info.get("last_error_date") is None or info["last_error_date"] <= restarted
        requests = [r["method"] for r in await client.requests()]
        assert requests.count("setWebhook") == 1, "set by one instance; the others found it"


@pytest.mark.timeout(300)
async def test_two_instances_carry_a_registration_from_one_to_the_other(
    database_url: str, engine: object, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances share one database on PostgreSQL only")
    log = tmp_path / "carebot.log"
    ports = [free_port() for _ in range(2)]
    async with (
        sandbox_process(limits="off") as url,
        SandboxClient(url) as client,
        balancer([f"http://127.0.0.1:{port}" for port in ports]) as front,
    ):
        hook = f"{front}/telegram/hook"
        instances = [
            await start_carebot(url, database_url, log, "--webhook", hook, **webhook_settings(p))
            for p in ports
        ]
        try:
            for port in ports:
                await wait_for(lambda port=port: listening(port), 60, "the instances", log)
            # The balancer takes turns: /start and the button press of one customer land
            # on different instances for some of them.
            people = [
                Person(client, await client.create_user(f"Guest{n}", language_code="en"))
                for n in range(8)
            ]
            for person in people:
                await person.say("/start")

            def asks_consent(message: dict[str, Any]) -> bool:
                return "care messages" in text_of(message)

            for person in people:
                await person.press("English", edited=asks_consent)
        finally:
            for instance in instances:
                await stop(instance, signal.SIGTERM)
