"""/followups in the staff group: what happened to follow-ups and personal greetings,
with the unconfirmed ones named so that a person can check with the customer."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.models import Complaint, ComplaintStatus, Customer, Outbox, OutboxState
from tests.conftest import CareTeam
from tests.helpers import RunningBot, StaffMember, zh


async def test_followups_counts_by_rule_and_names_the_unconfirmed(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    agent: StaffMember,
    supervisor: StaffMember,
    admin: StaffMember,
) -> None:
    now = clock.now()
    async with sessionmaker.begin() as session:
        mei = Customer(first_name="美", last_name="王", created_at=now)
        session.add(mei)
        await session.flush()
        for n, (rule, state, reason, days) in enumerate(
            (
                ("after_resolution", OutboxState.SENT, None, -1),
                ("after_resolution", OutboxState.SKIPPED, "no_longer_applies", -2),
                ("birthday", OutboxState.UNCONFIRMED, "in flight when the sender stopped", -3),
                ("win_back", OutboxState.PENDING, None, 3),  # not due yet: nobody sends it
            )
        ):
            session.add(
                Outbox(
                    customer_id=mei.id, rule=rule, template=f"followup.{rule}",
                    dedupe_key=f"{rule}:{n}", due_at=now + timedelta(days=days),
                    state=state.value, last_error=reason,
                )
            )  # fmt: skip
        customer_id = mei.id

    # The staff group reads the default locale, zh_CN.
    lines = (await supervisor.command("/followups")).splitlines()
    assert lines[0].startswith("📬")
    assert (
        f"· {zh('after a resolved complaint')}: {zh('sent')}: 1 · {zh('skipped at send time')}: 1"
    ) in lines
    assert f"· {zh('win-back after a quiet spell')}: {zh('pending')}: 1" in lines
    no_longer = zh(
        "no longer applies (the complaint was reopened, or the customer has written to us)"
    )
    assert f"   – {no_longer}: 1" in lines
    assert complaint_bot.built is not None
    zone = ZoneInfo(complaint_bot.built.services.timezone)
    due = (now - timedelta(days=3)).astimezone(zone).strftime("%Y-%m-%d %H:%M")
    assert lines[-1] == zh("· {name} (customer {id}): {rule}, due {due}").format(
        name="美 王", id=customer_id, rule=zh("birthday greetings"), due=due
    )

    # A day back and ahead: only yesterday's follow-up is in it.
    narrow = await admin.command("/followups 1")
    assert f"{zh('sent')}: 1" in narrow and zh("birthday greetings") not in narrow

    refused = await agent.command("/followups")
    assert refused == zh("Only supervisors and admins can see this.")
    bad = await admin.command("/followups forever")
    assert "/followups 30" in bad


async def test_right_after_a_resolution_followups_shows_the_follow_up_coming_up(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    supervisor: StaffMember,
    admin: StaffMember,
) -> None:
    """The outbox is filled a day ahead, so /followups used to say that nothing was due
    right after a resolution; it now shows the follow-ups the rules will plan too."""
    now = clock.now()  # 2026-09-24 18:00 in Shanghai
    async with sessionmaker.begin() as session:
        mei = Customer(first_name="美", chat_id=4242, consent_care=True, created_at=now)
        session.add(mei)
        await session.flush()
        session.add_all(
            Complaint(customer_id=mei.id, status=status.value, created_at=now, updated_at=now,
                      resolved_at=now, times_resolved=1)
            for status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)
        )  # fmt: skip

    lines = (await supervisor.command("/followups")).splitlines()
    assert lines[0] == zh("No follow-ups or greetings are due between {start} and {end}.").format(
        start="2026-09-17 18:00", end="2026-10-01 18:00"
    )
    assert lines[1] == zh("Coming up (put in the outbox the day before they are due):")
    # Resolved today: asked after in 3 days; the first contact's follow-up after 7.
    assert (
        zh("· {rule}: {count} ({days})").format(
            rule=zh("after a resolved complaint"), count=2, days="2026-09-27"
        )
        in lines
    )
    assert (
        zh("· {rule}: {count} ({days})").format(
            rule=zh("after the first contact"), count=1, days="2026-10-01"
        )
        in lines
    )
    # Two days ahead only: the first contact's follow-up is further off.
    narrow = await admin.command("/followups 2")
    assert zh("after a resolved complaint") not in narrow
    english = await admin.command_in_private("/followups")
    assert "· after a resolved complaint: 2 (2026-09-27)" in english.splitlines()
