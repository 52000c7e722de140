"""What every handler and job can reach: services and the customer behind the update."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot

from care.clock import Clock
from care.contacts import ContactEntry
from care.customers import DEFAULT_PHONE_REGION, TelegramIdentity
from care.engine import EngineConfig
from care.faq import FaqShelf
from care.models import Channel, Customer
from care.reports import ReportSettings
from care.reports.weekly import WeeklyReport
from care.sla import SlaPolicy
from care.templates import TemplateBook
from care.triage import Triage
from handlers.staff_directory import StaffDirectory

SERVICES_KEY = "carebot.services"


class ContactRecorder(Protocol):
    """Where the contact log is written (``bot.contact_log.ContactLog``)."""

    async def record(self, entry: ContactEntry) -> None:
        """Log one message; returns once it is committed."""


@dataclass(frozen=True)
class CustomerView:
    """The customer behind an update, as the database last held them (read-only).

    ``handlers.common.identify_customer`` puts one on the context; the customer cache
    (``bot.customer_cache``, seen here as :class:`KnownCustomers`) keeps them between
    updates.
    """

    id: int
    chat_id: int | None
    first_name: str | None
    last_name: str | None
    username: str | None
    reachable: bool
    language: str | None  # the one the record holds; None: never chosen
    onboarded: bool
    consent_care: bool
    open_complaints: bool | None = None  # whether any complaint is open; None: not known
    telegram_locale: str | None = None  # what this update's Telegram app speaks, if known
    channel: Channel = Channel.BOT  # where they last wrote from
    business_connection_id: str | None = None

    @classmethod
    def of(cls, customer: Customer) -> CustomerView:
        return cls(
            id=customer.id,
            chat_id=customer.chat_id,
            first_name=customer.first_name,
            last_name=customer.last_name,
            username=customer.username,
            reachable=customer.reachable,
            language=customer.language,
            onboarded=customer.onboarded_at is not None,
            consent_care=customer.consent_care,
            channel=Channel(customer.channel),
            business_connection_id=customer.business_connection_id,
        )

    @property
    def language_chosen(self) -> bool:
        return self.language is not None

    @property
    def locale(self) -> str:
        """The locale to speak to them in: their language, else their Telegram app's."""
        locale = self.language or self.telegram_locale
        assert locale is not None, "identify_customer sets telegram_locale"
        return locale

    def is_current_for(self, who: TelegramIdentity) -> bool:
        """Whether ``care.customers.get_or_create_customer`` would change nothing for
        ``who``: the same chat and names (an empty first name keeps the old one), and
        reachable, writing from the same channel."""
        return (
            self.reachable
            and self.channel is who.channel
            and (
                who.business_connection_id is None
                or self.business_connection_id == who.business_connection_id
            )
            and self.chat_id == who.chat_id
            and self.first_name == (who.first_name or self.first_name)
            and self.last_name == who.last_name
            and self.username == who.username
        )


class KnownCustomers(Protocol):
    """The customer cache as handlers use it (``bot.customer_cache.CustomerCache``).

    A reader takes a :meth:`ticket` before it reads the database and hands it back with
    what it read: that is not kept if the customer changed in between.
    """

    def get(self, user_id: int) -> CustomerView | None:
        """The customer with this Telegram user id, if known and not too old."""
        ...

    def ticket(self) -> int:
        """A mark to take before reading a customer from the database."""
        ...

    def put(self, user_id: int, known: CustomerView, ticket: int) -> None:
        """Keep what was read, unless the customer changed since ``ticket`` was taken."""
        ...

    def note_open_complaints(
        self, user_id: int, customer_id: int, open_complaints: bool, ticket: int
    ) -> None:
        """Remember whether the customer has an open complaint, as read after ``ticket``."""
        ...


@dataclass
class Services:
    """Long-lived things the handlers use; built once in ``bot.app.build_application``."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    contact_log: ContactRecorder
    customer_cache: KnownCustomers
    default_locale: str
    timezone: str
    company_name: str
    staff_chat_id: int | None = None
    phone_region: str = DEFAULT_PHONE_REGION  # of phone numbers typed without a country code
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    triage: Triage = field(default_factory=Triage)
    complaint_categories: tuple[str, ...] = ("product", "delivery", "service", "billing", "other")
    survey_close_after: timedelta = timedelta(days=7)
    # Conversations: closed this long after the last staff answer when the customer is
    # quiet; whether the staff chat is a forum (a topic per customer) or a plain group
    # (a card per conversation), as Telegram said at start-up (``bot.app.prepare``).
    conversation_close_after: timedelta = timedelta(hours=24)
    staff_forum: bool = False
    # The care engine's configuration: send window, follow-ups, campaigns, limits.
    care: EngineConfig = field(default_factory=EngineConfig)
    # The greeting templates, loaded once at start-up (CAREBOT_TEMPLATES_FILE or the
    # shipped ones).
    templates: TemplateBook = field(default_factory=TemplateBook.load)
    # Business connection id -> the Telegram user id of the account's owner, as learnt
    # (handlers.business): their own messages in Business chats are not a customer's.
    business_owners: dict[str, int] = field(default_factory=dict)
    # Reports: churn days and business hours; when the weekly report is due (None: never).
    reports: ReportSettings = field(default_factory=ReportSettings)
    weekly_report: WeeklyReport | None = None
    # Who the active staff are, read again at most every 30 s (handlers.staff_directory).
    staff_directory: StaffDirectory = field(default_factory=StaffDirectory)
    # The FAQ's knowledge base as matched (built again when it changes), and how long
    # after an answer a new message means it did not help (for the measures).
    faq: FaqShelf = field(default_factory=FaqShelf)
    faq_quiet_after_answer: timedelta = timedelta(minutes=10)


class CareContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    """The callback context of carebot: typed access to services and the customer."""

    def __init__(
        self,
        application: Application,
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self.customer: CustomerView | None = None

    @property
    def services(self) -> Services:
        services = self.application.bot_data[SERVICES_KEY]
        if TYPE_CHECKING:
            assert isinstance(services, Services)
        return services
