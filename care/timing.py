"""Right day, right hour: whether a care message may still go out when it falls due.

Planning (``care.planning.DueTimes``) puts each row at a sensible local moment on its
day. But rows wait: the bot may be down for hours or days, a 5xx may put a row back,
the customer may move to another time zone. So the sender asks again, for every row,
at the moment it would send (``care.outbox.message_for``):

- a greeting (a campaign's, a birthday's, an anniversary's) goes out only on its day in
  the customer's time zone, and outside quiet hours;
- a follow-up may also go out up to ``FollowUpRules.grace_days`` days after its day
  (it is still worth asking "is everything all right?" two days late; "happy
  Mid-Autumn" the day after is not);
- inside quiet hours it waits for their end, if that is still within its days;
  otherwise it is too late (``SkipReason.TOO_LATE``), and never sent.

The rule is the planner's quiet-hours rule (``care.planning.in_quiet_hours``) applied
at send time; :func:`decide` is pure, so it is tested over a table of moments. (A
campaign's day and hour are checked when it is made, too: ``care.campaigns.
schedule_problem``.)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from care.engine import FollowUpRules, SendWindow
from care.models import Campaign, Customer, Outbox
from care.planning import (
    AFTER_FIRST_CONTACT,
    AFTER_PURCHASE,
    AFTER_RESOLUTION,
    ANNIVERSARY,
    BIRTHDAY,
    WIN_BACK,
    in_quiet_hours,
    out_of_quiet_hours,
    window_of,
    zone_of,
)

__all__ = [
    "Allowed",
    "Decision",
    "SendTimes",
    "Verdict",
    "allowed_for",
    "decide",
]


class Verdict(enum.StrEnum):
    SEND = "send"  # within its days and hours: send it now
    WAIT = "wait"  # inside quiet hours (or before its day): wait until ``Decision.at``
    TOO_LATE = "too_late"  # its days are over, or no hour of them is left


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    at: datetime | None = None  # for WAIT: when it may go out (UTC)


SEND = Decision(Verdict.SEND)
TOO_LATE = Decision(Verdict.TOO_LATE)


@dataclass(frozen=True)
class Allowed:
    """When one message may arrive: from ``first_day`` to ``last_day`` (its day, or its
    day and the grace after it), in ``zone``, outside the window's quiet hours."""

    first_day: date
    last_day: date
    zone: ZoneInfo
    window: SendWindow

    @classmethod
    def on(cls, day: date, zone: ZoneInfo, window: SendWindow, grace_days: int = 0) -> Allowed:
        return cls(day, day + timedelta(days=grace_days), zone, window)


def decide(allowed: Allowed, now: datetime) -> Decision:
    """Whether a message may go out at ``now`` (aware), wait, or is too late.

    Returns:
        SEND when ``now`` is on one of its days in the customer's zone and outside quiet
        hours; WAIT with the moment the quiet hours end when that moment is still on one
        of its days (or, before its first day, with its planned moment on that day);
        TOO_LATE when its last day is over or the quiet hours last beyond it.
    """
    window, zone = allowed.window, allowed.zone
    local = now.astimezone(zone)
    if local.date() > allowed.last_day:
        return TOO_LATE
    if local.date() < allowed.first_day:
        # Early: the customer moved to a zone behind the one it was planned for.
        planned = out_of_quiet_hours(
            datetime.combine(allowed.first_day, window.send_at, tzinfo=zone), window
        )
        if planned.date() > allowed.last_day:  # a send time inside evening quiet hours
            planned = out_of_quiet_hours(
                datetime.combine(allowed.first_day, time(0), tzinfo=zone), window
            )
        return _wait_until(planned, allowed, now)
    if not in_quiet_hours(local.time(), window):
        return SEND
    return _wait_until(out_of_quiet_hours(local, window), allowed, now)


def _wait_until(local: datetime, allowed: Allowed, now: datetime) -> Decision:
    if local.date() > allowed.last_day:
        return TOO_LATE
    at = local.astimezone(UTC)
    # Wall-clock arithmetic across a DST change can put the end of the quiet hours
    # before now (the repeated hour when clocks go back): it has ended, then.
    return Decision(Verdict.WAIT, at) if at > now else SEND


# ----------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class SendTimes:
    """What the sender knows when it decides: the moment, and the configuration."""

    now: datetime
    default_timezone: str  # CAREBOT_TIMEZONE: the zone of customers who have none
    window: SendWindow  # of follow-ups and personal greetings (campaigns have their own)
    followups: FollowUpRules


# Greetings for a personal day: on that day only. Every other rule is a follow-up.
GREETINGS = frozenset({BIRTHDAY.name, ANNIVERSARY.name})


def _days_after(rule: str | None, rules: FollowUpRules) -> int | None:
    return {
        AFTER_RESOLUTION.name: rules.after_resolution_days,
        AFTER_FIRST_CONTACT.name: rules.after_first_contact_days,
        AFTER_PURCHASE.name: rules.after_purchase_days,
        WIN_BACK.name: rules.win_back_quiet_days,
    }.get(rule or "")


def allowed_for(
    row: Outbox, customer: Customer, campaign: Campaign | None, times: SendTimes
) -> Allowed:
    """When a row may arrive, in the customer's zone now.

    - a campaign's row: on the campaign's day, outside the campaign's quiet hours;
    - a birthday or anniversary greeting: on the local day it was planned for (the day
      of its due time: a greeting is planned within its day and only ever moved
      within it);
    - a follow-up: from its day to ``grace_days`` after it. Its day is the one its due
      time was planned on, or, when earlier, its event's local day and the rule's days
      after it, as the planner counts them: a follow-up planned late (the planner was
      not running on its day) gets no more grace than one planned on time.
    """
    zone = zone_of(customer.timezone, times.default_timezone)
    if campaign is not None:
        return Allowed.on(campaign.send_on, zone, window_of(campaign))
    planned_day = row.due_at.astimezone(zone).date()
    if row.rule in GREETINGS:
        return Allowed.on(planned_day, zone, times.window)
    days_after = _days_after(row.rule, times.followups)
    if row.event_at is not None and days_after is not None:
        rule_day = row.event_at.astimezone(zone).date() + timedelta(days=days_after)
        planned_day = min(planned_day, rule_day)
    return Allowed.on(planned_day, zone, times.window, times.followups.grace_days)
