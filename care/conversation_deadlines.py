"""A conversation's deadlines (the SLA watch for conversations): a warning before the
first response is due and a breach after it, the same for the resolve deadline (a
conversation is settled when it is closed), each given once.

The deadlines are the complaints' at normal priority (``care.conversations``); the
warning comes when the same share of the target is left as for complaints
(``SlaPolicy.warn_when_left``). Who hears of an alert is ``care.alerts``'s business.
Staff's /queue lists open conversations by the same next deadline (:func:`queue`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.conversation_models import (
    Conversation,
    ConversationEvent,
    ConversationEventType,
    ConversationStatus,
)
from care.models import Customer, Priority
from care.sla import SlaPolicy

__all__ = [
    "ConversationSlaAlert",
    "ConversationSlaStage",
    "claim_sla_alerts",
    "next_deadline",
    "queue",
]

OPEN = (
    ConversationStatus.OPEN.value,
    ConversationStatus.WAITING_STAFF.value,
    ConversationStatus.WAITING_CUSTOMER.value,
)
# Claimed per pass; the rest wait for the next one.
BATCH = 200


class ConversationSlaStage(enum.StrEnum):
    FIRST_RESPONSE_WARNING = "first_response_warning"
    FIRST_RESPONSE_BREACH = "first_response_breach"
    RESOLVE_WARNING = "resolve_warning"
    RESOLVE_BREACH = "resolve_breach"

    @property
    def breach(self) -> bool:
        return self.value.endswith("_breach")


@dataclass(frozen=True)
class ConversationSlaAlert:
    conversation: Conversation
    stage: ConversationSlaStage
    due: datetime


async def claim_sla_alerts(
    session: AsyncSession, policy: SlaPolicy, now: datetime
) -> list[ConversationSlaAlert]:
    """Find open conversations with a deadline near or passed, and mark each alert given.

    Each alert is claimed once per deadline (the mark is in the caller's transaction),
    so a restart or a second carebot process never repeats it; on PostgreSQL concurrent
    claimers skip each other's rows (``FOR UPDATE SKIP LOCKED``). A deadline passed
    before its warning was given gives only the breach.
    """
    first_target = policy.acknowledge[Priority.NORMAL]
    resolve_target = policy.resolve[Priority.NORMAL]
    first_warn = now + first_target * policy.warn_when_left
    resolve_warn = now + resolve_target * policy.warn_when_left
    rows = (
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.status.in_(OPEN),
                or_(
                    (Conversation.first_response_at.is_(None))
                    & (Conversation.first_response_breached_at.is_(None))
                    & (Conversation.first_response_due_at <= first_warn),
                    (Conversation.resolve_breached_at.is_(None))
                    & (Conversation.resolve_due_at <= resolve_warn),
                ),
            )
            .order_by(Conversation.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        )
    ).all()
    alerts: list[ConversationSlaAlert] = []
    for conversation in rows:
        if conversation.first_response_at is None:
            alerts += _due(conversation, "first_response", first_target, policy, now)
        alerts += _due(conversation, "resolve", resolve_target, policy, now)
    for alert in alerts:
        kind = (
            ConversationEventType.SLA_BREACH
            if alert.stage.breach
            else ConversationEventType.SLA_WARNING
        )
        session.add(
            ConversationEvent(
                conversation_id=alert.conversation.id, at=now, type=kind.value,
                by_customer=False, note=alert.stage.value,
            )
        )  # fmt: skip
    await session.flush()
    return alerts


def _due(
    conversation: Conversation, deadline: str, target: timedelta, policy: SlaPolicy, now: datetime
) -> list[ConversationSlaAlert]:
    """The warning or breach now due for one deadline ("first_response" or "resolve"),
    on the columns ``<deadline>_due_at``, ``_warned_at`` and ``_breached_at``, marked."""
    due: datetime = getattr(conversation, f"{deadline}_due_at")
    warned, breached = f"{deadline}_warned_at", f"{deadline}_breached_at"
    if now >= due:
        if getattr(conversation, breached) is not None:
            return []
        setattr(conversation, breached, now)
        setattr(conversation, warned, getattr(conversation, warned) or now)
        return [ConversationSlaAlert(conversation, ConversationSlaStage(f"{deadline}_breach"), due)]
    if getattr(conversation, warned) is None and now >= policy.warn_at(due, target):
        setattr(conversation, warned, now)
        return [
            ConversationSlaAlert(conversation, ConversationSlaStage(f"{deadline}_warning"), due)
        ]
    return []


def next_deadline(conversation: Conversation) -> datetime:
    """The open conversation's next deadline: the first response until staff have
    answered, then its resolution."""
    if conversation.first_response_at is None:
        return conversation.first_response_due_at
    return conversation.resolve_due_at


async def queue(session: AsyncSession) -> list[tuple[Conversation, Customer]]:
    """Open conversations with their customers, the nearest deadline first."""
    rows = (
        await session.execute(
            select(Conversation, Customer)
            .join(Customer, Customer.id == Conversation.customer_id)
            .where(Conversation.status.in_(OPEN))
        )
    ).all()
    return sorted(((row[0], row[1]) for row in rows), key=lambda row: next_deadline(row[0]))
