"""The weekly report is owed, not fired and forgotten: its summary and charts reach a
supervisor through a failing Telegram (5xx retried, a 429's ``retry_after`` waited),
and a supervisor who blocked the bot is settled without holding up anyone else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care import staff as staff_members
from care.clock import ManualClock
from care.models import OwedMessage, StaffRole
from care.owed import Purpose
from handlers import reports
from handlers.context import CareContext
from tests.conftest import CareTeam
from tests.e2e.test_owed_messages import keep_retrying
from tests.e2e.test_report_command import CHARTS, _a_week_of_complaints
from tests.helpers import RunningBot, StaffMember, StaffRoom, wait_until

SETTINGS: dict[str, Any] = {"report_weekday": "thu", "report_hour": 9}


async def _rows(sessionmaker: async_sessionmaker[AsyncSession], chat_id: int) -> list[OwedMessage]:
    async with sessionmaker() as session:
        return list(
            (
                await session.scalars(
                    select(OwedMessage)
                    .where(
                        OwedMessage.purpose == Purpose.REPORT.value, OwedMessage.chat_id == chat_id
                    )
                    .order_by(OwedMessage.id)
                )
            ).all()
        )


async def _calls(client: SandboxClient, chat_id: int, method: str) -> list[int]:
    """The outcomes of the bot's ``method`` calls to ``chat_id``: 200 or the error code."""
    return [
        200 if r["ok"] else r["error_code"]
        for r in await client.requests()
        if r["method"] == method and r.get("chat_id") == chat_id
    ]


async def test_the_weekly_report_survives_5xx_and_429_and_a_blocked_supervisor(
    sandbox: Sandbox,
    database_url: str,
    client: SandboxClient,
    care_team: CareTeam,
    room: StaffRoom,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    supervisor: StaffMember,
) -> None:
    # Thursday 24 September, 18:00 in Shanghai: Thursday 09:00's report is due.
    clock.set(datetime(2026, 9, 24, 10, 0, tzinfo=UTC))
    await _a_week_of_complaints(sessionmaker, clock.now() - timedelta(days=7))
    lin_user = await client.create_user("Lin", username="lin_sup", language_code="en")
    async with sessionmaker.begin() as session:
        await staff_members.add_staff(
            session, lin_user["id"], StaffRole.SUPERVISOR, clock.now(), name="Lin"
        )
    lin = room.member(lin_user)
    running = RunningBot(sandbox, database_url, clock, staff_chat_id=care_team.group_id, **SETTINGS)
    built = await running.start()
    try:
        await supervisor.command_in_private("/help")
        await lin.command_in_private("/help")
        last = max(m["message_id"] for m in await client.transcript(supervisor.id))
        await client.clear_requests()
        # Sam: the summary fails once with a 502, the first chart gets a 429 of 90 s.
        await client.fault(
            {"kind": "error", "method": "sendMessage", "status": 502, "count": 1,
             "chat_id": supervisor.id}
        )  # fmt: skip
        await client.fault(
            {"kind": "retry_after", "method": "sendPhoto", "seconds": 90, "count": 1,
             "chat_id": supervisor.id}
        )  # fmt: skip
        # Lin blocked the bot.
        await client.fault(kind="blocked", user_id=lin.id)

        await reports.push_weekly_report(CareContext(built.application))
        sam_rows = await _rows(sessionmaker, supervisor.id)
        assert [row.kind for row in sam_rows] == ["text"] + ["photo"] * CHARTS, (
            "the summary and the charts are owed together, the summary first"
        )

        async def lin_settled() -> bool:
            return all(
                row.state in ("failed", "dropped") for row in await _rows(sessionmaker, lin.id)
            )

        await wait_until(lin_settled, within=20)
        lin_rows = await _rows(sessionmaker, lin.id)
        assert [row.state for row in lin_rows] == ["failed"] + ["dropped"] * CHARTS
        assert "blocked" in (lin_rows[0].last_error or "")
        assert await _calls(client, lin.id, "sendMessage") == [403]
        assert await _calls(client, lin.id, "sendPhoto") == [], "no chart asked for in vain"

        # The 502 is retried on the bot's clock; the 429 waits its 90 s.
        async def summary_arrived() -> bool:
            return await _calls(client, supervisor.id, "sendMessage") == [502, 200]

        await keep_retrying(clock, summary_arrived)

        async def chart_waiting() -> bool:
            rows = await _rows(sessionmaker, supervisor.id)
            return rows[1].state == "pending" and "429" in (rows[1].last_error or "")

        await wait_until(chart_waiting, within=20)
        assert (await _calls(client, supervisor.id, "sendPhoto"))[0] == 429

        async def photos() -> bool:
            transcript = await client.transcript(supervisor.id)
            return sum(1 for m in transcript if m["message_id"] > last and m.get("photo")) == CHARTS

        await keep_retrying(clock, photos)
        sam_rows = await _rows(sessionmaker, supervisor.id)
        assert [row.state for row in sam_rows] == ["sent"] * (1 + CHARTS)
        assert sam_rows[1].attempts == 1, "the 429 did not use up an attempt"
        summaries = [
            m for m in await client.transcript(supervisor.id)
            if m["message_id"] > last and "2026-09-14" in (m.get("text") or "")
        ]  # fmt: skip
        assert len(summaries) == 1, "the summary arrived once"
    finally:
        await running.stop()
