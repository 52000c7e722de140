"""Personal greetings and follow-up care, planned into the outbox day by day.

The planner job calls :func:`plan_personal_and_followups` every few minutes. Each run
plans, for the days from ``today`` to ``today + LOOK_AHEAD_DAYS`` (so that customers in
zones ahead of the company's get theirs on time), one outbox row per customer and
reason:

==========================  ===================================  ==========================
reason                      day (in the customer's time zone)    dedupe key
==========================  ===================================  ==========================
birthday (solar or lunar)   the birthday this year               ``birthday:<year>``
                                                                 (``…:2``, a lunar one's
                                                                 second day in a year)
anniversary                 the day the record was made          ``anniversary:<year>``
after a resolution          resolved + N days                    ``followup:resolution:<id>``
                                                                 (``…:<n>``, n-th resolution)
after first contact         record made + N days                 ``followup:first_contact``
after a purchase            purchased + N days                   ``followup:purchase:<id>``
win-back                    last seen + N days                   ``followup:winback:<date>``
==========================  ===================================  ==========================

"Last seen" is when the customer last wrote to us or pressed a button
(``Customer.last_seen_at``), or, for one who never did, when the record was made: the
care messages we send do not end a quiet spell, so a customer who never answers is won
back once per spell, not every N days.

Each row is due at the send window's local time on its day, out of quiet hours. The
dedupe keys make every run after the first plan nothing new. A follow-up whose day
passed while the planner was not running is still planned for up to ``CATCH_UP_DAYS``,
due at once (out of quiet hours); a greeting is never sent after its day.

A complaint is followed up once per resolution: reopened and resolved again, it is asked
again N days after the new resolution (``Complaint.times_resolved`` numbers them). The
first resolution's key is the complaint's (``followup:resolution:<id>``, as rows planned
before resolutions were counted have it), the n-th's adds ``:<n>``.

Planning never stops for one customer's data: a customer for whom a rule fails (an
error computing their day) gets a row in state ``skipped`` with the reason
``not_planned`` (key ``not_planned:<rule>:<day of planning>``, due at the moment of
planning), which ``/followups`` lists by name, and is logged with their id and the
error, nothing personal, once a day; the others are planned. A rule that fails as a
whole is logged and the other rules are planned.

Only customers who accept care messages, are reachable and were not forgotten are
planned; the sender checks again at send time (``care.outbox.message_for``), and
withdraws a follow-up whose reason went away meanwhile: the one after a resolution when
the complaint is open again or was resolved again since (the later resolution has its
own), a win-back when the customer has written since the quiet spell began (each
follow-up row keeps its event's time, ``Outbox.event_at``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lunar_python import Solar
from sqlalchemy import ColumnElement, Select, and_, extract, null, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from care.engine import EngineConfig
from care.models import (
    BirthdayCalendar,
    Complaint,
    Customer,
    OutboxState,
    Purchase,
)
from care.occasions import anniversary_in, birthdays_in
from care.planning import (
    AFTER_FIRST_CONTACT,
    AFTER_PURCHASE,
    AFTER_RESOLUTION,
    ANNIVERSARY,
    BIRTHDAY,
    FOLLOWED_UP,
    NOT_PLANNED,
    QUIET_SINCE,
    RESOLUTION_KEY,
    WIN_BACK,
    DueTimes,
    Rule,
    insert_outbox_rows,
    may_receive_care,
    outbox_row,
    quiet_since_between,
)

log = logging.getLogger(__name__)

# Rows for tomorrow are planned today too.
LOOK_AHEAD_DAYS = 1
# A follow-up whose day passed at most this many days ago is still planned (due now).
CATCH_UP_DAYS = 2
# Rows are inserted this many at a time.
INSERT_CHUNK = 5_000


@dataclass(frozen=True)
class FollowUp:
    """A follow-up rule: which events it follows up, and how its rows are told apart."""

    rule: Rule
    event: Any  # the event's time column
    anchor: Any  # the id that tells one event from another
    source: Any = None  # the table of events, when not the customer's own row
    where: tuple[ColumnElement[bool], ...] = ()
    key: str = ""  # the dedupe key; {anchor} and {day} (the event's local day) filled in
    # Which of the anchor's events this is (1, 2, …), when an anchor has more than one
    # over time (a complaint resolved again): each is followed up once.
    nth: Any = None

    # The events in [start, end), when ``event`` is an expression no index serves as is.
    between: Callable[[datetime, datetime], ColumnElement[bool]] | None = None

    def events(self, today: date, days_after: int) -> Select[Any]:
        """Customers who may get care messages, with their zone, the event's time and its
        anchor, for events whose follow-up may fall in the days being planned (a day of
        margin on either side for time zones; the exact day is worked out per customer)."""
        first = _midnight(today - timedelta(days=CATCH_UP_DAYS + days_after + 1))
        last = _midnight(today + timedelta(days=LOOK_AHEAD_DAYS - days_after + 2))
        nth = self.nth if self.nth is not None else null()
        query = select(Customer.id, Customer.timezone, self.event, self.anchor, nth)
        if self.source is not None:
            query = query.join(self.source, self.source.customer_id == Customer.id)
        during = (
            self.between(first, last)
            if self.between is not None
            else and_(self.event >= first, self.event < last)
        )
        return query.where(*may_receive_care(), *self.where, during)

    def key_for(self, anchor: Any, event_day: date, nth: int | None = None) -> str:
        """The dedupe key of the follow-up to one event. From an anchor's second event on,
        the key ends in the event's number (``:2``); the first keeps the plain key."""
        key = self.key.format(anchor=anchor, day=event_day.isoformat())
        return key if nth is None or nth <= 1 else f"{key}:{nth}"


