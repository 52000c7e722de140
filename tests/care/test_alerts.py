"""care.alerts: who hears of what, as a table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from care import staff as staff_members
from care.alerts import Alert, Recipient, recipients
from care.models import StaffRole

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
GROUP = -100123
AGENT, SUPERVISOR, OTHER_SUPERVISOR, ADMIN = 11, 21, 22, 31


@pytest.fixture
async def team(session: AsyncSession) -> dict[int, object]:
    members = {}
    for user, role in (
        (AGENT, StaffRole.AGENT),
        (SUPERVISOR, StaffRole.SUPERVISOR),
        (OTHER_SUPERVISOR, StaffRole.SUPERVISOR),
        (ADMIN, StaffRole.ADMIN),
    ):
        members[user] = await staff_members.add_staff(session, user, role, NOW)
    return members


@pytest.mark.parametrize(
    ("alert", "assigned", "expected"),
    [
        (Alert.UPSET_CUSTOMER, False, [SUPERVISOR, OTHER_SUPERVISOR]),
        (Alert.SLA_WARNING, True, [(AGENT, GROUP)]),
        (Alert.SLA_WARNING, False, [GROUP]),
        (Alert.SLA_BREACH, True, [GROUP, SUPERVISOR, OTHER_SUPERVISOR]),
        (Alert.LOW_RATING, False, [GROUP, SUPERVISOR, OTHER_SUPERVISOR]),
        (Alert.RATING_COMMENT, False, [GROUP]),
        (Alert.REOPENED_BY_CUSTOMER, True, [GROUP]),
        (Alert.CLOSED_AT_ERASURE, False, [GROUP]),
    ],
)
async def test_who_hears_of_what(
    session: AsyncSession,
    team: dict[int, object],
    alert: Alert,
    assigned: bool,
    expected: list[int | tuple[int, int]],
) -> None:
    assignee = team[AGENT] if assigned else None
    found = await recipients(session, alert, staff_chat_id=GROUP, assignee=assignee)  # type: ignore[arg-type]
    assert sorted(found, key=str) == sorted(
        (Recipient(*e) if isinstance(e, tuple) else Recipient(e) for e in expected), key=str
    )


async def test_without_a_staff_group_group_alerts_reach_the_supervisors_only(
    session: AsyncSession, team: dict[int, object]
) -> None:
    found = await recipients(session, Alert.SLA_BREACH, staff_chat_id=None)
    assert {r.chat_id for r in found} == {SUPERVISOR, OTHER_SUPERVISOR}
    assert await recipients(session, Alert.RATING_COMMENT, staff_chat_id=None) == []
