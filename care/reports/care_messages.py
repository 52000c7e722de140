"""Care (客户关怀) figures: what became of the care messages due in the period, each
campaign's reach, and how many customers answered one within three days.

A care message is an outbox row (a campaign's greeting, a follow-up, a birthday or
anniversary greeting); it belongs to the period its due time falls in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import Campaign, Contact, Direction, Outbox, OutboxState
from care.reports.period import Period
from care.reports.sql import dialect_of, plus_days, ratio

__all__ = ["REPLY_DAYS", "CampaignReach", "CareFigures", "care_figures"]

# A customer who writes to us within this many days of a care message answered it.
REPLY_DAYS = 3


@dataclass(frozen=True)
class CampaignReach:
    campaign_id: int
    name: str
    planned: int
    sent: int

    @property
    def reach(self) -> float | None:
        """Sent ÷ planned: the share of the campaign's audience it reached."""
        return ratio(self.sent, self.planned)

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "name": self.name,
            "planned": self.planned,
            "sent": self.sent,
            "reach": self.reach,
        }


@dataclass(frozen=True)
class CareFigures:
    planned: int = 0
    sent: int = 0
    skipped: int = 0
    skipped_because: dict[str, int] = field(default_factory=dict)
    failed: int = 0  # failed, or refused because the customer blocked the bot
    unconfirmed: int = 0
    pending: int = 0
    cancelled: int = 0
    replied: int = 0  # sent ones the customer answered within REPLY_DAYS days
    campaigns: list[CampaignReach] = field(default_factory=list)

    @property
    def care_reply_rate(self) -> float | None:
        return ratio(self.replied, self.sent)

    def as_dict(self) -> dict[str, Any]:
        return {
            "care_planned": self.planned,
            "care_sent": self.sent,
            "care_skipped": self.skipped,
            "care_skipped_because": dict(self.skipped_because),
            "care_failed": self.failed,
            "care_unconfirmed": self.unconfirmed,
            "care_pending": self.pending,
            "care_cancelled": self.cancelled,
            "care_replied": self.replied,
            "care_reply_rate": self.care_reply_rate,
            "campaigns": [reach.as_dict() for reach in self.campaigns],
        }


async def care_figures(session: AsyncSession, period: Period, now: datetime) -> CareFigures:
    """The care messages due in ``period``: by state, skipped by reason, campaigns' reach,
    and replies within :data:`REPLY_DAYS` days of a sent one (those days may run past
    the period, never past ``now``)."""
    due_in = and_(Outbox.due_at >= period.start, Outbox.due_at < period.end)
    by_state: dict[str, int] = {}
    skipped_because: dict[str, int] = {}
    for state, reason, rows in await session.execute(
        select(Outbox.state, Outbox.last_error, func.count())
        .where(due_in)
        .group_by(Outbox.state, Outbox.last_error)
    ):
        by_state[state] = by_state.get(state, 0) + rows
        if state == OutboxState.SKIPPED.value:
            key = reason or "unknown"
            skipped_because[key] = skipped_because.get(key, 0) + rows
    dialect = dialect_of(session)
    answered = exists().where(
        Contact.customer_id == Outbox.customer_id,
        Contact.direction == Direction.INBOUND.value,
        Contact.created_at > Outbox.sent_at,
        Contact.created_at <= plus_days(dialect, Outbox.sent_at, REPLY_DAYS),
    )
    replied = await session.scalar(
        select(func.count()).where(
            due_in, Outbox.state == OutboxState.SENT.value, Outbox.sent_at.is_not(None), answered
        )
    )
    sent_value = OutboxState.SENT.value
    campaigns = [
        CampaignReach(campaign_id, name, planned, sent)
        for campaign_id, name, planned, sent in await session.execute(
            select(
                Campaign.id,
                Campaign.name,
                func.count(),
                func.coalesce(func.sum(case((Outbox.state == sent_value, 1), else_=0)), 0),
            )
            .join(Campaign, Campaign.id == Outbox.campaign_id)
            .where(due_in)
            .group_by(Campaign.id, Campaign.name)
            .order_by(Campaign.id)
        )
    ]
    return CareFigures(
        planned=sum(by_state.values()),
        sent=by_state.get(sent_value, 0),
        skipped=by_state.get(OutboxState.SKIPPED.value, 0),
        skipped_because=dict(sorted(skipped_because.items())),
        failed=by_state.get(OutboxState.FAILED.value, 0)
        + by_state.get(OutboxState.BLOCKED.value, 0),
        unconfirmed=by_state.get(OutboxState.UNCONFIRMED.value, 0),
        pending=by_state.get(OutboxState.PENDING.value, 0)
        + by_state.get(OutboxState.SENDING.value, 0),
        cancelled=by_state.get(OutboxState.CANCELLED.value, 0),
        replied=replied or 0,
        campaigns=campaigns,
    )