RESOLUTIONS = FollowUp(
    AFTER_RESOLUTION,
    event=Complaint.resolved_at,
    anchor=Complaint.id,
    nth=Complaint.times_resolved,
    source=Complaint,
    where=(Complaint.status.in_(FOLLOWED_UP),),
    key=RESOLUTION_KEY,
)
FIRST_CONTACTS = FollowUp(
    AFTER_FIRST_CONTACT,
    event=Customer.created_at,
    anchor=Customer.id,
    key="followup:first_contact",
)
PURCHASES = FollowUp(
    AFTER_PURCHASE,
    event=Purchase.purchased_at,
    anchor=Purchase.id,
    source=Purchase,
    key="followup:purchase:{anchor}",
)
# Once per quiet spell: a customer who comes back and goes quiet again is won back again.
# A spell begins when the customer last wrote to us (never: when the record was made);
# the care messages we send them meanwhile do not end it.
QUIET_SPELLS = FollowUp(
    WIN_BACK,
    event=QUIET_SINCE,
    anchor=Customer.id,
    key="followup:winback:{day}",
    between=quiet_since_between,
)


async def plan_personal_and_followups(
    session: AsyncSession,
    today: date,
    config: EngineConfig,
    now: datetime,
    default_timezone: str,
) -> int:
    """Plan the birthday and anniversary greetings and the follow-ups that are due soon.

    Args:
        today: the company's date today (in ``CAREBOT_TIMEZONE``).
        config: the send window and which rules are on (``config.followups``).
        now: the moment of planning; a row whose time has passed is due now.
        default_timezone: the zone of customers who have none.

    Returns:
        How many rows were planned now (0 when everything was planned before).
    """
    rules = config.followups
    times = DueTimes(config.window, default_timezone, now)
    days = [today + timedelta(days=ahead) for ahead in range(LOOK_AHEAD_DAYS + 1)]
    rows: list[dict[str, Any]] = []
    failures: list[Failure] = []
    if rules.birthdays or rules.anniversaries:
        with _rule_guard("birthdays and anniversaries"):
            rows += await _personal(
                session, days, times, default_timezone, rules.birthdays, rules.anniversaries,
                failures,
            )  # fmt: skip
    for follow_up, days_after in (
        (RESOLUTIONS, rules.after_resolution_days),
        (FIRST_CONTACTS, rules.after_first_contact_days),
        (PURCHASES, rules.after_purchase_days),
        (QUIET_SPELLS, rules.win_back_quiet_days),
    ):
        if days_after is not None:
            with _rule_guard(follow_up.rule.name):
                found = await session.execute(follow_up.events(today, days_after))
                rows += _after(found, follow_up, days_after, today, times, failures)
    return await _insert_new(session, rows) + await _record_failures(session, failures, now)


