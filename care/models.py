"""The customer record and everything hung on it, as typed SQLAlchemy 2 models.

Later capabilities (complaints with events and SLA, surveys, occasions, campaigns, the
outbox) attach to ``Customer`` and ``StaffMember`` by foreign key; the tables here are
shaped so that they can without a rewrite: surrogate integer keys, Telegram ids as
nullable attributes (a forgotten customer keeps an anonymous row for the counts), and
every timestamp timezone-aware in UTC.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from care.text import clip, storable_text

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite keeps no offset; store UTC wall time and re-attach UTC on the way out.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class CleanText(TypeDecorator[str]):
    """Text from people, made storable (``care.text.storable_text``): NUL characters
    dropped (PostgreSQL cannot store them in text), lone surrogates replaced."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return storable_text(value) if value else value


class CleanString(TypeDecorator[str]):
    """A bounded string from people, made storable and cut to the column's length.

    Whatever a person types (a 300-character name, a long file name) then fits: on
    PostgreSQL a longer value would fail the whole transaction, on SQLite it would be
    stored whole.
    """

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        length = self.impl_instance.length if isinstance(self.impl_instance, String) else None
        return clip(storable_text(value), length) if value else value


class Base(DeclarativeBase):
    """Declarative base. Enum-valued columns are plain strings (values of the StrEnums
    below), so adding a member needs no ALTER TYPE on PostgreSQL."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class CustomerType(enum.StrEnum):
    """Kinds of customer as the seeds classify them."""

    POTENTIAL = "potential"
    INTENDING = "intending"
    SIGNED = "signed"
    ONE_TIME = "one_time"
    OCCASIONAL = "occasional"
    REGULAR = "regular"


class LifecycleStage(enum.StrEnum):
    """客户关系周期."""

    BREAKTHROUGH = "breakthrough"
    CONSOLIDATION = "consolidation"
    GROWTH = "growth"
    HARVEST = "harvest"
    DEFENCE = "defence"
    DORMANT = "dormant"
    PAUSED = "paused"


class BirthdayCalendar(enum.StrEnum):
    SOLAR = "solar"
    LUNAR = "lunar"


class Direction(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class ContactKind(enum.StrEnum):
    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    PHOTO = "photo"
    DOCUMENT = "document"
    CONTACT = "contact"
    STICKER = "sticker"
    VOICE = "voice"
    VIDEO = "video"
    LOCATION = "location"
    OTHER = "other"


class Channel(enum.StrEnum):
    """Where a customer talks to us."""

    BOT = "bot"  # the bot's own private chat
    BUSINESS = "business"  # the company's Telegram Business account, the bot answering


class StaffRole(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Customer(Base):
    """One unified record per customer (客户信息)."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    first_name: Mapped[str | None] = mapped_column(CleanString(128))
    last_name: Mapped[str | None] = mapped_column(CleanString(128))
    username: Mapped[str | None] = mapped_column(CleanString(64))
    phone: Mapped[str | None] = mapped_column(CleanString(32))
    language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    birthday_calendar: Mapped[str | None] = mapped_column(String(16))
    birthday_year: Mapped[int | None] = mapped_column(Integer)
    birthday_month: Mapped[int | None] = mapped_column(Integer)
    birthday_day: Mapped[int | None] = mapped_column(Integer)
    birthday_leap_month: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_type: Mapped[str] = mapped_column(String(16), default=CustomerType.POTENTIAL.value)
    lifecycle_stage: Mapped[str | None] = mapped_column(String(16))
    consent_care: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_changed_at: Mapped[datetime | None]
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    unreachable_since: Mapped[datetime | None]
    onboarded_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # The last message either way, ours included (care messages, replies).
    last_contact_at: Mapped[datetime | None]
    # The last time the customer wrote to us or pressed a button (inbound only): what
    # "quiet for N days" counts from; None for a customer who never did.
    last_seen_at: Mapped[datetime | None]
    # The last message the customer wrote (button presses not counted): Telegram's
    # 24-hour window for a Business account's answers counts from it (care.business).
    last_message_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    # When the company ended the relationship (passive churn, 被动流失: e.g. a service
    # contract ended for unpaid debts), and why; ``care.directory.end_relationship``.
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(CleanString(200))
    # Where the customer last wrote from (Channel): replies owed to them go there. While
    # it is "business", last_message_at is their last message to the Business account,
    # which opens Telegram's 24-hour window for answers (care.business).
    # (A server default only, read back at flush: rows written with revisions before
    # 0016's columns, as the migration tests do, stay valid.)
    channel: Mapped[str] = mapped_column(String(16), server_default=Channel.BOT.value)
    business_connection_id: Mapped[str | None] = mapped_column(String(64))
    # Computed segments (care.segments, docs/segments.md): the value × relationship
    # quadrant, the churn risk and its reasons, when they were last computed, and when
    # the churn risk last turning high was handled (a key customer's alert, a normal
    # one's win-back; cleared when the risk falls), so it is handled once.
    value_segment: Mapped[str | None] = mapped_column(String(16))
    churn_risk: Mapped[str | None] = mapped_column(String(8))
    churn_reasons: Mapped[str | None] = mapped_column(String(64))
    segmented_at: Mapped[datetime | None]
    churn_handled_at: Mapped[datetime | None]

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", order_by="Contact.id", lazy="raise"
    )

    __table_args__ = (
        Index("ix_customer_last_contact_at", "last_contact_at"),
        Index("ix_customer_last_seen_at", "last_seen_at"),
        # The contact log finds the customer of each message the bot sends by its chat.
        Index("ix_customer_chat_id", "chat_id"),
        Index("ix_customer_value_segment", "value_segment"),
        Index("ix_customer_churn_risk", "churn_risk"),
    )
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - SQLAlchemy reads it

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or ""


