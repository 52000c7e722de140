"""What the scheduled job watches: SLA deadlines, surveys nobody answered, stale drafts.

Every run is one transaction that claims what is due (``care.complaints`` marks each
SLA alert as given and closes each unanswered complaint in that same transaction, so a
restart or a second carebot never repeats one), works out the words and owes the
messages in that transaction too (``care.owed``): they go out after the commit, with
retries, so none is lost either.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from care import complaints, deadlines
from care.complaints import ComplaintFacts
from care.deadlines import SlaAlert, SlaStage
from handlers import complaint_words as words
from handlers.context import CareContext
from handlers.i18n import gettext as _
from handlers.notify import owe_announcement
from handlers.staff_alerts import Alert, owe_alert
from handlers.staff_card import owe_refresh
from handlers.staff_names import staff_name

log = logging.getLogger(__name__)

# A complaint started and never filed is forgotten after this long.
DRAFT_MAX_AGE = timedelta(days=2)

BREACHES = (SlaStage.ACKNOWLEDGE_BREACH, SlaStage.RESOLVE_BREACH)


async def watch_deadlines(context: CareContext) -> None:
    """Job: warn before SLA deadlines, raise breaches, close unanswered surveys."""
    services = context.services
    now = services.clock.now()
    async with services.sessionmaker.begin() as session:
        alerts = await deadlines.claim_sla_alerts(session, services.sla, now)
        for alert in alerts:
            loaded = await complaints.facts(session, alert.complaint.id)
            assert loaded is not None
            # Owed with the claim: an alert is given once, and never lost. Each reader's
            # words: the group's in the default locale, a private chat's in its reader's.
            kind = Alert.SLA_BREACH if alert.stage in BREACHES else Alert.SLA_WARNING
            await owe_alert(
                session, services, kind,
                partial(sla_text, alert, loaded, services.timezone, now),
                loaded.complaint.id, assignee=loaded.assignee,
            )  # fmt: skip
            if alert.stage in BREACHES:
                await owe_refresh(session, loaded.complaint, services)  # the card shows it
        closed = await deadlines.claim_unanswered_resolved(
            session, services.survey_close_after, now
        )
        for change in closed:
            # The customer is told it is closed; the card shows it.
            await owe_announcement(session, services, change)
        dropped = await complaints.drop_drafts_older_than(session, DRAFT_MAX_AGE, now)
    if dropped:
        log.info("dropped %d complaint drafts never filed", dropped)


def sla_text(alert: SlaAlert, facts: ComplaintFacts, timezone: str, now: datetime) -> str:
    """The words of an SLA warning or breach, for staff."""
    complaint, customer = facts.complaint, facts.customer
    number, due = complaint.number, words.local_time(alert.due, timezone)
    if alert.stage is SlaStage.ACKNOWLEDGE_WARNING:
        headline = _("⏰ Complaint {number} must be acknowledged by {due} ({left} left).").format(
            number=number, due=due, left=time_left(alert.due - now)
        )
    elif alert.stage is SlaStage.RESOLVE_WARNING:
        headline = _("⏰ Complaint {number} must be resolved by {due} ({left} left).").format(
            number=number, due=due, left=time_left(alert.due - now)
        )
    elif alert.stage is SlaStage.ACKNOWLEDGE_BREACH:
        headline = _("🚨 SLA breached: complaint {number} was not acknowledged by {due}.").format(
            number=number, due=due
        )
    else:
        headline = _("🚨 SLA breached: complaint {number} was not resolved by {due}.").format(
            number=number, due=due
        )
    details = _("Customer: {name} · Priority: {priority} · Assignee: {assignee}").format(
        name=customer.display_name or _("unknown"),
        priority=words.priority_label(complaint.priority),
        assignee=staff_name(facts.assignee),
    )
    lines = [headline, details]
    if complaint.agitated:
        lines.append(_("⚠ The customer is upset: answer fast, calmly and with respect."))
    return "\n".join(lines)


def time_left(left: timedelta) -> str:
    """A short duration for staff: "25 min", "11 h 30 min"."""
    minutes = max(0, int(left.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return _("{minutes} min").format(minutes=minutes)
    return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
