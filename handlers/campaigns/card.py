"""A campaign's card in the staff group: what it says in each language, to whom, when,
where it stands, and its buttons (Approve, Edit, Cancel); posted, remembered and kept
up to date after each change commits."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, TelegramError

from care import audiences, campaigns, messages
from care.models import Campaign, CampaignStatus
from handlers.buttons import CampaignAction, key
from handlers.campaigns.words import LOCALE_LABELS, audience_words, status_words, title
from handlers.context import CareContext, Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.staff_access import After

log = logging.getLogger(__name__)


def card_text(
    campaign: Campaign,
    size: int,
    samples: Mapping[str, str],
    services: Services,
    locale: str,
    who: Sequence[tuple[int, str]] = (),
) -> str:
    """A campaign's card: what, to whom, when, where it stands, and its words."""
    heading = (
        _("📣 Campaign #{id}: {title} (drafted automatically)")
        if campaign.automatic
        else _("📣 Campaign #{id}: {title}")
    )
    lines = [
        heading.format(id=campaign.id, title=title(campaign, services, locale)),
        _("Status: {status}").format(status=status_words(campaign)),
        _(
            "When: {day} at {time} in each customer's time zone "
            "(never between {quiet_start} and {quiet_end})"
        ).format(
            day=campaign.send_on.isoformat(),
            time=campaign.send_at_local,
            quiet_start=campaign.quiet_start,
            quiet_end=campaign.quiet_end,
        ),
        _("Audience: {audience} ({audience_text}), {count} now").format(
            audience=audience_words(campaign.audience),
            audience_text=audiences.audience_text(campaign.audience),
            count=size,
        ),
    ]
    if who:
        names = ", ".join(
            _("{name} (id {id})").format(name=name or _("(no name)"), id=customer_id)
            for customer_id, name in who
        )
        more = size - len(who)
        lines.append(
            _("Among them: {names}").format(names=names)
            + (_(" and {count} more").format(count=more) if more > 0 else "")
        )
    if campaign.occasion is None:
        lines.append(_("Message of your own (no template)."))
    for sample_locale, text in samples.items():
        language = LOCALE_LABELS.get(sample_locale, sample_locale)
        lines += [
            "",
            _("{language}, as a customer named {name} gets it:").format(
                language=language, name=messages.sample_name(sample_locale)
            ),
            text,
        ]
    return "\n".join(lines)


def card_keyboard(campaign: Campaign) -> InlineKeyboardMarkup | None:
    """Approve, Edit and Cancel on a draft; Cancel on an approved campaign."""
    buttons = []
    if campaign.status == CampaignStatus.DRAFT.value:
        buttons.append(key(_("✅ Approve"), CampaignAction("approve", campaign.id)))
        buttons.append(key(_("✏️ Edit"), CampaignAction("edit", campaign.id)))
    if campaign.status in (CampaignStatus.DRAFT.value, CampaignStatus.APPROVED.value):
        buttons.append(key(_("✖ Cancel campaign"), CampaignAction("cancel", campaign.id)))
    return InlineKeyboardMarkup([buttons]) if buttons else None


async def card(
    session: AsyncSession, campaign: Campaign, services: Services, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card's text and buttons in ``locale``, with the audience's size now."""
    size = await audiences.audience_size(session, campaign.audience, services.clock.now())
    samples = messages.sample_texts(
        campaign,
        services.templates.render,
        company=services.company_name,
        default_locale=services.default_locale,
        countries=services.care.holiday_countries,
    )
    who = await audiences.audience_sample(session, campaign.audience, services.clock.now())
    text = card_text(campaign, size, samples, services, locale, who)
    return text, card_keyboard(campaign)


def remembered_as_card(campaign_id: int) -> After:
    """After the reply is posted: remember it as the campaign's card, in the staff group."""

    async def after(context: CareContext, sent: Message | None) -> None:
        if sent is not None and sent.chat_id == context.services.staff_chat_id:
            await remember_card(context.services, campaign_id, sent.message_id)

    return after


def card_refreshed(campaign_id: int) -> After:
    """After the commit: bring the campaign's card in the staff group up to date."""

    async def after(context: CareContext, _sent: Message | None) -> None:
        await refresh_card(context.bot, context.services, campaign_id)

    return after


async def remember_card(services: Services, campaign_id: int, message_id: int) -> None:
    async with services.sessionmaker.begin() as session:
        campaign = await campaigns.find_campaign(session, campaign_id)
        if campaign is not None:
            campaign.preview_message_id = message_id


async def refresh_card(bot: Bot, services: Services, campaign_id: int) -> None:
    """Bring the campaign's card in the staff group up to date (status, buttons)."""
    if services.staff_chat_id is None:
        return
    async with services.sessionmaker.begin() as session:
        campaign = await campaigns.find_campaign(session, campaign_id)
        if campaign is None or campaign.preview_message_id is None:
            return
        message_id = campaign.preview_message_id
        with use_locale(services.default_locale):
            text, keyboard = await card(session, campaign, services, services.default_locale)
    try:
        await bot.edit_message_text(
            text, chat_id=services.staff_chat_id, message_id=message_id, reply_markup=keyboard
        )
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            log.warning("campaign %s: its card could not be updated: %s", campaign_id, error)
    except TelegramError:
        log.warning("campaign %s: its card could not be updated", campaign_id, exc_info=True)


async def announce_drafts(bot: Bot, services: Services, today: date) -> None:
    """Post the card of every automatic campaign not shown yet to the staff group."""
    if services.staff_chat_id is None:
        return
    async with services.sessionmaker.begin() as session:
        cards = []
        for campaign in await campaigns.unannounced(session, today):
            with use_locale(services.default_locale):
                text, keyboard = await card(session, campaign, services, services.default_locale)
            cards.append((campaign.id, text, keyboard))
    for campaign_id, text, keyboard in cards:
        try:
            sent = await bot.send_message(services.staff_chat_id, text, reply_markup=keyboard)
        except TelegramError:
            log.warning("campaign %s: its card could not be posted", campaign_id, exc_info=True)
            continue
        await remember_card(services, campaign_id, sent.message_id)