class Contact(Base):
    """Every message in or out between the company and a customer."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(4))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(CleanText)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]

    customer: Mapped[Customer] = relationship(back_populates="contacts", lazy="raise")

    __table_args__ = (
        Index("ix_contact_customer_created", "customer_id", "created_at"),
        # The reports (care.reports): the period's messages by time, and each customer's
        # last message to us, read from the index alone.
        Index("ix_contact_created_direction", "created_at", "direction", "customer_id"),
        Index("ix_contact_customer_direction_created", "customer_id", "direction", "created_at"),
    )


class StaffMember(Base):
    """Someone who serves customers: agent, supervisor or admin (内客户)."""

    __tablename__ = "staff_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str | None] = mapped_column(CleanString(128))
    username: Mapped[str | None] = mapped_column(CleanString(64))
    # As Telegram last showed them (first and last name), kept current from their updates;
    # ``name`` (chosen by an admin) is shown instead when set.
    telegram_name: Mapped[str | None] = mapped_column(CleanString(256))
    # The locale they read carebot's staff-side texts in (/mylanguage); None: their
    # Telegram app's language, which ``telegram_locale`` holds as last seen.
    language: Mapped[str | None] = mapped_column(String(16))
    telegram_locale: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), default=StaffRole.AGENT.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class PersistenceEntry(Base):
    """python-telegram-bot's persisted state (conversations, user/chat/bot data) as JSON."""

    __tablename__ = "ptb_persistence"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    data: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class ComplaintStatus(enum.StrEnum):
    """Where a complaint stands (客户投诉管理流程)."""

    DRAFT = "draft"  # being filed by the customer; invisible to staff
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING_CUSTOMER = "waiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"


class Priority(enum.StrEnum):
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class ComplaintEventType(enum.StrEnum):
    FILED = "filed"
    STATUS = "status"
    ASSIGNED = "assigned"
    PRIORITY = "priority"
    NOTE = "note"  # internal, never shown to the customer
    CUSTOMER_MESSAGE = "customer_message"
    STAFF_REPLY = "staff_reply"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    RATING = "rating"
    UNREACHABLE = "unreachable"
    # The customer asked to be forgotten (/forget): the complaint's texts were erased;
    # from_status/to_status are set when this closed an open complaint.
    ERASED = "erased"


class Complaint(Base):
    """A customer's complaint, from filing to closing, with its SLA clock."""

    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(24), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    category: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(CleanText)
    reference: Mapped[str | None] = mapped_column(CleanString(64))
    status: Mapped[str] = mapped_column(String(24), default=ComplaintStatus.DRAFT.value)
    priority: Mapped[str] = mapped_column(String(16), default=Priority.NORMAL.value)
    agitated: Mapped[bool] = mapped_column(Boolean, default=False)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    created_at: Mapped[datetime]
    filed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # How many times it was resolved: a complaint reopened and resolved again is
    # followed up again, once per resolution (care.followups, the dedupe key).
    times_resolved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(CleanText)
    acknowledge_due_at: Mapped[datetime | None]
    resolve_due_at: Mapped[datetime | None]
    acknowledged_on_time: Mapped[bool | None] = mapped_column(Boolean)
    resolved_on_time: Mapped[bool | None] = mapped_column(Boolean)
    # SLA alerts already given for the current deadlines (cleared when a deadline is reset).
    acknowledge_warned_at: Mapped[datetime | None]
    acknowledge_breached_at: Mapped[datetime | None]
    resolve_warned_at: Mapped[datetime | None]
    resolve_breached_at: Mapped[datetime | None]
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(CleanText)
    rated_at: Mapped[datetime | None]
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    alert_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The conversation it was filed during (``care.conversations``), if any.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation.id", ondelete="SET NULL")
    )
    # The company's Business chat it was filed in (None: the chat with the bot): a draft
    # in one chat is not the other's (care.complaints.current_draft).
    business_connection_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_complaint_customer_status", "customer_id", "status"),
        Index("ix_complaint_status_ack_due", "status", "acknowledge_due_at"),
        Index("ix_complaint_status_resolve_due", "status", "resolve_due_at"),
    )


