"""The customer record: registration, profile changes, consent, reachability, erasure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.birthdays import Birthday
from care.models import BirthdayCalendar, Contact, Customer


@dataclass(frozen=True)
class TelegramIdentity:
    """What Telegram tells us about a person, as plain values."""

    user_id: int
    chat_id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class CustomerChanges:
    """What one committed transaction changed of customers and their complaints."""

    customers: set[int] | None
    """Customers whose records changed (None: maybe any)."""
    current: dict[int, Customer]
    """Of those, the ones the session holds, as the transaction left them (not deleted)."""
    complaints_of: set[int] | None
    """Customers whose complaints changed, were added or deleted (None: maybe any)."""
    begun: int
    """What the watcher's ``ticket()`` said when the transaction began."""


async def find_customer(session: AsyncSession, telegram_user_id: int) -> Customer | None:
    """The (not erased) customer with this Telegram user id, if any."""
    return await session.scalar(
        select(Customer).where(Customer.telegram_user_id == telegram_user_id)
    )


async def get_or_create_customer(
    session: AsyncSession, who: TelegramIdentity, now: datetime, language: str | None = None
) -> tuple[Customer, bool]:
    """Find the customer for a Telegram user, creating the record on first contact.

    Names and chat id follow what Telegram says now; a blocked customer who writes
    again is reachable again. ``language`` is the language a new record starts with
    (the one their Telegram speaks), so that everything we tell someone who never
    registered still reaches them in it; registering lets them choose.

    Returns:
        The customer and whether the record was created.
    """
    customer = await find_customer(session, who.user_id)
    created = customer is None
    if customer is None:
        customer = Customer(telegram_user_id=who.user_id, created_at=now, language=language)
        session.add(customer)
    customer.chat_id = who.chat_id
    customer.first_name = who.first_name or customer.first_name
    customer.last_name = who.last_name
    customer.username = who.username
    if not customer.reachable:
        customer.reachable = True
        customer.unreachable_since = None
    await session.flush()
    return customer, created


def set_language(customer: Customer, locale: str) -> None:
    customer.language = locale


def set_consent(customer: Customer, consent: bool, now: datetime) -> bool:
    """Turn care messages on or off. Returns whether anything changed."""
    if customer.consent_care == consent and customer.consent_changed_at is not None:
        return False
    customer.consent_care = consent
    customer.consent_changed_at = now
    return True


_PHONE_JUNK = re.compile(r"[\s\-().]")


def normalize_phone(phone: str) -> str:
    """Telegram sends phone numbers without '+' ("8613800138000"); store them E.164-ish."""
    digits = _PHONE_JUNK.sub("", phone.strip())
    if not digits.startswith("+"):
        digits = "+" + digits
    if not re.fullmatch(r"\+\d{6,15}", digits):
        raise ValueError("not a phone number")
    return digits


def set_phone(customer: Customer, phone: str | None) -> None:
    customer.phone = normalize_phone(phone) if phone else None


def set_birthday(customer: Customer, birthday: Birthday | None) -> None:
    if birthday is None:
        customer.birthday_calendar = None
        customer.birthday_year = customer.birthday_month = customer.birthday_day = None
        customer.birthday_leap_month = False
        return
    customer.birthday_calendar = birthday.calendar.value
    customer.birthday_year = birthday.year
    customer.birthday_month = birthday.month
    customer.birthday_day = birthday.day
    customer.birthday_leap_month = birthday.leap_month


def birthday_of(customer: Customer) -> Birthday | None:
    if not customer.birthday_calendar or not customer.birthday_month or not customer.birthday_day:
        return None
    return Birthday(
        BirthdayCalendar(customer.birthday_calendar),
        customer.birthday_month,
        customer.birthday_day,
        customer.birthday_year,
        customer.birthday_leap_month,
    )


def complete_onboarding(customer: Customer, now: datetime) -> None:
    if customer.onboarded_at is None:
        customer.onboarded_at = now


async def mark_unreachable(session: AsyncSession, chat_id: int, now: datetime) -> bool:
    """Record that the customer behind a private chat blocked the bot.

    Returns:
        Whether a customer was found and changed.
    """
    result = await session.execute(
        update(Customer)
        .where(Customer.chat_id == chat_id, Customer.reachable.is_(True))
        .values(reachable=False, unreachable_since=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def forget_customer(session: AsyncSession, customer: Customer, now: datetime) -> None:
    """Erase a customer's personal data (PIPL/GDPR), keeping an anonymous row for counts.

    The row keeps its id, type, creation and erasure times so that churn and contact
    counts stay right; contacts keep direction, kind and time but lose their text and
    message ids. Nothing links the row to the person any more.
    """
    await session.execute(
        update(Contact)
        .where(Contact.customer_id == customer.id)
        .values(text=None, telegram_message_id=None)
    )
    customer.telegram_user_id = None
    customer.chat_id = None
    customer.first_name = customer.last_name = customer.username = customer.phone = None
    customer.timezone = None
    set_birthday(customer, None)
    customer.consent_care = False
    customer.consent_changed_at = now
    customer.erased_at = now
    await session.flush()
