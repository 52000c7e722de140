"""Words about complaints: labels for categories, statuses, priorities, deadlines, events."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import get_timezone_gmt, get_timezone_location

from care.models import ComplaintEvent, ComplaintEventType, ComplaintStatus, Priority
from care.planning import zone_of
from handlers.i18n import N_, current_locale
from handlers.i18n import gettext as _

CATEGORY_LABELS = {
    "product": N_("Product quality"),
    "delivery": N_("Delivery"),
    "service": N_("Service attitude"),
    "billing": N_("Billing"),
    "other": N_("Other"),
}

STATUS_LABELS = {
    ComplaintStatus.DRAFT: N_("being filed"),
    ComplaintStatus.NEW: N_("received"),
    ComplaintStatus.ACKNOWLEDGED: N_("acknowledged"),
    ComplaintStatus.IN_PROGRESS: N_("being handled"),
    ComplaintStatus.WAITING_CUSTOMER: N_("waiting for your answer"),
    ComplaintStatus.RESOLVED: N_("resolved"),
    ComplaintStatus.CLOSED: N_("closed"),
    ComplaintStatus.REOPENED: N_("reopened"),
}

PRIORITY_LABELS = {
    Priority.NORMAL: N_("normal"),
    Priority.HIGH: N_("high"),
    Priority.URGENT: N_("urgent"),
}


def category_label(code: str | None) -> str:
    if code is None:
        return _("Other")
    return _(CATEGORY_LABELS[code]) if code in CATEGORY_LABELS else code


def status_label(status: str) -> str:
    return _(STATUS_LABELS[ComplaintStatus(status)])


def priority_label(priority: str) -> str:
    return _(PRIORITY_LABELS[Priority(priority)])


def local_time(moment: datetime | None, timezone: str) -> str:
    """A moment as people in ``timezone`` read it: 2026-09-24 18:00."""
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def customer_time(moment: datetime | None, customer_timezone: str | None, timezone: str) -> str:
    """A moment as the customer reads it: in their own time zone (``Customer.timezone``,
    else the company's ``timezone``, as campaigns decide it), naming that zone when its
    clock differs from the company's: "2026-12-03 06:44 (United Kingdom Time, GMT+00:00)".
    """
    if moment is None:
        return "—"
    zone = zone_of(customer_timezone, timezone)
    theirs = moment.astimezone(zone)
    text = theirs.strftime("%Y-%m-%d %H:%M")
    if theirs.utcoffset() == moment.astimezone(ZoneInfo(timezone)).utcoffset():
        return text
    locale = current_locale()
    return _("{time} ({zone}, {offset})").format(
        time=text,
        zone=get_timezone_location(zone, locale=locale),
        offset=get_timezone_gmt(theirs, locale=locale),
    )


def customer_event_line(event: ComplaintEvent, timezone: str) -> str | None:
    """One line of a complaint's history as the customer reads it (None: not shown)."""
    when = local_time(event.at, timezone)
    kind = ComplaintEventType(event.type)
    if kind is ComplaintEventType.FILED:
        return _("{when}: you filed the complaint").format(when=when)
    if kind is ComplaintEventType.STATUS and event.to_status:
        return _("{when}: {status}").format(when=when, status=status_label(event.to_status))
    if kind is ComplaintEventType.CUSTOMER_MESSAGE:
        return _("{when}: you wrote to us").format(when=when)
    if kind is ComplaintEventType.STAFF_REPLY:
        return _("{when}: we wrote to you").format(when=when)
    if kind is ComplaintEventType.ASSIGNED:
        return _("{when}: a member of our team took it on").format(when=when)
    if kind is ComplaintEventType.RATING:
        return _("{when}: you rated our service {rating}/5").format(
            when=when, rating=event.note or "?"
        )
    return None