class ComplaintEvent(Base):
    """One thing that happened to a complaint. Never updated, never deleted, except that
    erasing the customer (``care.privacy``) clears the notes that are anybody's words."""

    __tablename__ = "complaint_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(24))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    by_customer: Mapped[bool] = mapped_column(Boolean, default=False)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(CleanText)

    __table_args__ = (Index("ix_complaint_event_complaint", "complaint_id", "id"),)


class ComplaintRating(Base):
    """The customer's rating of one resolution of a complaint, kept for the reports.

    A complaint reopened and resolved again is rated again: one row per resolution
    (``resolution`` is 1 for the first, 2 for the second …), never erased by a reopening.
    A second press for the same resolution changes its row (every press is also a
    ``rating`` event). The complaint's own ``rating`` columns repeat the latest row.
    """

    __tablename__ = "complaint_rating"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"))
    resolution: Mapped[int] = mapped_column(Integer)
    resolved_at: Mapped[datetime | None]  # when the rated resolution was made
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(CleanText)
    rated_at: Mapped[datetime]

    __table_args__ = (
        Index(
            "ix_complaint_rating_complaint_resolution", "complaint_id", "resolution", unique=True
        ),
        Index("ix_complaint_rating_rated_at", "rated_at"),
    )


class ComplaintAttachment(Base):
    """A photo or document the customer attached, kept by Telegram file id."""

    __tablename__ = "complaint_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "photo" or "document"
    file_id: Mapped[str] = mapped_column(CleanString(256))
    file_name: Mapped[str | None] = mapped_column(CleanString(256))
    caption: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime]


class ComplaintMessage(Base):
    """A Telegram message that belongs to a complaint, so that a reply to it finds it.

    ``purpose``: "alert" (the staff group's card), "relay" (a customer's message or
    attachment shown to staff), "mention" (an alert about the complaint, which may quote
    or name the customer: upset customer, SLA, low rating, rating comment; a reply to it
    reaches nobody), "reply_prompt" / "resolve_prompt" (asking staff for a reply or a
    resolution note), "customer" (a message to the customer about this complaint).
    /forget (``care.privacy``) edits the first three kinds and deletes the last.
    """

    __tablename__ = "complaint_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    # A message in the customer's chat with this Business account (None: any other
    # chat): that chat has the customer's id too and numbers its messages apart.
    business_connection_id: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]

    # One row per message; a message is (chat, id) outside Business chats and (chat,
    # id, connection) in them. Two partial indexes: a NULL is never equal in a unique
    # index, on SQLite or PostgreSQL.
    __table_args__ = (
        Index(
            "ix_complaint_message_chat_message", "chat_id", "message_id", unique=True,
            sqlite_where=sql_text("business_connection_id IS NULL"),
            postgresql_where=sql_text("business_connection_id IS NULL"),
        ),
        Index(
            "ix_complaint_message_business_chat_message",
            "chat_id", "message_id", "business_connection_id", unique=True,
            sqlite_where=sql_text("business_connection_id IS NOT NULL"),
            postgresql_where=sql_text("business_connection_id IS NOT NULL"),
        ),
    )  # fmt: skip


class CustomerMention(Base):
    """A message in the staff chat or a staff member's private chat that is about a
    customer and belongs to no complaint or conversation record: a staff member's answer
    or note to them (their reply to the card, ``/reply …``), a command that names them
    (``/customer 王``), the bot's answer to it, an alert about them. /forget
    (``care.privacy``) deletes it; ``by_staff``: a staff member wrote it, so the bot can
    delete it (with the right to) but never edit it.
    """

    __tablename__ = "customer_mention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int] = mapped_column(BigInteger)
    by_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]

    __table_args__ = (
        Index(
            "ix_customer_mention_customer_chat_message",
            "customer_id",
            "chat_id",
            "message_id",
            unique=True,
        ),
        Index("ix_customer_mention_chat_message", "chat_id", "message_id"),
    )


