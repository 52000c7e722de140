"""The customer record: registration, profile changes, consent, reachability.

Erasure (/forget) reaches far beyond this record: ``care.privacy``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.birthdays import Birthday
from care.models import BirthdayCalendar, Channel, Customer


@dataclass(frozen=True)
class TelegramIdentity:
    """What Telegram tells us about a person, as plain values."""

    user_id: int
    chat_id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    # Where they wrote from: the bot's own chat, or the company's Business account
    # through this connection.
    channel: Channel = Channel.BOT
    business_connection_id: str | None = None


async def find_customer(session: AsyncSession, telegram_user_id: int) -> Customer | None:
    """The (not erased) customer with this Telegram user id, if any."""
    return await session.scalar(
        select(Customer).where(Customer.telegram_user_id == telegram_user_id)
    )


async def get_or_create_customer(
    session: AsyncSession, who: TelegramIdentity, now: datetime, language: str | None = None
) -> tuple[Customer, bool]:
    """Find the customer for a Telegram user, creating the record on first contact.

    Names and chat id follow what Telegram says now, and so does the channel they wrote
    from (replies go there); a blocked customer who writes again is reachable again.
    ``language`` is the language a new record starts with (the one their Telegram
    speaks), so that everything we tell someone who never registered still reaches them
    in it; registering lets them choose.

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
    customer.channel = who.channel.value
    if who.business_connection_id is not None:
        customer.business_connection_id = who.business_connection_id
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


DEFAULT_PHONE_REGION = "CN"

# What a typed answer to "your phone number?" may say around the number itself.
_PHONE_LABEL = re.compile(
    r"^(?:(?:my )?(?:(?:tel|phone|mobile|cell)(?: number)?|number)(?: is)?|(?:我的)?(?:电话|手机)"
    r"(?:号码|号)?(?:是)?)[\s:：]*",
    re.IGNORECASE,
)
# Digits (any script: full-width ones too) and what people write between them.
_PHONE_WRITTEN = re.compile(r"^\+?[\d\s\-–—－.()（）/]{5,40}$")


def normalize_phone(phone: str, region: str | None = None) -> str:
    """A phone number as we keep it, E.164 ("+8613800138000"), checked with phonenumbers.

    Args:
        phone: as written: "138 0013 8000", "+86 138-0013-8000", "008613800138000".
        region: the country (ISO 3166, "CN") whose numbers may be written without their
            country code; None: only international numbers ("+…") are read.

    Raises:
        ValueError: not a valid phone number.
    """
    try:
        number = phonenumbers.parse(phone.strip()[:64], region)
    except phonenumbers.NumberParseException as error:
        raise ValueError("not a phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def shared_phone(phone: str) -> str:
    """The number of a contact shared with Telegram's button, in E.164.

    Telegram sends it international without the "+" ("8613800138000").

    Raises:
        ValueError: not a valid phone number.
    """
    phone = phone.strip()
    return normalize_phone(phone if phone.startswith("+") else "+" + phone)


def typed_phone(text: str) -> str | None:
    """The number in a text that reads as an attempt at a phone number, else None.

    "138 0013 8000", "+86 138-0013-8000", "电话：13800138000" and "my number is
    650-253-0000" are attempts (valid or not); "快递三天还没到" or "order 12345 is late"
    are not: such a text is a message, not an answer.
    """
    candidate = _PHONE_LABEL.sub("", text.strip(), count=1).strip()
    if not _PHONE_WRITTEN.fullmatch(candidate):
        return None
    return candidate if sum(ch.isdigit() for ch in candidate) >= 5 else None


def format_phone(phone: str) -> str:
    """A kept (E.164) number as people read it: "+86 138 0013 8000"."""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def example_phone(region: str) -> str:
    """A mobile number of ``region`` as its people write it ("131 2345 6789"), for hints."""
    number = phonenumbers.example_number_for_type(
        region, phonenumbers.PhoneNumberType.MOBILE
    ) or phonenumbers.example_number(region)
    if number is None:
        return "+86 131 2345 6789"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


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


class RegistrationStep(enum.StrEnum):
    """The questions of registration, in the order they are asked."""

    LANGUAGE = "language"  # asked with consent, in one message
    PHONE = "phone"
    BIRTHDAY = "birthday"


def registration_resumes_at(customer: Customer) -> RegistrationStep | None:
    """Where a paused registration goes on: the first question not yet answered.

    Every answer is saved as it is given. Language and consent are answered together
    (the consent question follows the language in the same message); a phone number or
    a birthday skipped before is asked for again. None: registration is complete.
    """
    if customer.onboarded_at is not None:
        return None
    if customer.consent_changed_at is None:
        return RegistrationStep.LANGUAGE
    if customer.phone is None:
        return RegistrationStep.PHONE
    if birthday_of(customer) is None:
        return RegistrationStep.BIRTHDAY
    return None


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
