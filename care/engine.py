"""Configuration of the care engine, as plain values the domain takes.

Built from settings in ``bot/settings.py``; handlers and jobs get it through
``Services.engine``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from care.segments import SegmentRules


def parse_hhmm(text: str) -> time:
    """``"09:00"`` → ``time(9, 0)``; raises ValueError on anything else."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{text!r} is not a time like 09:00")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class SendWindow:
    """When care messages may arrive, in each customer's local time."""

    send_at: time = time(9, 0)  # default local time of a greeting on its day
    quiet_start: time = time(21, 0)  # no care messages from here …
    quiet_end: time = time(8, 0)  # … to here (may wrap midnight)


@dataclass(frozen=True)
class FollowUpRules:
    """Follow-up care rules; ``None`` turns a rule off."""

    after_resolution_days: int | None = 3
    after_first_contact_days: int | None = 7
    after_purchase_days: int | None = 7
    win_back_quiet_days: int | None = 90
    birthdays: bool = True
    anniversaries: bool = True
    # A follow-up may still go out this many days after its day (a greeting: never).
    grace_days: int = 2


@dataclass(frozen=True)
class DeliveryLimits:
    """Telegram's limits as the sender keeps them."""

    global_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    per_group_per_minute: int = 20
    paid_broadcast: bool = False  # allow_paid_broadcast: up to 1000 messages/s, paid
    paid_per_second: float = 1000.0


@dataclass(frozen=True)
class EngineConfig:
    holiday_countries: tuple[str, ...] = ("CN",)
    window: SendWindow = field(default_factory=SendWindow)
    followups: FollowUpRules = field(default_factory=FollowUpRules)
    limits: DeliveryLimits = field(default_factory=DeliveryLimits)
    # Automatic campaigns: drafted this many days before each of these occasions.
    auto_campaign_days_before: int = 3
    auto_campaign_occasions: tuple[str, ...] = (
        "spring_festival", "lantern", "dragon_boat", "qixi", "mid_autumn",
        "double_ninth", "national_day", "new_year", "christmas",
    )  # fmt: skip
    auto_approve_occasions: tuple[str, ...] = ()
    templates_file: str | None = None  # None: the shipped care/templates/greetings.toml
    outbox_max_attempts: int = 5
    # Computed segments and churn handling by importance (care.segments).
    segments: SegmentRules = field(default_factory=SegmentRules)
