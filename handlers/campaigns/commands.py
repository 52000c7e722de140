"""``/campaign new|edit|preview|approve|cancel|status`` and ``/campaigns`` (admins only).

``/campaign new`` and ``/campaign edit`` read their options with one reader
(:func:`read_options`): an audience, a day and a time in any order, an occasion, or
``text`` and a message (everything from the first word that is none of them, line
breaks kept). What they ask goes to ``care.campaign_requests``, the use case the CLI
calls too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import BaseHandler

from care import audiences, campaigns, messages
from care.campaign_requests import CampaignRequest, create_requested, edit_requested
from care.campaigns import CampaignError
from care.models import Campaign, StaffMember, StaffRole
from handlers.buttons import CampaignAction
from handlers.campaigns import buttons
from handlers.campaigns.card import card, card_refreshed, remembered_as_card
from handlers.campaigns.words import (
    approved_words,
    cancelled_words,
    edit_help,
    edited_words,
    list_line,
    problem_words,
    progress_text,
    usage,
)
from handlers.context import Services
from handlers.i18n import N_
from handlers.i18n import gettext as _
from handlers.staff_access import (
    Answer,
    ErrorWords,
    Reply,
    StaffRequest,
    staff_button,
    staff_command,
    staff_places,
)

log = logging.getLogger(__name__)

# Row ids: at most 9 digits, to fit PostgreSQL's INTEGER (see handlers.buttons.ROW_ID).
CAMPAIGN_ID = re.compile(r"^#?(\d{1,9})$")
CUSTOMER_ID = re.compile(r"^\d{1,9}$")
DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
WORD = re.compile(r"\S+")
LISTED = 20


# --- reading options --------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """What ``/campaign new …`` or ``/campaign edit <id> …`` asks for; None: not asked."""

    occasion: str | None  # the occasion as typed (code or name)
    text: str | None
    audience: dict[str, Any] | None
    day: date | None
    at: time | None

    def request(self, locale: str) -> CampaignRequest:
        """The request for ``care.campaign_requests``; the text is in ``locale``."""
        texts = {locale: self.text} if self.text is not None else None
        return CampaignRequest(self.occasion, texts, self.audience, self.day, self.at)


def read_options(
    words: Iterator[re.Match[str]], arguments: str, *, is_text: bool, named: bool, help: str
) -> tuple[Asked, bool]:
    """Read an audience, a day and a time (any order), then the message after ``text``.

    Args:
        is_text: the message starts at the first word that is no option.
        named: ``text`` and an occasion may come among the options (an edit).
        help: what to say after a word not understood.

    Returns:
        What was asked, and whether ``text`` was asked for.

    Raises:
        Answer: a word not understood, a day or time that does not exist, a bad audience.
    """
    audience_parts: list[str] = []  # several must all hold: segment:star tag:vip
    day: date | None = None
    at: time | None = None
    occasion: str | None = None
    text: str | None = None
    for word in words:
        token = word.group()
        if day is None and DATE.match(token):
            day = _day(token)
        elif at is None and TIME.match(token):
            at = _time(token)
        elif _looks_like_audience(token):
            audience_parts.append(token)
        elif is_text:
            text = arguments[word.start() :].strip()
            break
        elif named and token.lower() == "text":
            is_text = True
        elif named and occasion is None:
            occasion = token
        else:
            raise Answer(_("I do not understand “{word}”.").format(word=token) + "\n\n" + help)
    audience = audiences.parse_audience(" ".join(audience_parts)) if audience_parts else None
    return Asked(occasion, text, audience, day, at), is_text


def parse_new(arguments: str) -> Asked:
    """Read ``<occasion|text> [audience] [YYYY-MM-DD] [HH:MM] [message]``.

    Raises:
        Answer: with the usage, or what is wrong.
    """
    words = WORD.finditer(arguments)
    head = next(words, None)
    if head is None:
        raise Answer(usage())
    is_text = head.group().lower() == "text"
    asked, _is_text = read_options(words, arguments, is_text=is_text, named=False, help=usage())
    if is_text and not asked.text:
        raise Answer(_("What should it say? /campaign new text 2026-12-01 Hello everyone!"))
    if is_text and asked.day is None:
        raise Answer(
            _("On which day? A message of your own needs one: /campaign new text 2026-12-01 …")
        )
    return Asked(
        None if is_text else head.group(),
        asked.text,
        asked.audience or {"kind": "all"},
        asked.day,
        asked.at,
    )


def parse_edit(arguments: str, campaign_id: int) -> Asked:
    """Read ``[audience] [YYYY-MM-DD] [HH:MM] [<occasion> | text <message>]``.

    Raises:
        Answer: how to edit, when nothing is asked; or what is wrong.
    """
    asked, is_text = read_options(
        WORD.finditer(arguments), arguments, is_text=False, named=True, help=edit_help(campaign_id)
    )
    if is_text and not asked.text:
        raise Answer(
            _("What should it say? /campaign edit {id} text Hello everyone!").format(id=campaign_id)
        )
    if asked == Asked(None, None, None, None, None):
        raise Answer(edit_help(campaign_id))
    return asked


def _looks_like_audience(token: str) -> bool:
    word, colon, _value = token.partition(":")
    return token.lower() == "all" or bool(colon and word.lower() in audiences.AUDIENCE_WORDS)


def _day(token: str) -> date:
    match = DATE.match(token)
    assert match is not None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise Answer(_("There is no day {day}.").format(day=token)) from None


def _time(token: str) -> time:
    match = TIME.match(token)
    assert match is not None
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours > 23 or minutes > 59:
        raise Answer(_("There is no time {time}; write it like 09:00.").format(time=token))
    return time(hours, minutes)


# --- commands ---------------------------------------------------------------------------


async def new_campaign(
    session: AsyncSession, member: StaffMember, arguments: str, services: Services, locale: str
) -> Reply:
    """/campaign new …: make a draft and show its card."""
    asked = parse_new(arguments)
    campaign = await create_requested(
        session, asked.request(locale), services.care, services.clock.now(),
        timezone=services.timezone, created_by=member,
    )  # fmt: skip
    text, keyboard = await card(session, campaign, services, locale)
    return Reply(text, keyboard, after=remembered_as_card(campaign.id))


async def edit_campaign(
    session: AsyncSession, member: StaffMember, arguments: str, services: Services, locale: str
) -> Reply:
    """/campaign edit <id> …: change a draft, say how the command was read, and have its
    card in the staff group brought up to date."""
    campaign, rest = await target(session, arguments)
    campaigns.check_editable(campaign)
    asked = parse_edit(rest, campaign.id)
    await edit_requested(
        session, campaign, asked.request(locale), services.care, services.clock.now(),
        timezone=services.timezone, edited_by=member,
    )  # fmt: skip
    size = await audiences.audience_size(session, campaign.audience, services.clock.now())
    return Reply(
        edited_words(
            campaign, size, services, locale,
            audience=asked.audience is not None, day=asked.day is not None,
            at=asked.at is not None, occasion=asked.occasion is not None, text=asked.text,
        ),
        after=card_refreshed(campaign.id),
    )  # fmt: skip


async def target(session: AsyncSession, arguments: str) -> tuple[Campaign, str]:
    """The campaign named by the first word (``3`` or ``#3``), and the rest."""
    first, *rest = arguments.split(maxsplit=1) or [""]
    match = CAMPAIGN_ID.match(first)
    if match is None:
        raise Answer(usage())
    campaign = await campaigns.find_campaign(session, int(match.group(1)))
    if campaign is None:
        raise Answer(_("There is no campaign #{id}.").format(id=match.group(1)))
    return campaign, rest[0].strip() if rest else ""


async def preview_campaign(
    session: AsyncSession, member: StaffMember, arguments: str, services: Services, locale: str
) -> Reply:
    """/campaign preview <id> [customer id]: the card, or what one customer would get."""
    campaign, rest = await target(session, arguments)
    if not rest:
        shown, keyboard = await card(session, campaign, services, locale)
        return Reply(shown, keyboard)
    if not CUSTOMER_ID.match(rest):
        raise Answer(usage())
    customer_id = int(rest)
    text = await messages.preview(
        session, campaign, customer_id, services.templates.render,
        company=services.company_name, default_locale=services.default_locale,
        countries=services.care.holiday_countries,
    )  # fmt: skip
    if text is None:
        raise Answer(_("There is no customer {id}.").format(id=customer_id))
    lines = [
        _("Campaign #{id} as customer {customer} would get it:").format(
            id=campaign.id, customer=customer_id
        ),
        "",
        text,
    ]
    if not await audiences.in_audience(session, campaign, customer_id, services.clock.now()):
        lines += [
            "",
            _(
                "⚠ Customer {customer} is not in the audience now (not in it, no consent to "
                "care messages, blocked the bot or was forgotten): they would not get it."
            ).format(customer=customer_id),
        ]
    return Reply("\n".join(lines))


async def approve_campaign(
    session: AsyncSession, member: StaffMember, arguments: str, services: Services, locale: str
) -> Reply:
    """/campaign approve <id>: plan it into the outbox."""
    campaign, _rest = await target(session, arguments)
    count = await campaigns.approve(
        session, campaign, member, services.clock.now(), services.timezone
    )
    return Reply(approved_words(campaign, count), after=card_refreshed(campaign.id))


async def cancel_campaign(
    session: AsyncSession, member: StaffMember, arguments: str, services: Services, locale: str
) -> Reply:
    """/campaign cancel <id>: nothing more of it is sent."""
    campaign, _rest = await target(session, arguments)
    count = await campaigns.cancel(session, campaign)
    return Reply(cancelled_words(campaign, count), after=card_refreshed(campaign.id))


async def campaign_status(
    session: AsyncSession, member: StaffMember, arguments: str, services: Services, locale: str
) -> Reply:
    """/campaign status <id>: how many were sent, are pending, failed, blocked …"""
    campaign, _rest = await target(session, arguments)
    progress = await campaigns.status(session, campaign.id)
    assert progress is not None
    return Reply(progress_text(progress, services, locale))


async def list_campaigns(
    session: AsyncSession, member: StaffMember, arguments: str, services: Services, locale: str
) -> Reply:
    """/campaigns: the latest campaigns."""
    found = await campaigns.list_campaigns(session, LISTED)
    if not found:
        return Reply(_("No campaigns yet. /campaign new mid_autumn makes one."))
    lines = [_("The latest campaigns:")]
    lines += [list_line(campaign, services, locale) for campaign in found]
    return Reply("\n".join(lines))


Action = Callable[[AsyncSession, StaffMember, str, Services, str], Awaitable[Reply]]
VERBS: dict[str, Action] = {
    "new": new_campaign,
    "edit": edit_campaign,
    "preview": preview_campaign,
    "approve": approve_campaign,
    "cancel": cancel_campaign,
    "status": campaign_status,
}


async def campaign_command(request: StaffRequest) -> Reply:
    """Run /campaign new|edit|preview|approve|cancel|status, or /campaigns (admins only)."""
    message = request.message
    assert message is not None
    listing = (message.text or "").split(maxsplit=1)[0].split("@")[0].lower() == "/campaigns"
    verb, *rest = (["list"] if listing else request.arguments.split(maxsplit=1)) or [""]
    action = list_campaigns if listing else VERBS.get(verb.lower())
    if action is None:
        raise Answer(usage())
    return await action(
        request.session, request.member, rest[0] if rest else "", request.services,
        request.locale,
    )  # fmt: skip


# --- registration -----------------------------------------------------------------------

ADMINS_ONLY = N_("Only admins can run campaigns.")
CAMPAIGN_PROBLEMS: ErrorWords = {
    CampaignError: lambda error: problem_words(error.problem, error.facts)
}


def campaign_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """/campaign, /campaigns and the campaign card's buttons (admins only)."""
    return [
        staff_command(
            ["campaign", "campaigns"], campaign_command, least=StaffRole.ADMIN,
            refusal=ADMINS_ONLY, where=staff_places(staff_chat_id), errors=CAMPAIGN_PROBLEMS,
        ),
        staff_button(
            CampaignAction, buttons.campaign_button, least=StaffRole.ADMIN,
            refusal=ADMINS_ONLY, errors=CAMPAIGN_PROBLEMS,
        ),
    ]  # fmt: skip
