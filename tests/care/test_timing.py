"""Right day, right hour: ``care.timing.decide`` over a table of moments.

A greeting goes out on its day in the customer's zone, outside quiet hours (21:00 to
08:00 here); a follow-up may go out up to its grace days later. Inside quiet hours it
waits for their end if that is still within its days; otherwise it is too late.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from care.engine import FollowUpRules, SendWindow
from care.models import Campaign, Customer, Outbox
from care.timing import Allowed, Decision, SendTimes, Verdict, allowed_for, decide

WINDOW = SendWindow(send_at=time(9, 0), quiet_start=time(21, 0), quiet_end=time(8, 0))
SEND = Decision(Verdict.SEND)
TOO_LATE = Decision(Verdict.TOO_LATE)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def wait(*parts: int) -> Decision:
    return Decision(Verdict.WAIT, utc(*parts))


def greeting(day: date, zone: str, window: SendWindow = WINDOW) -> Allowed:
    return Allowed.on(day, ZoneInfo(zone), window)


def follow_up(day: date, zone: str, grace: int = 2) -> Allowed:
    return Allowed.on(day, ZoneInfo(zone), WINDOW, grace)


MID_AUTUMN = date(2026, 9, 25)

TABLE = [
    # Shanghai (UTC+8): the greeting was due at 09:00 local, 01:00 UTC.
    ("on time", greeting(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 25, 1, 0), SEND),
    ("late by minutes", greeting(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 25, 1, 7), SEND),
    ("late by hours, 20:30", greeting(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 25, 12, 30), SEND),
    ("20:59 local", greeting(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 25, 12, 59), SEND),
    ("21:00 local", greeting(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 25, 13, 0), TOO_LATE),
    ("22:00 local", greeting(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 25, 14, 0), TOO_LATE),
    ("04:00 next day", greeting(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 25, 20, 0), TOO_LATE),
    ("days late", greeting(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 28, 2, 0), TOO_LATE),
    # 04:00 on its day (a row moved there by hand, or a zone change): wait for 08:00.
    ("04:00 on the day", greeting(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 24, 20, 0),
     wait(2026, 9, 25, 0, 0)),
    # The day before in a zone behind the planned one: wait for 09:00 on the day.
    ("the day before", greeting(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 24, 3, 0),
     wait(2026, 9, 25, 1, 0)),
    # Follow-ups: two days of grace, never inside quiet hours.
    ("follow-up, 22:00", follow_up(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 25, 14, 0),
     wait(2026, 9, 26, 0, 0)),
    ("follow-up, a day late", follow_up(MID_AUTUMN, "Asia/Shanghai"), utc(2026, 9, 26, 5, 0), SEND),
    ("follow-up, 04:00 two days late", follow_up(MID_AUTUMN, "Asia/Shanghai"),
     utc(2026, 9, 26, 20, 0), wait(2026, 9, 27, 0, 0)),
    ("follow-up, 22:00 on the last day", follow_up(MID_AUTUMN, "Asia/Shanghai"),
     utc(2026, 9, 27, 14, 0), TOO_LATE),
    ("follow-up, three days late", follow_up(MID_AUTUMN, "Asia/Shanghai"),
     utc(2026, 9, 28, 5, 0), TOO_LATE),
    ("follow-up, no grace", follow_up(MID_AUTUMN, "Asia/Shanghai", grace=0),
     utc(2026, 9, 25, 14, 0), TOO_LATE),
    # UTC−11: its day runs from 11:00 UTC to 11:00 UTC the next day.
    ("Pago Pago 09:00", greeting(MID_AUTUMN, "Pacific/Pago_Pago"), utc(2026, 9, 25, 20, 0), SEND),
    ("Pago Pago 21:30", greeting(MID_AUTUMN, "Pacific/Pago_Pago"), utc(2026, 9, 26, 8, 30),
     TOO_LATE),
    ("Pago Pago 07:00", greeting(MID_AUTUMN, "Pacific/Pago_Pago"), utc(2026, 9, 25, 18, 0),
     wait(2026, 9, 25, 19, 0)),
    # UTC+14: its day begins at 10:00 UTC the day before.
    ("Kiritimati 08:00", greeting(MID_AUTUMN, "Pacific/Kiritimati"), utc(2026, 9, 24, 18, 0), SEND),
    ("Kiritimati 07:00", greeting(MID_AUTUMN, "Pacific/Kiritimati"), utc(2026, 9, 24, 17, 0),
     wait(2026, 9, 24, 18, 0)),
    ("Kiritimati 21:00", greeting(MID_AUTUMN, "Pacific/Kiritimati"), utc(2026, 9, 25, 7, 0),
     TOO_LATE),
    # Berlin springs forward on 2026-03-29 (02:00 → 03:00): 08:00 is at 06:00 UTC.
    ("Berlin DST 07:30", greeting(date(2026, 3, 29), "Europe/Berlin"), utc(2026, 3, 29, 5, 30),
     wait(2026, 3, 29, 6, 0)),
    ("Berlin DST 08:00", greeting(date(2026, 3, 29), "Europe/Berlin"), utc(2026, 3, 29, 6, 0),
     SEND),
    ("Berlin DST 20:59", greeting(date(2026, 3, 29), "Europe/Berlin"), utc(2026, 3, 29, 18, 59),
     SEND),
    ("Berlin DST 21:00", greeting(date(2026, 3, 29), "Europe/Berlin"), utc(2026, 3, 29, 19, 0),
     TOO_LATE),
    # New York falls back on 2026-11-01 (02:00 EDT → 01:00 EST): 08:00 is at 13:00 UTC.
    ("New York fall-back 07:59", greeting(date(2026, 11, 1), "America/New_York"),
     utc(2026, 11, 1, 12, 59), wait(2026, 11, 1, 13, 0)),
    ("New York, a day late by an hour", follow_up(date(2026, 10, 31), "America/New_York", 1),
     utc(2026, 11, 2, 2, 0), TOO_LATE),
    # Quiet hours that end inside the repeated hour (01:30): after the first 01:30, the
    # second 01:15 is past the end already, not quiet for another 15 minutes.
    ("quiet hours end in the repeated hour",
     greeting(date(2026, 11, 1), "America/New_York", SendWindow(time(9), time(21), time(1, 30))),
     utc(2026, 11, 1, 6, 15), SEND),
    # Quiet hours that end inside the skipped hour (02:30 on 2026-03-08): the wait ends
    # after it, never before now.
    ("quiet hours end in the skipped hour",
     greeting(date(2026, 3, 8), "America/New_York", SendWindow(time(9), time(21), time(2, 30))),
     utc(2026, 3, 8, 6, 30), wait(2026, 3, 8, 7, 30)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("allowed", "now", "expected"),
    [pytest.param(allowed, now, expected, id=name) for name, allowed, now, expected in TABLE],
)
def test_the_decision_at_a_moment(allowed: Allowed, now: datetime, expected: Decision) -> None:
    assert decide(allowed, now) == expected


ZONES = [
    "Asia/Shanghai",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",  # its clocks change at midnight
    "Australia/Lord_Howe",  # half an hour of DST
    "Pacific/Pago_Pago",  # UTC−11
    "Pacific/Kiritimati",  # UTC+14
]
DAYS = [
    date(2026, 9, 25),
    date(2026, 3, 29),  # Europe springs forward
    date(2026, 11, 1),  # the US falls back
    date(2026, 9, 6),  # Chile springs forward at midnight
    date(2026, 4, 5),  # Lord Howe and Chile fall back
]


@pytest.mark.parametrize("zone_name", ZONES)
@pytest.mark.parametrize("grace", [0, 2])
def test_every_hour_around_its_days(zone_name: str, grace: int) -> None:
    """Every hour (and a minute before and after it) from two days before its day to two
    days after the last one: SEND exactly when it is one of its days and 08:00–21:00
    there; WAIT for a later moment on one of its days that is allowed; TOO_LATE exactly
    when no allowed moment is left."""
    zone = ZoneInfo(zone_name)
    for day in DAYS:
        allowed = Allowed.on(day, zone, WINDOW, grace)
        last_moment = datetime.combine(allowed.last_day, time(21), tzinfo=zone).astimezone(UTC)
        start = datetime.combine(day - timedelta(days=2), time(0), tzinfo=zone).astimezone(UTC)
        hours = (grace + 5) * 24
        for hour in range(hours):
            for minutes in (-1, 0, 1, 30):
                now = start + timedelta(hours=hour, minutes=minutes)
                local = now.astimezone(zone)
                decision = decide(allowed, now)
                on_a_day = allowed.first_day <= local.date() <= allowed.last_day
                daytime = time(8) <= local.time() < time(21)
                where = f"{zone_name} {day} grace {grace} at {local.isoformat()}"
                assert (decision.verdict is Verdict.SEND) == (on_a_day and daytime), where
                assert (decision.verdict is Verdict.TOO_LATE) == (now >= last_moment), where
                if decision.verdict is Verdict.WAIT:
                    assert decision.at is not None and decision.at > now, where
                    then = decision.at.astimezone(zone)
                    assert allowed.first_day <= then.date() <= allowed.last_day, where
                    assert time(8) <= then.time() < time(21), where
                    assert decide(allowed, decision.at) == Decision(Verdict.SEND), where
                    if local.date() < allowed.first_day:
                        # Before its day (the customer moved west): its planned time.
                        assert (then.date(), then.time()) == (day, time(9)), where
                    elif decision.at - now > timedelta(hours=1):
                        # Nothing earlier was allowed: an hour before, it was still waiting.
                        before = decision.at - timedelta(hours=1)
                        assert decide(allowed, before).verdict is Verdict.WAIT, where


# ----------------------------------------------------------------------------- rows

TIMES = SendTimes(
    now=utc(2026, 9, 25, 14, 0),
    default_timezone="Asia/Shanghai",
    window=WINDOW,
    followups=FollowUpRules(after_purchase_days=7, grace_days=2),
)


def row(**values: object) -> Outbox:
    values.setdefault("due_at", utc(2026, 9, 25, 1, 0))  # 09:00 in Shanghai on the 25th
    return Outbox(customer_id=1, dedupe_key="k", state="sending", **values)


def test_a_campaign_row_is_allowed_on_the_campaigns_day_in_the_customers_zone_now() -> None:
    campaign = Campaign(send_on=MID_AUTUMN, send_at_local="10:00", quiet_start="22:00",
                        quiet_end="07:00")  # fmt: skip
    moved = Customer(timezone="America/New_York")
    allowed = allowed_for(row(campaign_id=1), moved, campaign, TIMES)
    assert allowed == Allowed(
        MID_AUTUMN, MID_AUTUMN, ZoneInfo("America/New_York"),
        SendWindow(time(10), time(22), time(7)),
    )  # fmt: skip


def test_a_birthday_is_allowed_on_its_planned_day_only() -> None:
    allowed = allowed_for(row(rule="birthday"), Customer(), None, TIMES)
    assert (allowed.first_day, allowed.last_day) == (MID_AUTUMN, MID_AUTUMN)
    assert allowed.zone == ZoneInfo("Asia/Shanghai")  # the default zone


def test_a_follow_up_planned_late_gets_its_grace_from_its_rules_day() -> None:
    """Planned two days after its day (the planner was not running), due at once: the
    grace still counts from its day, event + 7, not from the day it was planned on."""
    late = row(rule="after_purchase", event_at=utc(2026, 9, 16, 3, 0), due_at=utc(2026, 9, 25, 2))
    allowed = allowed_for(late, Customer(), None, TIMES)
    assert (allowed.first_day, allowed.last_day) == (date(2026, 9, 23), MID_AUTUMN)
    # On time, it is its day and two more.
    on_time = row(rule="after_purchase", event_at=utc(2026, 9, 18, 3, 0))
    allowed = allowed_for(on_time, Customer(), None, TIMES)
    assert (allowed.first_day, allowed.last_day) == (MID_AUTUMN, date(2026, 9, 27))
    # Without an event (rows planned before 0005), from the day of its due time.
    allowed = allowed_for(row(rule="after_purchase"), Customer(), None, TIMES)
    assert (allowed.first_day, allowed.last_day) == (MID_AUTUMN, date(2026, 9, 27))