class CustomerTag(Base):
    """A label on a customer (e.g. "vip", "wholesale"), for campaign audiences."""

    __tablename__ = "customer_tag"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(CleanString(32), primary_key=True)

    __table_args__ = (Index("ix_customer_tag_tag", "tag"),)


class Purchase(Base):
    """A purchase, recorded through the CLI or an import, for follow-up care."""

    __tablename__ = "purchase"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    purchased_at: Mapped[datetime]
    product: Mapped[str | None] = mapped_column(CleanString(128))
    reference: Mapped[str | None] = mapped_column(CleanString(64))
    # What it was worth, in the company's currency; None: not recorded (the value ×
    # relationship quadrant then counts purchases, care.segments).
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_purchase_purchased_at", "purchased_at"),
        Index("ix_purchase_customer_purchased", "customer_id", "purchased_at"),
    )


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"  # being prepared; nothing planned yet
    APPROVED = "approved"  # planned into the outbox; sends as rows fall due
    CANCELLED = "cancelled"
    DONE = "done"  # every row is final


class Campaign(Base):
    """A care campaign: an occasion's greeting or a free text, to an audience.

    ``audience`` is a JSON object, e.g. ``{"kind": "all"}``, ``{"kind": "tag", "tag":
    "vip"}``, ``{"kind": "customer_type", "value": "regular"}``, ``{"kind":
    "lifecycle", "value": "dormant"}``, ``{"kind": "quiet", "days": 90}``.
    ``texts`` holds free texts per locale (``{"zh_CN": "...", "en": "..."}``) when there
    is no occasion template.

    A draft may be edited (``care.campaigns.edit_campaign``); ``edited_by`` and
    ``edited_at`` tell who changed it last. ``drafted_for`` marks a campaign the planner
    drafted (``"<occasion code>:<YYYY-MM-DD>"``), so that moving its day or changing its
    occasion does not make the planner draft the occasion again.
    """

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(CleanString(128))
    occasion: Mapped[str | None] = mapped_column(String(48))  # occasion code, e.g. "mid_autumn"
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    send_on: Mapped[date]  # the local calendar day of sending
    send_at_local: Mapped[str] = mapped_column(String(5), default="09:00")
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.DRAFT.value)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    created_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    planned_count: Mapped[int] = mapped_column(Integer, default=0)
    preview_message_id: Mapped[int | None] = mapped_column(BigInteger)
    edited_by: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    edited_at: Mapped[datetime | None]
    drafted_for: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_campaign_occasion_send_on", "occasion", "send_on"),)


class OutboxState(enum.StrEnum):
    PENDING = "pending"  # waiting for its due time
    SENDING = "sending"  # claimed by a sender; committed before the request goes out
    SENT = "sent"
    FAILED = "failed"  # gave up (400 chat not found, retries exhausted)
    BLOCKED = "blocked"  # 403: the customer blocked the bot
    SKIPPED = "skipped"  # at send time: opted out, forgotten, unreachable, no longer applies
    UNCONFIRMED = "unconfirmed"  # in flight when the process died: maybe sent, never resent
    CANCELLED = "cancelled"