@contextmanager
def _rule_guard(rules: str) -> Iterator[None]:
    """Log a rule that fails as a whole and go on with the others; a database error ends
    the transaction (PostgreSQL refuses every statement after it), so it is raised."""
    try:
        yield
    except SQLAlchemyError:
        raise
    except Exception:
        log.exception("planning %s failed: skipped this time", rules)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _after(
    found: Iterable[Any],
    follow_up: FollowUp,
    days_after: int,
    today: date,
    times: DueTimes,
    failures: list[Failure],
) -> list[dict[str, Any]]:
    """Rows for events followed up ``days_after`` days later, on the customer's local
    calendar, when that day is one being planned (or passed at most CATCH_UP_DAYS ago)."""
    earliest = today - timedelta(days=CATCH_UP_DAYS)
    latest = today + timedelta(days=LOOK_AHEAD_DAYS)
    rows = []
    for customer_id, timezone, at, anchor, nth in found:
        if at is None:
            continue
        try:
            event_day = at.astimezone(times.zone(timezone)).date()
            day = event_day + timedelta(days=days_after)
            if not earliest <= day <= latest:
                continue
            rows.append(
                outbox_row(
                    customer_id,
                    follow_up.key_for(anchor, event_day, nth),
                    times.due(day, timezone),
                    rule=follow_up.rule.name,
                    template=follow_up.rule.template,
                    event_at=at,
                )
            )
        except Exception as error:  # one customer's data never stops planning
            failures.append(Failure(customer_id, follow_up.rule, error))
    return rows


@dataclass(frozen=True)
class Failure:
    """A rule that could not be planned for a customer (an error with their data)."""

    customer_id: int
    rule: Rule
    error: Exception


async def _record_failures(session: AsyncSession, failures: list[Failure], now: datetime) -> int:
    """Record each failure as a row for ``/followups`` (state skipped, reason
    ``NOT_PLANNED``, due now), one per customer, rule and day of planning, and log it
    with the customer's id and the error, nothing personal, when it is new that day (the
    planner runs every few minutes). One statement a failure: they are rare.

    Returns:
        How many were new.
    """
    new = 0
    for failure in failures:
        rule = failure.rule
        key = f"{NOT_PLANNED}:{rule.name}:{now.date().isoformat()}"
        row = outbox_row(failure.customer_id, key, now, rule=rule.name, template=rule.template)
        row.update(state=OutboxState.SKIPPED.value, last_error=NOT_PLANNED)
        if await insert_outbox_rows(session, [row], count=True):
            new += 1
            log.error(
                "planning %s for customer %s failed: skipped (%s)",
                rule.name,
                failure.customer_id,
                type(failure.error).__name__,
                exc_info=failure.error,
            )
    return new


async def _personal(
    session: AsyncSession,
    days: Sequence[date],
    times: DueTimes,
    default_timezone: str,
    birthdays: bool,
    anniversaries: bool,
    failures: list[Failure],
) -> list[dict[str, Any]]:
    """Birthday and anniversary greetings on the given days, each on the day itself.

    A lunar birthday can fall twice in one solar year (once for each lunar year): the
    first is ``birthday:<year>``, the second ``birthday:<year>:2``.
    """
    rules = [rule for rule, on in ((BIRTHDAY, birthdays), (ANNIVERSARY, anniversaries)) if on]
    rows = []
    for day in days:
        candidates: list[ColumnElement[bool]] = []
        if birthdays:
            candidates.append(_birthday_candidates(day))
        if anniversaries:
            candidates.append(_anniversary_candidates(day))
        customers = await session.scalars(
            select(Customer).where(*may_receive_care(), or_(*candidates))
        )
        for customer in customers:
            for rule in rules:
                try:
                    found = _greeting_days(rule, customer, day.year, default_timezone)
                    if day not in found:
                        continue
                    due = times.on_the_day(day, customer.timezone)
                except Exception as error:  # one customer's data never stops planning
                    failures.append(Failure(customer.id, rule, error))
                    continue
                if due is None:
                    continue  # the day is over for them: no greeting a day late
                nth = found.index(day) + 1
                key = f"{rule.name}:{day.year}" if nth == 1 else f"{rule.name}:{day.year}:{nth}"
                rows.append(
                    outbox_row(customer.id, key, due, rule=rule.name, template=rule.template)
                )
    return rows


