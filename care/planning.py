"""Planning care messages into the outbox: the core that campaigns and follow-ups share.

- Who may receive care at all (``may_receive_care``) and when a customer's silence began
  (``QUIET_SINCE``).
- The reasons a row is planned for (``Rule``: birthday, anniversary, the follow-ups).
- When a row for a local day is due (``DueTimes``: the send window's time in the
  customer's zone, out of quiet hours), and the window's rules (``in_quiet_hours``,
  ``out_of_quiet_hours``, ``zone_of``).
- Writing rows (``outbox_row``, ``insert_outbox_rows``: planning twice plans once).
- At send time, whether a row's reason went away since it was planned
  (``no_longer_applies``, ``no_longer_quiet``), so that the outbox needs to know
  nothing of campaigns or follow-ups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Table, and_, func, or_
from sqlalchemy.ext.asyncio import AsyncSession

from care import locks
from care.engine import SendWindow, parse_hhmm
from care.models import (
    Campaign,
    Channel,
    Complaint,
    ComplaintStatus,
    Customer,
    Outbox,
    OutboxState,
)

_OUTBOX = cast(Table, Outbox.__table__)
# The dedupe key of the follow-up to a complaint's resolution: ``…<id>`` for its first
# resolution, ``…<id>:<n>`` for the n-th.
RESOLUTION_KEY = "followup:resolution:{anchor}"
# The reason (``Outbox.last_error``) of a row that says a rule failed for a customer
# (``care.outbox.SkipReason.NOT_PLANNED``), and the start of its dedupe key.
NOT_PLANNED = "not_planned"


# ----------------------------------------------------------------------------- who


def may_receive_care() -> list[ColumnElement[bool]]:
    """Who may get care messages at all: consenting, reachable, not forgotten, still a
    customer (the company has not ended the relationship), and with a chat with the bot
    (an imported customer who never wrote to it has none), talking to the bot itself: a
    customer who writes to the company's Business account could be reached only through
    it, where Telegram allows no message we start (care.business)."""
    return [
        Customer.chat_id.is_not(None),
        Customer.channel == Channel.BOT.value,
        Customer.consent_care.is_(True),
        Customer.reachable.is_(True),
        Customer.erased_at.is_(None),
        Customer.ended_at.is_(None),
    ]


# When a customer's silence began: the last time they wrote to us or pressed a button
# (``last_seen_at``), or, for one who never did, when their record was made. Our own
# messages, which move ``last_contact_at``, do not end it.
QUIET_SINCE = func.coalesce(Customer.last_seen_at, Customer.created_at)


def quiet_since_before(moment: datetime) -> ColumnElement[bool]:
    """Customers whose silence began before ``moment`` (``QUIET_SINCE < moment``, in
    terms the index on ``last_seen_at`` serves)."""
    return or_(
        Customer.last_seen_at < moment,
        Customer.last_seen_at.is_(None) & (Customer.created_at < moment),
    )


def quiet_since_between(start: datetime, end: datetime) -> ColumnElement[bool]:
    """Customers whose silence began at or after ``start`` and before ``end``."""
    return or_(
        and_(Customer.last_seen_at >= start, Customer.last_seen_at < end),
        and_(
            Customer.last_seen_at.is_(None),
            Customer.created_at >= start,
            Customer.created_at < end,
        ),
    )


# ----------------------------------------------------------------------------- why


@dataclass(frozen=True)
class Rule:
    """A reason for a care message: its rule name on the row and its template key."""

    name: str
    template: str


BIRTHDAY = Rule("birthday", "birthday")
ANNIVERSARY = Rule("anniversary", "anniversary")
AFTER_RESOLUTION = Rule("after_resolution", "followup.after_resolution")
AFTER_FIRST_CONTACT = Rule("after_first_contact", "followup.after_first_contact")
AFTER_PURCHASE = Rule("after_purchase", "followup.after_purchase")
WIN_BACK = Rule("win_back", "followup.win_back")

# Complaints whose resolution is followed up (a reopened one is open again).
FOLLOWED_UP = (ComplaintStatus.RESOLVED.value, ComplaintStatus.CLOSED.value)


class FollowedResolution(NamedTuple):
    """The resolution an after-resolution row follows up: its complaint, and which of the
    complaint's resolutions it is (1 for the first)."""

    complaint_id: int
    nth: int


def resolution_followed_up(dedupe_key: str) -> FollowedResolution | None:
    """The resolution an after-resolution row follows up, read from its dedupe key
    (``followup:resolution:<id>``, or ``…:<n>`` for the n-th); None for any other key."""
    prefix, _anchor, _rest = RESOLUTION_KEY.partition("{anchor}")
    found = dedupe_key.removeprefix(prefix)
    if found == dedupe_key:
        return None
    complaint_id, colon, nth = found.partition(":")
    if not _is_number(complaint_id) or (colon and not _is_number(nth)):
        return None
    return FollowedResolution(int(complaint_id), int(nth) if colon else 1)


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


# ----------------------------------------------------------------------------- when


def window_of(campaign: Campaign) -> SendWindow:
    """The campaign's own send time and quiet hours."""
    return SendWindow(
        parse_hhmm(campaign.send_at_local),
        parse_hhmm(campaign.quiet_start),
        parse_hhmm(campaign.quiet_end),
    )


