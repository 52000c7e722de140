"""What every handler and job can reach: services and the customer behind the update."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext, ExtBot

from care.clock import Clock
from care.contacts import ContactEntry
from care.engine import EngineConfig
from care.models import Customer
from care.sla import SlaPolicy
from care.triage import Triage

SERVICES_KEY = "carebot.services"


class ContactRecorder(Protocol):
    """Where the contact log is written (``bot.contact_log.ContactLog``)."""

    async def record(self, entry: ContactEntry) -> None:
        """Log one message; returns once it is committed."""


@dataclass
class Services:
    """Long-lived things the handlers use; built once in ``bot.app.build_application``."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    contact_log: ContactRecorder
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
