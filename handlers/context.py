"""What every handler and job can reach: services and the customer behind the update."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot

from care.clock import Clock
from care.contacts import ContactEntry
from care.customers import DEFAULT_PHONE_REGION, CustomerChanges, TelegramIdentity
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
    open_complaints: bool | None = None  # whether any complaint is open; None: not known

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
            open_complaints=self.open_complaints,
        )


class CustomerCache:
    """Known customers by Telegram user id, so that most updates need no database read.

    Kept right by being told, after each commit, what it changed (:meth:`committed`;
    ``bot.db`` does it for every session of the application's sessionmaker): a customer
    that transaction holds is kept as it left them, unless another commit changed them
    while it ran; other changed customers are forgotten. It also knows whether a
    customer has an open complaint, once a handler has looked (:meth:`note_open_complaints`),
    and forgets that whenever their complaints change. Changes made elsewhere (another
    process, such as ``carebot import``) show after ``ttl`` at the latest.

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
        if self._unchanged_since(known.id, ticket):
            self._keep(user_id, known)

    def note_open_complaints(
        self, user_id: int, customer_id: int, open_complaints: bool, ticket: int
    ) -> None:
        """Remember whether the customer has an open complaint, as read after ``ticket``."""
        known = self.get(user_id)
        if known is not None and known.id == customer_id:
            self.put(user_id, replace(known, open_complaints=open_complaints), ticket)

    def committed(self, changes: CustomerChanges) -> None:
        """Take in what a commit changed: keep customers as it left them, or forget them."""
        if changes.customers is None or changes.complaints_of is None:
            self.forget(None)
            return
        # Kept only if no other commit changed them since this transaction began: its
        # objects may hold what it read before that change.
        keep = {
            customer_id: customer
            for customer_id, customer in changes.current.items()
            if customer.telegram_user_id is not None
            and self._unchanged_since(customer_id, changes.begun)
        }
        before = {customer_id: self._entry_of(customer_id) for customer_id in keep}
        self.forget(changes.customers | changes.complaints_of)
        for customer_id, customer in keep.items():
            assert customer.telegram_user_id is not None
            known = KnownCustomer.of(customer)
            earlier = before[customer_id]
            if earlier is not None and customer_id not in changes.complaints_of:
                known = replace(known, open_complaints=earlier.open_complaints)
            self._keep(customer.telegram_user_id, known)

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

    def _unchanged_since(self, customer_id: int, ticket: int) -> bool:
        return ticket >= self._floor and self._changed_at.get(customer_id, -1) <= ticket

    def _entry_of(self, customer_id: int) -> KnownCustomer | None:
        user_id = self._user_of.get(customer_id)
        return None if user_id is None else self.get(user_id)

    def _keep(self, user_id: int, known: KnownCustomer) -> None:
        self._drop(user_id)
        while len(self._entries) >= self._max_size:
            self._drop(next(iter(self._entries)))  # the oldest
        self._entries[user_id] = (known, self._clock.now() + self._ttl)
        self._user_of[known.id] = user_id

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
    phone_region: str = DEFAULT_PHONE_REGION  # of phone numbers typed without a country code
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
    open_complaints: bool | None = None  # whether any complaint is open; None: not known

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
