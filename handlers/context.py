"""What every handler and job can reach: services and the customer behind the update."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot

from care.clock import Clock
from care.contacts import ContactEntry
from care.customers import TelegramIdentity
from care.engine import EngineConfig
from care.models import Customer
from care.sla import SlaPolicy
from care.triage import Triage

SERVICES_KEY = "carebot.services"


class ContactRecorder(Protocol):
    """Where the contact log is written (``bot.contact_log.ContactLog``)."""

    async def record(self, entry: ContactEntry) -> None:
        """Log one message; returns once it is committed."""


@dataclass(frozen=True)
class KnownCustomer:
    """What ``identify_customer`` needs of a customer, as the database last held it."""

    id: int
    chat_id: int | None
    first_name: str | None
    last_name: str | None
    username: str | None
    reachable: bool
    language: str | None
    onboarded: bool
    consent_care: bool

    @classmethod
    def of(cls, customer: Customer) -> KnownCustomer:
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
        )

    def is_current_for(self, who: TelegramIdentity) -> bool:
        """Whether ``care.customers.get_or_create_customer`` would change nothing for
        ``who``: the same chat and names (an empty first name keeps the old one), and
        reachable."""
        return (
            self.reachable
            and self.chat_id == who.chat_id
            and self.first_name == (who.first_name or self.first_name)
            and self.last_name == who.last_name
            and self.username == who.username
        )

    def view(self, fallback_locale: str) -> CustomerView:
        return CustomerView(
            id=self.id,
            locale=self.language or fallback_locale,
            language_chosen=self.language is not None,
            onboarded=self.onboarded,
            consent_care=self.consent_care,
        )


class CustomerCache:
    """Known customers by Telegram user id, so that most updates need no database read.

    Kept right by being told, after each commit, which customers changed
    (:meth:`forget`; ``bot.db`` does it for every session of the application's
    sessionmaker). Changes made elsewhere (another process, such as ``carebot import``)
    show after ``ttl`` at the latest.

    A reader takes a :meth:`ticket` before it reads the database and hands it to
    :meth:`put`: what it read is not kept if that customer changed in between, since the
    read may have seen the state from before the change.
    """

    def __init__(
        self, clock: Clock, ttl: timedelta = timedelta(seconds=30), max_size: int = 10_000
    ) -> None:
        self._clock = clock
        self._ttl = ttl
        self._max_size = max_size
        self._entries: dict[int, tuple[KnownCustomer, datetime]] = {}
        self._user_of: dict[int, int] = {}  # customer id -> Telegram user id
        self._generation = 0
        self._changed_at: dict[int, int] = {}  # customer id -> generation of its last change
        self._floor = 0  # tickets older than this are refused (after forgetting everyone)

    def get(self, user_id: int) -> KnownCustomer | None:
        """The customer with this Telegram user id, if known and not too old."""
        found = self._entries.get(user_id)
        if found is None:
            return None
        known, expires = found
        if self._clock.now() >= expires:
            self._drop(user_id)
            return None
        return known

    def ticket(self) -> int:
        """A mark to take before reading a customer from the database; see :meth:`put`."""
        return self._generation

    def put(self, user_id: int, known: KnownCustomer, ticket: int) -> None:
        """Keep what was read, unless the customer changed since ``ticket`` was taken."""
        if ticket < self._floor or self._changed_at.get(known.id, -1) > ticket:
            return
        self._drop(user_id)
        while len(self._entries) >= self._max_size:
            self._drop(next(iter(self._entries)))  # the oldest
        self._entries[user_id] = (known, self._clock.now() + self._ttl)
        self._user_of[known.id] = user_id

    def forget(self, customer_ids: Iterable[int] | None) -> None:
        """Drop these customers (None: everyone), whose records just changed."""
        self._generation += 1
        if customer_ids is None:
            self._entries.clear()
            self._user_of.clear()
            self._changed_at.clear()
            self._floor = self._generation
            return
        for customer_id in customer_ids:
            self._changed_at[customer_id] = self._generation
            user_id = self._user_of.get(customer_id)
            if user_id is not None:
                self._drop(user_id)
        if len(self._changed_at) > self._max_size:
            # Forget the oldest changes; in exchange, refuse every read begun before now.
            self._changed_at.clear()
            self._floor = self._generation

    def _drop(self, user_id: int) -> None:
        found = self._entries.pop(user_id, None)
        if found is not None:
            self._user_of.pop(found[0].id, None)


@dataclass
class Services:
    """Long-lived things the handlers use; built once in ``bot.app.build_application``."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    contact_log: ContactRecorder
    customer_cache: CustomerCache
    default_locale: str
    timezone: str
    company_name: str
    staff_chat_id: int | None = None
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    triage: Triage = field(default_factory=Triage)
    complaint_categories: tuple[str, ...] = ("product", "delivery", "service", "billing", "other")
    survey_close_after: timedelta = timedelta(days=7)
    engine: EngineConfig = field(default_factory=EngineConfig)


@dataclass(frozen=True)
class CustomerView:
    """A snapshot of the customer taken when the update arrived (read-only)."""

    id: int
    locale: str
    language_chosen: bool
    onboarded: bool
    consent_care: bool

    @classmethod
    def of(cls, customer: Customer, fallback_locale: str) -> CustomerView:
        return cls(
            id=customer.id,
            locale=customer.language or fallback_locale,
            language_chosen=customer.language is not None,
            onboarded=customer.onboarded_at is not None,
            consent_care=customer.consent_care,
        )


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
