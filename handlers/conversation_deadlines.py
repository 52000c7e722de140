"""The conversations' watch job: quiet conversations closed, SLA alerts raised.

A conversation's deadlines (``care.conversation_deadlines``) are warned of and breached
like a complaint's, through the one alert policy (``care.alerts``,
``handlers.staff_alerts.owe_alert``): a warning goes to the assignee in private (the
staff group when nobody has the conversation), a breach to the staff group and every
supervisor. In a forum staff chat the group's copy goes to General, so that the queue's
alerts are in one place. Each alert is owed in the transaction that claims it: given
once, never lost.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from care import conversation_deadlines, conversations
from care.conversation_deadlines import ConversationSlaAlert, ConversationSlaStage
from care.models import Customer, StaffMember
from handlers import complaint_words as words
from handlers.context import CareContext, Services
from handlers.conversation_desk import customer_name, owe_state
from handlers.deadlines import time_left
from handlers.i18n import gettext as _
from handlers.staff_alerts import Alert, owe_alert

__all__ = ["alert_text", "watch_conversations"]

Stage = ConversationSlaStage


async def watch_conversations(context: CareContext) -> None:
    """Job: close conversations quiet since the last staff answer; alert late ones."""
    services = context.services
    now = services.clock.now()
    async with services.sessionmaker.begin() as session:
        for change in await conversations.close_quiet(
            session, services.conversation_close_after, now
        ):
            await owe_state(session, services, change.conversation)
        for alert in await conversation_deadlines.claim_sla_alerts(session, services.sla, now):
            await _owe_sla_alert(session, services, alert, now)


async def _owe_sla_alert(
    session: AsyncSession, services: Services, alert: ConversationSlaAlert, now: datetime
) -> None:
    conversation = alert.conversation
    customer = await session.get_one(Customer, conversation.customer_id)
    assignee = (
        await session.get(StaffMember, conversation.assignee_id)
        if conversation.assignee_id is not None
        else None
    )
    await owe_alert(
        session, services, Alert.SLA_BREACH if alert.stage.breach else Alert.SLA_WARNING,
        lambda: alert_text(alert, customer, services.timezone, now),
        conversation_id=conversation.id, customer_id=customer.id, assignee=assignee,
    )  # fmt: skip


def alert_text(
    alert: ConversationSlaAlert, customer: Customer, timezone: str, now: datetime
) -> str:
    """The alert's words for staff (in the current locale)."""
    id_, name = alert.conversation.id, customer_name(customer)
    due, left = words.local_time(alert.due, timezone), time_left(alert.due - now)
    if alert.stage is Stage.FIRST_RESPONSE_WARNING:
        return _(
            "⏳ Conversation #{id} with {name}: nobody has answered yet; "
            "the first answer is due {due} ({left} left)."
        ).format(id=id_, name=name, due=due, left=left)
    if alert.stage is Stage.FIRST_RESPONSE_BREACH:
        return _(
            "⏰ Conversation #{id} with {name}: nobody has answered, it was due {due}."
        ).format(id=id_, name=name, due=due)
    if alert.stage is Stage.RESOLVE_WARNING:
        return _(
            "⏳ Conversation #{id} with {name} is still open; "
            "it should be settled by {due} ({left} left)."
        ).format(id=id_, name=name, due=due, left=left)
    return _(
        "⏰ Conversation #{id} with {name} is still open; it was due to be settled by {due}."
    ).format(id=id_, name=name, due=due)