class Outbox(Base):
    """One scheduled message to one customer. The database, not the scheduler's memory,
    is the source of truth: a restart loses nothing and resends nothing.

    ``dedupe_key`` makes planning idempotent: ``campaign:<id>``, ``birthday:<year>`` (a
    lunar birthday's second day in a solar year ``birthday:<year>:2``),
    ``followup:<rule>:<anchor id>`` … unique per customer. The sender reads from it which
    complaint, and which of its resolutions, an after-resolution follow-up is for
    (``followup:resolution:<id>`` for the first, ``followup:resolution:<id>:<n>`` for the
    n-th).
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    rule: Mapped[str | None] = mapped_column(String(48))  # follow-up rule or personal occasion
    template: Mapped[str | None] = mapped_column(String(64))  # template key when not a campaign
    dedupe_key: Mapped[str] = mapped_column(String(96))
    # A follow-up's event: when the complaint was resolved, the purchase made, the record
    # made, the quiet spell begun (the customer's last message). None for other rows.
    event_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(CleanText)

    __table_args__ = (
        Index("ix_outbox_customer_dedupe", "customer_id", "dedupe_key", unique=True),
        Index("ix_outbox_state_due", "state", "due_at"),
        Index("ix_outbox_campaign_state", "campaign_id", "state"),
    )


class OwedState(enum.StrEnum):
    PENDING = "pending"  # waiting for its due time (the first try, or the next after a failure)
    SENDING = "sending"  # claimed by a sender; committed before the request goes out
    SENT = "sent"
    FAILED = "failed"  # given up: the chat refuses (403, chat not found) or retries ran out
    DROPPED = (
        "dropped"  # no longer owed: a card edit overtaken by a newer one, a forgotten customer
    )


class OwedMessage(Base):
    """A message carebot owes someone because something happened: a complaint's card and
    its edits, a notice to the customer, a customer's message relayed to staff, a staff
    reply, an alert. Written in the transaction of the change that causes it, delivered
    by ``bot.owed_jobs`` with retries, so a Telegram failure or a crash delays it but
    never loses it (``care.owed``).

    ``kind`` says what to do: ``text``, or a file by its id (``photo``, ``document``,
    ``voice``, ``audio``, ``video``, ``animation``, ``video_note``, ``sticker``), ``copy``
    (copyMessage from ``source_chat_id``/``source_message_id``), ``card`` (post the
    complaint's card, rendered when sent), ``card_edit`` (edit it to the current truth),
    ``erase`` (after /forget: delete the customer's topics and copies in ``chat_id``).
    ``purpose`` says why (``care.owed.Purpose``), ``remember_as`` the
    ``complaint_message`` purpose its message id is filed under once sent, so that a
    reply to it finds the complaint.
    """

    __tablename__ = "owed_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(24))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # Where to send it instead when ``chat_id`` refuses it (an assignee's private chat →
    # the staff group).
    fallback_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"))
    # The conversation it belongs to (``care.conversations``), and whether it goes into
    # the customer's topic of ``chat_id`` (a forum staff chat) rather than its General.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE")
    )
    to_topic: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(CleanText)
    file_id: Mapped[str | None] = mapped_column(CleanString(256))
    # A photo or document's bytes when it is not a Telegram file yet (a report's chart,
    # drawn when the report was owed): sent as an upload.
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Inline buttons: [[[label, callback data], …], …] (rows of buttons).
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)
    reply_to_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Reply to the complaint's card, whatever its message id is when this is sent.
    reply_to_card: Mapped[bool] = mapped_column(Boolean, default=False)
    # Reply to the message in this chat that shows ``source_message_id`` (its relay),
    # whatever its id is when this is sent: the relay may still be on its way.
    reply_to_source: Mapped[bool] = mapped_column(Boolean, default=False)
    source_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    source_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The Business chat the source message is in (None: the customer's chat with the
    # bot), kept with the staff message that shows it (care.conversations.copy_of).
    source_business_connection_id: Mapped[str | None] = mapped_column(String(64))
    remember_as: Mapped[str | None] = mapped_column(String(16))
    # A staff member's message this answers or stands for: told there when it fails.
    staff_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # A message to a customer who writes to the company's Business account goes through
    # this connection (Telegram's business_connection_id), not the bot's own chat.
    business_connection_id: Mapped[str | None] = mapped_column(String(64))
    # A staff reply: who wrote it and what goes on the complaint's record once delivered.
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_member.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(CleanText)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=OwedState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(CleanText)

    __table_args__ = (
        Index("ix_owed_message_state_due", "state", "due_at"),
        Index("ix_owed_message_chat_state", "chat_id", "state", "id"),
        Index("ix_owed_message_complaint", "complaint_id", "id"),
    )


class BusinessConnection(Base):
    """A Telegram Business account that connected the bot, with the rights it gave
    (``business_connection`` updates; ``care.business``)."""

    __tablename__ = "business_connection"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # Telegram's
    owner_user_id: Mapped[int] = mapped_column(BigInteger)
    owner_chat_id: Mapped[int] = mapped_column(BigInteger)
    owner_name: Mapped[str | None] = mapped_column(CleanString(128))
    can_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    # Every BusinessBotRights field Telegram gave, as it gave them.
    rights: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    connected_at: Mapped[datetime]
    changed_at: Mapped[datetime]


class CannedAnswer(Base):
    """A short saved answer staff send with ``/c <name>``, one text per language."""

    __tablename__ = "canned_answer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(CleanText)
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_member.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_canned_answer_name_language", "name", "language", unique=True),)


# The conversations', the durable inbox's and the segment history's tables live in
# modules of their own;
# loading them here puts them on the same metadata wherever the models are loaded
# (Alembic, the tests' create_all).
from care import conversation_models, inbox_models, segment_history  # noqa: E402,F401
