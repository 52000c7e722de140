"""``/followups [days]``: follow-ups and personal greetings due in the last and next
days, by rule and state, why some were skipped, the ones that may not have arrived or
could not be planned, and what the rules will plan on the days ahead (supervisors and
admins)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram.ext import BaseHandler

from care import deliveries, planning
from care.models import OutboxState, StaffRole
from handlers.campaigns.words import STATE_LABELS, skip_reason_words
from handlers.i18n import N_, ngettext
from handlers.i18n import gettext as _
from handlers.staff_access import Answer, Reply, StaffRequest, staff_command, staff_places

# The rules of follow-ups and personal greetings (care.followups), in /followups.
RULE_LABELS = {
    planning.AFTER_RESOLUTION.name: N_("after a resolved complaint"),
    planning.AFTER_FIRST_CONTACT.name: N_("after the first contact"),
    planning.AFTER_PURCHASE.name: N_("after a purchase"),
    planning.WIN_BACK.name: N_("win-back after a quiet spell"),
    planning.BIRTHDAY.name: N_("birthday greetings"),
    planning.ANNIVERSARY.name: N_("anniversary greetings"),
}


# How far back and ahead /followups looks by default, in days.
FOLLOWUPS_DAYS = 7


def rule_words(rule: str) -> str:
    """A follow-up rule or personal occasion, in words (an unknown one as recorded)."""
    label = RULE_LABELS.get(rule)
    return _(label) if label is not None else rule


def followups_text(
    found: deliveries.DeliveryReport,
    timezone: str,
    ahead: Sequence[deliveries.ComingUp] = (),
) -> str:
    """/followups: what the outbox did with follow-ups and personal greetings, and the
    follow-ups the rules will plan on the days ahead."""
    zone = ZoneInfo(timezone)

    def moment(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    span = {"start": moment(found.since), "end": moment(found.until)}
    if not found.counts and not found.not_planned:
        lines = [_("No follow-ups or greetings are due between {start} and {end}.").format(**span)]
        return "\n".join(lines + coming_up_lines(ahead))
    lines = [_("📬 Follow-ups and greetings due between {start} and {end}:").format(**span)]
    for rule, states in found.counts.items():
        shown = " · ".join(
            f"{_(STATE_LABELS[state])}: {states[state.value]}"
            for state in OutboxState
            if states.get(state.value)
        )
        lines.append(f"· {rule_words(rule)}: {shown}")
    if found.skipped_because:
        lines.append(_("Skipped at send time, because:"))
        lines += [
            f"   – {skip_reason_words(reason)}: {rows}"
            for reason, rows in found.skipped_because.items()
        ]
    unconfirmed = found.total(OutboxState.UNCONFIRMED)
    if unconfirmed:
        lines.append(
            ngettext(
                "⚠️ {count} message may or may not have arrived (the sender stopped while "
                "sending it). It is never sent again; check with the customer if it matters:",
                "⚠️ {count} messages may or may not have arrived (the sender stopped while "
                "sending them). They are never sent again; check with the customers if it "
                "matters:",
                unconfirmed,
            ).format(count=unconfirmed)
        )
        lines += [
            _("· {name} (customer {id}): {rule}, due {due}").format(
                name=row.name or "?",
                id=row.customer_id,
                rule=rule_words(row.rule),
                due=moment(row.due_at),
            )
            for row in found.unconfirmed
        ]
    if found.not_planned:
        lines.append(
            _("⚠️ Not planned, because of an error with the customer's data (the log has it "
              "under the customer's id); the others were planned:")
        )  # fmt: skip
        lines += [
            _("· {name} (customer {id}): {rule}, last tried {at}").format(
                name=failed.name or "?",
                id=failed.customer_id,
                rule=rule_words(failed.rule),
                at=moment(failed.last_at),
            )
            for failed in found.not_planned
        ]
    return "\n".join(lines + coming_up_lines(ahead))


def coming_up_lines(ahead: Sequence[deliveries.ComingUp]) -> list[str]:
    """The follow-ups not in the outbox yet (it is filled a day ahead), by rule."""
    if not ahead:
        return []
    lines = [_("Coming up (put in the outbox the day before they are due):")]
    for coming in ahead:
        days = (
            coming.first_day.isoformat()
            if coming.first_day == coming.last_day
            else _("{first} to {last}").format(
                first=coming.first_day.isoformat(), last=coming.last_day.isoformat()
            )
        )
        lines.append(
            _("· {rule}: {count} ({days})").format(
                rule=rule_words(coming.rule), count=coming.count, days=days
            )
        )
    return lines


async def show_followups(request: StaffRequest) -> Reply:
    """/followups [days]: follow-ups and personal greetings due in the last and next
    ``days`` (7), by rule and state, naming the unconfirmed ones (supervisors, admins)."""
    session, services = request.session, request.services
    days = followups_days(request.arguments)
    now = services.clock.now()
    found = await deliveries.report(session, now - timedelta(days=days), now + timedelta(days=days))
    zone = ZoneInfo(services.timezone)
    ahead = await deliveries.coming_up(
        session,
        now.astimezone(zone).date(),
        (now + timedelta(days=days)).astimezone(zone).date(),
        services.care.followups,
        services.timezone,
    )
    return Reply(followups_text(found, services.timezone, ahead))


def followups_days(arguments: str) -> int:
    """The days /followups looks back and ahead: none given, 7; else 1 to 365."""
    if not arguments:
        return FOLLOWUPS_DAYS
    if arguments.isdigit() and 1 <= int(arguments) <= 365:
        return int(arguments)
    raise Answer(
        _("/followups [days]: follow-ups and greetings due in the last and next days "
          "(1 to 365; 7 when not given), e.g. /followups 30")
    )  # fmt: skip


def followups_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """/followups, in the staff group and private chats (supervisors and admins)."""
    return [
        staff_command(
            "followups", show_followups, least=StaffRole.SUPERVISOR,
            refusal=N_("Only supervisors and admins can see this."),
            where=staff_places(staff_chat_id),
        )
    ]  # fmt: skip
