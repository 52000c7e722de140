"""What the outbox did with messages that belong to no campaign: follow-ups and personal
greetings (birthdays, anniversaries), rule by rule.

Campaigns have their own status (``care.campaigns.status``). These rows have no
campaign to look at, so this is where staff see them, above all the ``unconfirmed``
ones: in flight when a sender stopped, maybe delivered, never sent again, and worth a
look by a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import Customer, Outbox, OutboxState

# At most this many unconfirmed rows are listed by name (the count says how many there are).
UNCONFIRMED_LISTED = 20


@dataclass(frozen=True)
class UnconfirmedRow:
    """One message that may or may not have reached its customer."""

    row_id: int
    customer_id: int
    name: str
    rule: str
    due_at: datetime
    error: str | None


@dataclass(frozen=True)
class DeliveryReport:
    """Rows due in ``[since, until)`` that belong to no campaign."""

    since: datetime
    until: datetime
    counts: dict[str, dict[str, int]]  # rule -> OutboxState value -> rows (only those > 0)
    skipped_because: dict[str, int] = field(default_factory=dict)  # SkipReason value -> rows
    unconfirmed: list[UnconfirmedRow] = field(default_factory=list)  # newest first, at most 20

    def total(self, state: OutboxState) -> int:
        return sum(states.get(state.value, 0) for states in self.counts.values())


async def report(session: AsyncSession, since: datetime, until: datetime) -> DeliveryReport:
    """Count follow-ups and personal greetings due between ``since`` and ``until`` by rule
    and state, say why the skipped ones were skipped, and name the unconfirmed ones.

    Three queries; the second and third only when there is something to show.
    """
    window = (
        Outbox.campaign_id.is_(None),
        Outbox.due_at >= since,
        Outbox.due_at < until,
    )
    counts: dict[str, dict[str, int]] = {}
    rows = await session.execute(
        select(Outbox.rule, Outbox.state, func.count())
        .where(*window)
        .group_by(Outbox.rule, Outbox.state)
    )
    for rule, state, count in rows:
        counts.setdefault(str(rule or "other"), {})[str(state)] = int(count)
    found = DeliveryReport(since, until, dict(sorted(counts.items())))
    if found.total(OutboxState.SKIPPED):
        reasons = await session.execute(
            select(Outbox.last_error, func.count())
            .where(*window, Outbox.state == OutboxState.SKIPPED.value)
            .group_by(Outbox.last_error)
            .order_by(func.count().desc(), Outbox.last_error)
        )
        found.skipped_because.update({str(reason): int(count) for reason, count in reasons})
    if found.total(OutboxState.UNCONFIRMED):
        unconfirmed = await session.execute(
            select(
                Outbox.id,
                Outbox.customer_id,
                Customer.first_name,
                Customer.last_name,
                Outbox.rule,
                Outbox.due_at,
                Outbox.last_error,
            )
            .join(Customer, Customer.id == Outbox.customer_id)
            .where(*window, Outbox.state == OutboxState.UNCONFIRMED.value)
            .order_by(Outbox.due_at.desc(), Outbox.id.desc())
            .limit(UNCONFIRMED_LISTED)
        )
        found.unconfirmed.extend(
            UnconfirmedRow(
                row_id=row_id,
                customer_id=customer_id,
                name=" ".join(part for part in (first, last) if part) or "",
                rule=str(rule or "other"),
                due_at=due_at,
                error=error,
            )
            for row_id, customer_id, first, last, rule, due_at, error in unconfirmed
        )
    return found
