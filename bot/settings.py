"""Configuration: environment variables (``CAREBOT_*``) over an optional ``carebot.toml``."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from care.engine import DeliveryLimits, EngineConfig, FollowUpRules, SendWindow, parse_hhmm
from care.faq_match import Thresholds
from care.models import Priority
from care.planning import in_quiet_hours
from care.reports import ReportSettings
from care.reports.weekly import WeeklyReport
from care.segments import SegmentRules
from care.sla import BusinessHours, SlaPolicy
from care.triage import Triage

LOCALES = ("zh_CN", "en")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FAQ_DEFAULTS = Thresholds()
# What `carebot run` uses without a token (made anew at each start); `carebot --playground`
# points the other commands at it.
PLAYGROUND_DATABASE = Path("var/playground.db")
PLAYGROUND_DATABASE_URL = f"sqlite+aiosqlite:///{PLAYGROUND_DATABASE}"
TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"


class SettingsError(Exception):
    """A setting is wrong; the message is one line that names it."""


class Settings(BaseSettings):
    """Everything carebot reads from its environment, validated at start-up."""

    model_config = SettingsConfigDict(env_prefix="CAREBOT_", extra="forbid")

    token: SecretStr | None = Field(default=None, description="Telegram bot token")
    database_url: str = Field(default="sqlite+aiosqlite:///var/carebot.db")
    # PostgreSQL: connections each process keeps (the pool), and how many more it may
    # open at busy moments. Several instances share the server's max_connections.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_max_overflow: int = Field(default=20, ge=0, le=200)
    api_base_url: str = Field(default=TELEGRAM_API_BASE_URL)
    staff_chat_id: int | None = None
    admins: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_locale: str = "zh_CN"
    timezone: str = "Asia/Shanghai"
    company_name: str = "carebot"
    phone_region: str = "CN"  # ISO 3166: the country of numbers typed without a country code
    # How often PTB writes conversation state to the database (seconds).
    persistence_interval: float = Field(default=1.0, gt=0, le=60)
    # Complaints (issue: complaints end to end).
    complaint_categories: list[str] = Field(
        default_factory=lambda: ["product", "delivery", "service", "billing", "other"]
    )
    sla_acknowledge_minutes: dict[str, int] = Field(
        default_factory=lambda: {"normal": 120, "high": 30, "urgent": 10}
    )
    sla_resolve_minutes: dict[str, int] = Field(
        default_factory=lambda: {"normal": 48 * 60, "high": 24 * 60, "urgent": 4 * 60}
    )
    business_hours: str | None = None  # e.g. "mon-fri 09:00-18:00": SLA counts only these
    sla_check_seconds: float = Field(default=60.0, gt=0)
    # On SIGTERM (or Ctrl-C), how long carebot may finish what is in flight before it
    # stops at once (a second signal stops it at once too).
    stop_grace_seconds: float = Field(default=30.0, gt=0, le=600)
    duplicate_threshold: float = Field(default=75.0, ge=0, le=100)
    angry_words: list[str] | None = None  # None: the built-in Chinese and English lists
    survey_close_days: float = Field(default=7.0, gt=0)
    # Conversations (issue 11): closed this long after the last staff answer, if quiet.
    conversation_close_hours: float = Field(default=24.0, gt=0)
    # The care engine (issue: greetings, follow-ups, campaigns, the outbox).
    holiday_countries: list[str] = Field(default_factory=lambda: ["CN"])
    templates_file: str | None = None
    send_at_local: str = "09:00"
    quiet_hours: str = "21:00-08:00"
    auto_campaign_days_before: int = Field(default=3, ge=0, le=60)
    auto_campaign_occasions: list[str] | None = None  # None: the engine's default list
    auto_approve_occasions: list[str] = Field(default_factory=list)
    followup_after_resolution_days: int | None = 3
    followup_after_first_contact_days: int | None = 7
    followup_after_purchase_days: int | None = 7
    winback_quiet_days: int | None = 90
    # A follow-up the bot could not send on its day may still go out this many days late.
    followup_grace_days: int = Field(default=2, ge=0, le=30)
    birthday_greetings: bool = True
    anniversary_greetings: bool = True
    send_per_second: float = Field(default=30.0, gt=0)
    send_per_chat_per_second: float = Field(default=1.0, gt=0)
    send_per_chat_burst: int = Field(default=3, ge=1)  # messages to a chat before the pace
    send_per_group_per_minute: int = Field(default=20, gt=0)
    paid_broadcast: bool = False
    outbox_check_seconds: float = Field(default=1.0, gt=0)
    planner_check_seconds: float = Field(default=300.0, gt=0)
    # Reports (issue 13): no inbound message for this many days and a customer counts
    # as lost (churn); the weekly report goes to supervisors on this day (mon … sun) at
    # this hour (CAREBOT_TIMEZONE), or never when CAREBOT_REPORT_WEEKDAY is empty.
    churn_days: int = Field(default=90, ge=1, le=3650)
    report_weekday: str | None = "mon"
    report_hour: int = Field(default=9, ge=0, le=23)
    # Computed segments (docs/segments.md): the thresholds of each rule.
    segment_check_seconds: float = Field(default=3600.0, gt=0)
    segment_window_days: int = Field(default=365, ge=1, le=3650)
    segment_regular_purchases: int = Field(default=4, ge=1)
    segment_regular_contact_days: int = Field(default=12, ge=1)
    segment_occasional_purchases: int = Field(default=2, ge=1)
    segment_occasional_contact_days: int = Field(default=4, ge=1)
    segment_high_value_amount: Decimal = Field(default=Decimal(1000), ge=0)
    segment_high_value_purchases: int = Field(default=3, ge=1)
    segment_strong_points: int = Field(default=2, ge=1, le=4)
    segment_strong_contact_days: int = Field(default=4, ge=1)
    segment_long_tenure_days: int = Field(default=180, ge=1)
    segment_good_rating: float = Field(default=4.0, ge=1, le=5)
    segment_poor_rating: float = Field(default=2.0, ge=1, le=5)
    segment_care_reply_days: int = Field(default=3, ge=1, le=30)
    segment_dormant_days: int = Field(default=180, ge=1)
    segment_quiet_factor: float = Field(default=2.0, ge=1)
    segment_quiet_min_days: int = Field(default=30, ge=1)
    segment_quiet_days: int = Field(default=60, ge=1)
    segment_low_rating: int = Field(default=2, ge=1, le=5)
    segment_low_rating_days: int = Field(default=30, ge=1)
    # Tags that make a customer key for churn handling, besides the star quadrant.
    segment_key_tags: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["key", "vip"])
    # FAQ answers (issue: FAQ auto-answers): scores are 0-100; bench/faq.py measures them.
    faq_answer_score: float = Field(default=FAQ_DEFAULTS.answer, ge=0, le=100)
    faq_answer_margin: float = Field(default=FAQ_DEFAULTS.margin, ge=0, le=100)
    faq_suggest_score: float = Field(default=FAQ_DEFAULTS.suggest, ge=0, le=100)
    faq_suggestions: int = Field(default=FAQ_DEFAULTS.suggestions, ge=1, le=5)
    # An answer not followed by "ask a person" or another message this long deflected.
    faq_quiet_minutes: int = Field(default=10, ge=1, le=24 * 60)
    playground_host: str = "127.0.0.1"
    playground_port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "INFO"
    # "text": one readable line per record; "json": one JSON object per line, for log
    # collectors (journald, Loki, Elasticsearch).
    log_format: Literal["text", "json"] = "text"
    # The durable inbox (bot.inbox).
    inbox_max_attempts: int = Field(default=5, ge=1)  # then the update is parked
    inbox_retention_hours: float = Field(default=72.0, gt=0)  # handled updates are kept
    # Webhook mode (``carebot run --webhook URL``, or this setting); polling without it.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"  # behind a TLS reverse proxy on the same host
    webhook_port: int = Field(default=8443, ge=0, le=65535)
    webhook_secret: SecretStr | None = None  # Telegram's secret_token: 1-256 of A-Z a-z 0-9 _ -
    webhook_max_connections: int = Field(default=40, ge=1, le=100)
    allowed_updates: list[str] | None = None  # None: Telegram's default (all but a few)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("CAREBOT_CONFIG", "carebot.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        bot_id, _, secret = value.get_secret_value().strip().partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("does not look like a bot token (expected 123456:ABC...)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("segment_key_tags", mode="before")
    @classmethod
    def _split_tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in value.replace(";", ",").replace(" ", ",").split(",") if part]
        return value

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError("must be Telegram user ids separated by commas") from None
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in LOCALES:
            raise ValueError(f"must be one of {', '.join(LOCALES)}")
        return value

    @field_validator("phone_region")
    @classmethod
    def _known_phone_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError("is not a country code phone numbers know (e.g. CN, HK, US)")
        return region

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("sqlite:///") or value.startswith("sqlite://"):
            value = value.replace("sqlite://", "sqlite+aiosqlite://", 1)
        elif value.startswith(("postgresql://", "postgres://")):
            value = "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _bot_base(cls, value: str) -> str:
        value = value.rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL of a Bot API server")
        return value if value.endswith("/bot") else value + "/bot"

    @field_validator("sla_acknowledge_minutes", "sla_resolve_minutes")
    @classmethod
    def _every_priority(cls, value: dict[str, int]) -> dict[str, int]:
        missing = {"normal", "high", "urgent"} - set(value)
        if missing or any(minutes <= 0 for minutes in value.values()):
            raise ValueError("needs positive minutes for normal, high and urgent")
        return value

    @field_validator("complaint_categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        if not value or any(not c.isidentifier() or len(c) > 24 for c in value):
            raise ValueError("must be short identifiers such as product, delivery, other")
        return value

    @field_validator("send_at_local")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        parse_hhmm(value)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        start, dash, end = value.partition("-")
        if not dash:
            raise ValueError("must look like 21:00-08:00")
        parse_hhmm(start)
        parse_hhmm(end)
        return value

    @model_validator(mode="after")
    def _send_at_outside_quiet_hours(self) -> Settings:
        # Automatic campaigns are sent at this time: inside quiet hours, an evening
        # greeting would arrive the next morning, after its day.
        window = self.engine().window
        if in_quiet_hours(window.send_at, window):
            raise ValueError(
                f"send_at_local: {self.send_at_local} is inside the quiet hours "
                f"({self.quiet_hours}); choose a time outside them"
            )
        return self

    @model_validator(mode="after")
    def _business_hours(self) -> Settings:
        if self.business_hours:
            try:
                BusinessHours.parse(self.business_hours, self.timezone)
            except ValueError as error:
                raise ValueError(f"business_hours: {error}") from None
        return self

    @field_validator("report_weekday")
    @classmethod
    def _weekday(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        day = value.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise ValueError("must be a day of the week (mon, tue … sun), or empty for none")
        return day

    @model_validator(mode="after")
    def _faq_suggest_below_answer(self) -> Settings:
        if self.faq_suggest_score > self.faq_answer_score:
            raise ValueError(
                f"faq_suggest_score: {self.faq_suggest_score} is above "
                f"CAREBOT_FAQ_ANSWER_SCORE ({self.faq_answer_score})"
            )
        return self

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @property
    def api_file_url(self) -> str:
        """Where files are downloaded: ``…/file/bot`` beside ``…/bot``."""
        return self.api_base_url[: -len("/bot")] + "/file/bot"

    def sla_policy(self) -> SlaPolicy:
        """The SLA targets as the domain takes them."""
        hours = (
            BusinessHours.parse(self.business_hours, self.timezone) if self.business_hours else None
        )
        return SlaPolicy(
            acknowledge={
                Priority(k): timedelta(minutes=v) for k, v in self.sla_acknowledge_minutes.items()
            },
            resolve={
                Priority(k): timedelta(minutes=v) for k, v in self.sla_resolve_minutes.items()
            },
            business_hours=hours,
        )

    def engine(self) -> EngineConfig:
        """The care engine's configuration as the domain takes it."""
        start, _, end = self.quiet_hours.partition("-")
        defaults = EngineConfig()
        return EngineConfig(
            holiday_countries=tuple(self.holiday_countries),
            window=SendWindow(parse_hhmm(self.send_at_local), parse_hhmm(start), parse_hhmm(end)),
            followups=FollowUpRules(
                after_resolution_days=self.followup_after_resolution_days,
                after_first_contact_days=self.followup_after_first_contact_days,
                after_purchase_days=self.followup_after_purchase_days,
                win_back_quiet_days=self.winback_quiet_days,
                birthdays=self.birthday_greetings,
                anniversaries=self.anniversary_greetings,
                grace_days=self.followup_grace_days,
            ),
            limits=DeliveryLimits(
                global_per_second=self.send_per_second,
                per_chat_per_second=self.send_per_chat_per_second,
                per_chat_burst=self.send_per_chat_burst,
                per_group_per_minute=self.send_per_group_per_minute,
                paid_broadcast=self.paid_broadcast,
            ),
            auto_campaign_days_before=self.auto_campaign_days_before,
            auto_campaign_occasions=tuple(
                self.auto_campaign_occasions or defaults.auto_campaign_occasions
            ),
            auto_approve_occasions=tuple(self.auto_approve_occasions),
            templates_file=self.templates_file,
            segments=self.segment_rules(),
        )

    def segment_rules(self) -> SegmentRules:
        """The thresholds of the segment rules as the domain takes them."""
        return SegmentRules(
            window_days=self.segment_window_days,
            regular_purchases=self.segment_regular_purchases,
            regular_contact_days=self.segment_regular_contact_days,
            occasional_purchases=self.segment_occasional_purchases,
            occasional_contact_days=self.segment_occasional_contact_days,
            high_value_amount=self.segment_high_value_amount,
            high_value_purchases=self.segment_high_value_purchases,
            strong_points=self.segment_strong_points,
            strong_contact_days=self.segment_strong_contact_days,
            long_tenure_days=self.segment_long_tenure_days,
            good_rating=self.segment_good_rating,
            poor_rating=self.segment_poor_rating,
            care_reply_days=self.segment_care_reply_days,
            dormant_days=self.segment_dormant_days,
            quiet_factor=self.segment_quiet_factor,
            quiet_min_days=self.segment_quiet_min_days,
            quiet_days=self.segment_quiet_days,
            low_rating=self.segment_low_rating,
            low_rating_days=self.segment_low_rating_days,
            key_tags=tuple(tag.strip().lower() for tag in self.segment_key_tags if tag.strip()),
        )

    def reports(self) -> ReportSettings:
        """What the reports need besides the period."""
        return ReportSettings(
            churn_days=self.churn_days,
            business_hours=self.sla_policy().business_hours,
            faq_quiet_after=timedelta(minutes=self.faq_quiet_minutes),
        )

    def weekly_report(self) -> WeeklyReport | None:
        """When the weekly report is pushed to supervisors (None: never)."""
        if self.report_weekday is None:
            return None
        return WeeklyReport(WEEKDAYS.index(self.report_weekday), self.report_hour)

    def faq_thresholds(self) -> Thresholds:
        """Where FAQ matching answers, suggests or hands off."""
        return Thresholds(
            answer=self.faq_answer_score,
            margin=self.faq_answer_margin,
            suggest=self.faq_suggest_score,
            suggestions=self.faq_suggestions,
        )

    def triage(self) -> Triage:
        if self.angry_words is None:
            return Triage(duplicate_threshold=self.duplicate_threshold)
        return Triage(
            angry_words=tuple(self.angry_words), duplicate_threshold=self.duplicate_threshold
        )

    @property
    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token else None


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation error into one line naming the setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"] and ": " in message:  # a model validator names its field
            field, _, message = message.partition(": ")
        else:
            field = str(error["loc"][0]) if error["loc"] else "settings"
        name = f"CAREBOT_{field.upper()}" if field in Settings.model_fields else field
        raise SettingsError(f"{name}: {message}") from None