def in_quiet_hours(moment: time, window: SendWindow) -> bool:
    """Whether a local wall-clock time is inside the quiet hours (which may wrap midnight)."""
    start, end = window.quiet_start, window.quiet_end
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def out_of_quiet_hours(local: datetime, window: SendWindow) -> datetime:
    """The local moment itself, or the end of the quiet hours it falls in."""
    if not in_quiet_hours(local.timetz().replace(tzinfo=None), window):
        return local
    day = local.date()
    if window.quiet_start > window.quiet_end and local.time() >= window.quiet_start:
        day += timedelta(days=1)  # late evening: the quiet hours end tomorrow morning
    return datetime.combine(day, window.quiet_end, tzinfo=local.tzinfo)


def zone_of(name: str | None, default: str) -> ZoneInfo:
    """The customer's time zone, or the default one (also for a name we cannot read)."""
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


class DueTimes:
    """When a message for a local day is due, per time zone, computed once per zone.

    Due is the window's send time on that day in the customer's zone, moved out of quiet
    hours, in UTC. A row planned after that moment is due ``now``, again moved out of
    quiet hours. Planning a million customers asks this a million times for a handful of
    zones, hence the cache.
    """

    def __init__(self, window: SendWindow, default_timezone: str, now: datetime) -> None:
        self.window = window
        self.default_timezone = default_timezone
        self.now = now
        self._zones: dict[str | None, ZoneInfo] = {}
        self._due: dict[tuple[date, str | None], datetime] = {}

    def zone(self, name: str | None) -> ZoneInfo:
        found = self._zones.get(name)
        if found is None:
            found = self._zones[name] = zone_of(name, self.default_timezone)
        return found

    def due(self, day: date, timezone: str | None) -> datetime:
        """The UTC moment a message for ``day`` is due for a customer in ``timezone``."""
        key = (day, timezone)
        found = self._due.get(key)
        if found is None:
            found = self._due[key] = self._compute(day, self.zone(timezone))
        return found

    def on_the_day(self, day: date, timezone: str | None) -> datetime | None:
        """Like ``due``, or None when it would arrive after ``day`` is over for them (a
        birthday greeting a day late is worse than none)."""
        due = self.due(day, timezone)
        return due if due.astimezone(self.zone(timezone)).date() == day else None

    def _compute(self, day: date, zone: ZoneInfo) -> datetime:
        local = out_of_quiet_hours(
            datetime.combine(day, self.window.send_at, tzinfo=zone), self.window
        )
        due = local.astimezone(UTC)
        if due < self.now:
            due = out_of_quiet_hours(self.now.astimezone(zone), self.window).astimezone(UTC)
        return due


# ----------------------------------------------------------------------------- rows


async def insert_outbox_rows(
    session: AsyncSession, rows: list[dict[str, Any]], *, count: bool = False
) -> int | None:
    """Insert outbox rows in one statement, skipping those already planned (the same
    customer and ``dedupe_key``): planning twice plans once, on SQLite and PostgreSQL.

    Returns:
        With ``count``, how many rows were new (read back with RETURNING, since asyncpg
        reports no row count for many rows); otherwise None.
    """
    if not rows:
        return 0 if count else None
    statement = locks.insert_once(session, _OUTBOX, [_OUTBOX.c.customer_id, _OUTBOX.c.dedupe_key])
    if not count:
        await session.execute(statement, rows)
        return None
    result = await session.execute(statement.returning(_OUTBOX.c.id), rows)
    return len(result.all())


def outbox_row(
    customer_id: int,
    dedupe_key: str,
    due_at: datetime,
    *,
    campaign_id: int | None = None,
    rule: str | None = None,
    template: str | None = None,
    event_at: datetime | None = None,
) -> dict[str, Any]:
    """The values of one pending outbox row, for ``insert_outbox_rows``."""
    return {
        "customer_id": customer_id,
        "campaign_id": campaign_id,
        "rule": rule,
        "template": template,
        "dedupe_key": dedupe_key,
        "event_at": event_at,
        "due_at": due_at,
        "state": OutboxState.PENDING.value,
        "attempts": 0,
    }


# ----------------------------------------------------------------------------- at send time


async def no_longer_applies(session: AsyncSession, row: Outbox, customer: Customer) -> bool:
    """Whether a follow-up's reason went away after it was planned: the complaint whose
    resolution it follows up is open again or was resolved again since, or the customer
    of a win-back has written to us since their quiet spell began."""
    if row.rule == AFTER_RESOLUTION.name:
        followed = resolution_followed_up(row.dedupe_key)
        if followed is None:
            return False
        complaint = await session.get(Complaint, followed.complaint_id)
        return (
            complaint is None
            or complaint.status not in FOLLOWED_UP
            or complaint.times_resolved > followed.nth
        )
    if row.rule == WIN_BACK.name:
        # The spell began at event_at; any message from them since ended it. (Rows
        # planned before event_at was kept have none, and are sent as planned.)
        seen = customer.last_seen_at
        return row.event_at is not None and seen is not None and seen > row.event_at
    return False


def complaints_to_check(rows: Iterable[Outbox]) -> set[int]:
    """The complaints ``no_longer_applies`` reads for these rows (to read them at once)."""
    return {
        followed.complaint_id
        for row in rows
        if row.rule == AFTER_RESOLUTION.name
        and (followed := resolution_followed_up(row.dedupe_key)) is not None
    }


def no_longer_quiet(campaign: Campaign, customer: Customer) -> bool:
    """Whether a customer picked as quiet (``quiet:N``) has written to us since."""
    seen, approved = customer.last_seen_at, campaign.approved_at
    return (
        campaign.audience.get("kind") == "quiet"
        and seen is not None
        and approved is not None
        and seen > approved
    )
