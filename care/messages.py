"""Message rendering: the words a customer gets, from a campaign or a template.

One place for every care message's text: a campaign's (its own text, or its occasion's
template, or the general greeting), a personal greeting's or a follow-up's (its row's
template), a preview for one customer, and the samples staff are shown. Placeholders:
``{name}``, ``{company}``, ``{occasion}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from care import occasions
from care.locales import LOCALES
from care.models import Campaign, Customer, Outbox

# The template of an occasion that has none of its own (its name is ``{occasion}``).
GENERAL_GREETING = "greeting"


class Render(Protocol):
    """``care.templates.TemplateBook.render``: a template's text in a locale."""

    def __call__(self, key: str, locale: str, values: Mapping[str, str]) -> str: ...


def message_values(
    customer: Customer | None, company: str, occasion_name: str | None
) -> dict[str, str]:
    """The values of a template's placeholders for one customer."""
    name = ""
    if customer is not None:
        name = customer.first_name or customer.display_name or ""
    return {"name": name, "company": company, "occasion": occasion_name or ""}


def occasion_name(code: str | None, on: date, locale: str, countries: Iterable[str]) -> str | None:
    """The occasion's name in a locale ("中秋节", "Mid-Autumn Festival"), if we know it."""
    if code is None:
        return None
    found = occasions.occasion(code, on.year, tuple(countries))
    if found is None:
        return None
    return found.names.get(locale) or found.names.get("en") or code


def campaign_text(
    campaign: Campaign,
    locale: str,
    values: Mapping[str, str],
    render: Render,
    default_locale: str,
) -> str:
    """The campaign's message in a locale: its free text (the default locale's, then
    any, when that locale has none), or its occasion's template with ``values`` (the
    general ``greeting`` template for an occasion without one of its own)."""
    if campaign.texts:
        texts: Mapping[str, str] = campaign.texts
        return texts.get(locale) or texts.get(default_locale) or next(iter(texts.values()))
    assert campaign.occasion is not None
    try:
        return render(campaign.occasion, locale, values)
    except KeyError:
        return render(GENERAL_GREETING, locale, values)


async def preview(
    session: AsyncSession,
    campaign: Campaign,
    customer_id: int,
    render: Render,
    *,
    company: str,
    default_locale: str,
    countries: Iterable[str] = ("CN",),
) -> str | None:
    """Exactly what this customer would receive: in their language, with their name.

    Returns:
        The text, or None when there is no such customer.
    """
    customer = await session.get(Customer, customer_id)
    if customer is None:
        return None
    locale = customer.language or default_locale
    values = message_values(
        customer, company, occasion_name(campaign.occasion, campaign.send_on, locale, countries)
    )
    return campaign_text(campaign, locale, values, render, default_locale)


# The customer a draft's card and previews show a campaign to: a message as a person
# would read it, not a template with "{name}" in it.
SAMPLE_NAMES = {"zh_CN": "小明", "en": "Alex"}


def sample_texts(
    campaign: Campaign,
    render: Render,
    *,
    company: str,
    default_locale: str,
    name: Callable[[str], str] | None = None,
    countries: Iterable[str] = ("CN",),
) -> dict[str, str]:
    """The campaign's message in every locale, for staff, as a sample customer gets it:
    named ``name(locale)``, by default ``SAMPLE_NAMES[locale]``."""
    if name is None:
        name = sample_name
    texts = {}
    for locale in LOCALES:
        values = message_values(
            None, company, occasion_name(campaign.occasion, campaign.send_on, locale, countries)
        )
        values["name"] = name(locale)
        texts[locale] = campaign_text(campaign, locale, values, render, default_locale)
    return texts


def sample_name(locale: str) -> str:
    """The sample customer's name in a locale (``SAMPLE_NAMES``)."""
    return SAMPLE_NAMES.get(locale) or SAMPLE_NAMES["en"]


# An occasion's name is the same for every row of a campaign; working it out means
# computing the year's holidays and lunar festivals.
_cached_occasion_name = lru_cache(maxsize=512)(occasion_name)


class NoText(LookupError):
    """An outbox row that has neither a campaign nor a template: nothing to say."""


def row_text(
    row: Outbox,
    campaign: Campaign | None,
    customer: Customer,
    locale: str,
    render: Render,
    *,
    company: str,
    default_locale: str,
    countries: tuple[str, ...],
) -> str:
    """What an outbox row says to its customer in ``locale``: the campaign's text
    (``campaign_text``) or the row's ``template``.

    Raises:
        NoText: The row has no campaign and no template.
    """
    if campaign is not None:
        name = _cached_occasion_name(campaign.occasion, campaign.send_on, locale, countries)
        values = message_values(customer, company, name)
        return campaign_text(campaign, locale, values, render, default_locale)
    if row.template is not None:
        name = _cached_occasion_name(row.template, row.due_at.date(), locale, countries)
        return render(row.template, locale, message_values(customer, company, name))
    raise NoText(f"outbox row {row.id} has neither a campaign nor a template")