def _greeting_days(rule: Rule, customer: Customer, year: int, default_timezone: str) -> list[date]:
    """The days of a solar year on which a personal rule greets the customer."""
    if rule is BIRTHDAY:
        return [birthday.on for birthday in birthdays_in(customer, year)]
    anniversary = anniversary_in(customer, year, default_timezone)
    return [anniversary.on] if anniversary is not None else []


def _birthday_candidates(day: date) -> ColumnElement[bool]:
    """Customers whose birthday may fall on ``day``: solar ones on that month and day
    (29 February on the 28th in common years), lunar ones in that lunar month (the exact
    day, leap months and short months are left to ``birthdays_in``)."""
    solar_days = [and_(Customer.birthday_month == day.month, Customer.birthday_day == day.day)]
    if (day.month, day.day) == (2, 28) and not _is_leap(day.year):
        solar_days.append(and_(Customer.birthday_month == 2, Customer.birthday_day == 29))
    lunar_month = abs(Solar.fromYmd(day.year, day.month, day.day).getLunar().getMonth())
    return or_(
        and_(
            or_(
                Customer.birthday_calendar.is_(None),
                Customer.birthday_calendar == BirthdayCalendar.SOLAR.value,
            ),
            or_(*solar_days),
        ),
        and_(
            Customer.birthday_calendar == BirthdayCalendar.LUNAR.value,
            Customer.birthday_month == lunar_month,
            Customer.birthday_day.is_not(None),
        ),
    )


def _anniversary_candidates(day: date) -> ColumnElement[bool]:
    """Customers whose record was made around this month and day in an earlier year
    (two days either side: the exact day is in the customer's zone)."""
    near = {day + timedelta(days=shift) for shift in range(-2, 3)}
    if (day.month, day.day) == (2, 28) and not _is_leap(day.year):
        near.add(date(2000, 2, 29))
    same_day = [
        and_(
            extract("month", Customer.created_at) == other.month,
            extract("day", Customer.created_at) == other.day,
        )
        for other in sorted(near)
    ]
    return and_(Customer.created_at < _midnight(day - timedelta(days=300)), or_(*same_day))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


async def _insert_new(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert the rows not planned before; how many were new."""
    new = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        new += await insert_outbox_rows(session, chunk, count=True) or 0
    return new


async def plan_win_backs(
    session: AsyncSession,
    customer_ids: Sequence[int],
    config: EngineConfig,
    now: datetime,
    default_timezone: str,
) -> int:
    """Win these customers back now: normal customers whose churn risk turned high
    because they went quiet (``care.segments``), before the quiet-spell rule's day.

    Each gets the win-back follow-up of their current quiet spell, due at the next send
    time in their zone, under the quiet-spell rule's own key, so that a spell is won
    back once whichever comes first. Only customers who may receive care; nothing when
    the win-back rule is off.

    Returns:
        How many rows were planned now (0 for customers planned before).
    """
    if config.followups.win_back_quiet_days is None or not customer_ids:
        return 0
    times = DueTimes(config.window, default_timezone, now)
    found = await session.execute(
        select(Customer.id, Customer.timezone, QUIET_SINCE).where(
            Customer.id.in_(list(customer_ids)), *may_receive_care()
        )
    )
    rows = []
    for customer_id, timezone, since in found:
        zone = times.zone(timezone)
        rows.append(
            outbox_row(
                customer_id,
                QUIET_SPELLS.key_for(customer_id, since.astimezone(zone).date()),
                times.due(now.astimezone(zone).date(), timezone),
                rule=WIN_BACK.name,
                template=WIN_BACK.template,
                event_at=since,
            )
        )
    return await _insert_new(session, rows)
