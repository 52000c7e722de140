"""Complaint deadlines (the SLA watch): warnings before an acknowledgement or a
resolution is due, breaches after, each given once; resolved complaints the customer
did not answer are closed; 及时率 (timeliness).

Deadlines themselves are set when a complaint is filed or reopened
(``care.complaints``), counted in business hours by ``care.sla``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from care import complaints
from care.complaints import Change
from care.models import Complaint, ComplaintEventType, ComplaintStatus
from care.sla import SlaPolicy


class SlaStage(enum.StrEnum):
    ACKNOWLEDGE_WARNING = "acknowledge_warning"
    ACKNOWLEDGE_BREACH = "acknowledge_breach"
    RESOLVE_WARNING = "resolve_warning"
    RESOLVE_BREACH = "resolve_breach"


@dataclass(frozen=True)
class SlaAlert:
    complaint: Complaint
    stage: SlaStage
    due: datetime


async def claim_sla_alerts(
    session: AsyncSession, policy: SlaPolicy, now: datetime
) -> list[SlaAlert]:
    """Find deadlines that are near or passed, and mark each alert as given.

    Each alert is claimed once per deadline (the mark is in the same transaction), so
    a restart or a second carebot process never repeats it; on PostgreSQL concurrent
    claimers skip each other's rows (``FOR UPDATE SKIP LOCKED``).
    """
    horizon = (
        now
        + max(max(policy.acknowledge.values()), max(policy.resolve.values()))
        * policy.warn_when_left
    )
    query = (
        select(Complaint)
        .where(
            Complaint.status.in_([s.value for s in complaints.OPEN_STATUSES]),
            or_(Complaint.acknowledge_due_at <= horizon, Complaint.resolve_due_at <= horizon),
        )
        .order_by(Complaint.id)
        .with_for_update(skip_locked=True)
    )
    alerts: list[SlaAlert] = []
    for complaint in (await session.scalars(query)).all():
        alerts.extend(_due_alerts(session, complaint, policy, now))
    await session.flush()
    return alerts


def _due_alerts(
    session: AsyncSession, complaint: Complaint, policy: SlaPolicy, now: datetime
) -> list[SlaAlert]:
    priority = complaints.priority_of(complaint)
    found: list[SlaAlert] = []
    if complaints.status_of(complaint) in complaints.AWAITING_ACKNOWLEDGEMENT:
        found += _deadline_alerts(
            complaint, "acknowledge", "acknowledged", policy.acknowledge[priority], policy, now
        )
    found += _deadline_alerts(
        complaint, "resolve", "resolved", policy.resolve[priority], policy, now
    )
    for alert in found:
        breach = alert.stage in (SlaStage.ACKNOWLEDGE_BREACH, SlaStage.RESOLVE_BREACH)
        complaints.add_event(
            session, complaint,
            ComplaintEventType.SLA_BREACH if breach else ComplaintEventType.SLA_WARNING,
            now, note=alert.stage.value,
        )  # fmt: skip
    return found


def _deadline_alerts(
    complaint: Complaint,
    deadline: str,
    done: str,
    target: timedelta,
    policy: SlaPolicy,
    now: datetime,
) -> list[SlaAlert]:
    """The warning or breach now due for one deadline ("acknowledge" or "resolve").

    Works on the columns ``<deadline>_due_at``, ``<deadline>_warned_at``,
    ``<deadline>_breached_at`` and ``<done>_on_time``, marking what it returns.
    """
    due: datetime | None = getattr(complaint, f"{deadline}_due_at")
    if due is None:
        return []
    warned, breached = f"{deadline}_warned_at", f"{deadline}_breached_at"
    if now >= due:
        if getattr(complaint, breached) is not None:
            return []
        setattr(complaint, breached, now)
        setattr(complaint, warned, getattr(complaint, warned) or now)
        setattr(complaint, f"{done}_on_time", False)
        return [SlaAlert(complaint, SlaStage(f"{deadline}_breach"), due)]
    if getattr(complaint, warned) is None and now >= policy.warn_at(due, target):
        setattr(complaint, warned, now)
        return [SlaAlert(complaint, SlaStage(f"{deadline}_warning"), due)]
    return []


async def claim_unanswered_resolved(
    session: AsyncSession, after: timedelta, now: datetime
) -> list[Change]:
    """Close resolved complaints whose customer did not answer within ``after``."""
    rows = (
        await session.scalars(
            select(Complaint)
            .where(
                Complaint.status == ComplaintStatus.RESOLVED.value,
                Complaint.resolved_at <= now - after,
            )
            .order_by(Complaint.id)
            .with_for_update(skip_locked=True)
        )
    ).all()
    changes = []
    for complaint in rows:
        change = await complaints.close(session, complaint, now, note="no answer")
        if change is not None:
            changes.append(change)
    return changes


def timeliness(complaints: Sequence[Complaint]) -> float | None:
    """及时率: the share of complaints acknowledged and resolved within their SLA."""
    judged = [c for c in complaints if c.resolved_on_time is not None]
    if not judged:
        return None
    on_time = [c for c in judged if c.acknowledged_on_time is not False and c.resolved_on_time]
    return len(on_time) / len(judged)
