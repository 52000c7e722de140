"""One use case for ``/campaign new|edit`` and ``carebot campaign new|edit``: a request as
typed (an occasion or a text, an audience, a day, a time) becomes a validated campaign.

:func:`resolve` does the steps both front ends need, the same way for both: it finds
the occasion by its code or name, gives an occasion campaign the occasion's day when
none is asked for, names the campaign (the occasion and year, or the text's first
line), and puts the asked time into the send window. :func:`create_requested` and
:func:`edit_requested` then make or change the campaign (``care.campaigns``, which
checks the audience, texts, day and time). The CLI resolves before it opens the
database, so that a typing mistake is a usage error; Telegram resolves in its
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from care.campaigns import create_campaign, edit_campaign, find_occasion, occasion_campaign_name
from care.engine import EngineConfig, SendWindow
from care.models import Campaign, StaffMember
from care.problems import CampaignError, CampaignProblem

# A text campaign is called by its text's first line, this long at most.
TEXT_NAME_LENGTH = 40


@dataclass(frozen=True)
class CampaignRequest:
    """What someone asks for, as typed; None: not asked (for an edit: left as it is).

    ``occasion`` is its code or its name in one of our languages (``mid_autumn``,
    ``中秋节``); ``texts`` a text of our own per locale instead.
    """

    occasion: str | None = None
    texts: Mapping[str, str] | None = None
    audience: Mapping[str, Any] | None = None
    day: date | None = None
    at: time | None = None
    name: str | None = None


@dataclass(frozen=True)
class ResolvedRequest:
    """A request with its occasion found, its day defaulted and its name made."""

    occasion: str | None  # the occasion's code
    texts: Mapping[str, str] | None
    audience: Mapping[str, Any] | None
    day: date | None
    at: time | None
    name: str | None

    def window(self, default: SendWindow) -> SendWindow:
        """The send window with the asked time (the default one's when none was asked)."""
        return default if self.at is None else replace(default, send_at=self.at)


def text_name(text: str) -> str:
    """What a campaign with this text is called: its first line, shortened."""
    lines = text.strip().splitlines()
    return lines[0][:TEXT_NAME_LENGTH] if lines else ""


def resolve(
    request: CampaignRequest, *, today: date, countries: tuple[str, ...], new: bool
) -> ResolvedRequest:
    """Find the occasion, default the day, make the name.

    Args:
        today: the company's today: an occasion without a day is its next one from then.
        new: a new campaign (it needs a message, and a text campaign needs a day); an
            edit changes only what is asked.

    Raises:
        CampaignError: BOTH_MESSAGES (an occasion and a text), NO_MESSAGE (a new
            campaign with neither), UNKNOWN_OCCASION (facts ``occasion``, and ``year``
            when a day was given), NO_DAY (a new text campaign without a day).
    """
    texts = _given(request.texts)
    if request.occasion is not None and texts is not None:
        raise CampaignError(CampaignProblem.BOTH_MESSAGES)
    if new and request.occasion is None and texts is None:
        raise CampaignError(CampaignProblem.NO_MESSAGE)
    day, code, name = request.day, None, request.name
    if request.occasion is not None:
        found = find_occasion(request.occasion, day, today, countries)
        if found is None:
            facts = {"occasion": request.occasion}
            if day is not None:
                facts["year"] = str(day.year)
            raise CampaignError(CampaignProblem.UNKNOWN_OCCASION, facts)
        code, day = found.code, day or found.on
        name = name or occasion_campaign_name(found, day)
    elif texts is not None:
        if new and day is None:
            raise CampaignError(CampaignProblem.NO_DAY)
        name = name or text_name(next(iter(texts.values())))
    return ResolvedRequest(code, texts, request.audience, day, request.at, name)


def _given(texts: Mapping[str, str] | None) -> dict[str, str] | None:
    """The texts that say something, or None."""
    given = {locale: text for locale, text in (texts or {}).items() if text and text.strip()}
    return given or None


async def create_requested(
    session: AsyncSession,
    request: CampaignRequest | ResolvedRequest,
    config: EngineConfig,
    now: datetime,
    *,
    timezone: str,
    created_by: StaffMember | None = None,
) -> Campaign:
    """Make the draft a request asks for (see :func:`resolve` and
    ``care.campaigns.create_campaign``).

    Raises:
        CampaignError: what :func:`resolve` or ``create_campaign`` refuses.
    """
    resolved = _resolved(request, now, config, timezone, new=True)
    assert resolved.day is not None  # resolve refuses a new campaign without one
    return await create_campaign(
        session,
        resolved.name or "",
        resolved.occasion,
        resolved.texts,
        resolved.audience or {"kind": "all"},
        resolved.day,
        resolved.window(config.window),
        now,
        created_by=created_by,
        timezone=timezone,
    )


async def edit_requested(
    session: AsyncSession,
    campaign: Campaign,
    request: CampaignRequest | ResolvedRequest,
    config: EngineConfig,
    now: datetime,
    *,
    timezone: str,
    edited_by: StaffMember | None = None,
) -> Campaign:
    """Change a draft as a request asks (see :func:`resolve` and
    ``care.campaigns.edit_campaign``).

    Raises:
        CampaignError: what :func:`resolve` or ``edit_campaign`` refuses.
    """
    resolved = _resolved(request, now, config, timezone, new=False)
    return await edit_campaign(
        session,
        campaign,
        now,
        edited_by=edited_by,
        audience=resolved.audience,
        send_on=resolved.day,
        send_at=resolved.at,
        occasion=resolved.occasion,
        texts=resolved.texts,
        name=resolved.name,
        timezone=timezone,
    )


def _resolved(
    request: CampaignRequest | ResolvedRequest,
    now: datetime,
    config: EngineConfig,
    timezone: str,
    *,
    new: bool,
) -> ResolvedRequest:
    if isinstance(request, ResolvedRequest):
        return request
    today = now.astimezone(ZoneInfo(timezone)).date()
    return resolve(request, today=today, countries=tuple(config.holiday_countries), new=new)
