"""The buttons of a campaign's card: Approve, Cancel, and Edit (which says how to edit:
an edit is typed). Admins only (declared in ``handlers.campaigns.commands``)."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from care import campaigns
from care.models import CampaignStatus
from handlers.buttons import CampaignAction
from handlers.campaigns.card import card, refresh_card
from handlers.campaigns.words import approved_words, cancelled_words, edit_help
from handlers.context import CareContext
from handlers.i18n import gettext as _
from handlers.staff_access import After, Answer, Reply, StaffRequest

log = logging.getLogger(__name__)


async def campaign_button(request: StaffRequest) -> Reply:
    """Approve or cancel a campaign from its card, or say how to edit it; the card is
    brought up to date after the commit. For Edit, only how to edit (an edit is typed)."""
    pressed = CampaignAction.parse(request.arguments)
    if pressed is None:
        raise Answer(_("This button is not valid."))
    session, services = request.session, request.services
    campaign = await campaigns.find_campaign(session, pressed.campaign_id)
    if campaign is None:
        raise Answer(_("There is no campaign #{id}.").format(id=pressed.campaign_id))
    if pressed.action == "edit":
        campaigns.check_editable(campaign)
        return Reply(edit_help(campaign.id), alert=True)
    if pressed.action == "approve":
        if campaign.status == CampaignStatus.APPROVED.value:
            answer = _("Already approved.")
        else:
            count = await campaigns.approve(
                session, campaign, request.member, services.clock.now(), services.timezone
            )
            answer = approved_words(campaign, count)
    elif campaign.status == CampaignStatus.CANCELLED.value:
        answer = _("Already cancelled.")
    else:
        answer = cancelled_words(campaign, await campaigns.cancel(session, campaign))
    text, keyboard = await card(session, campaign, services, request.locale)
    return Reply(answer, after=_show_card(request.message, text, keyboard, campaign.id))


def _show_card(
    pressed_on: Message | None, text: str, keyboard: InlineKeyboardMarkup | None, campaign_id: int
) -> After:
    """Edit the card that was pressed; and the staff group's, if it was pressed elsewhere."""

    async def after(context: CareContext, _sent: Message | None) -> None:
        if pressed_on is not None:
            try:
                await pressed_on.edit_text(text, reply_markup=keyboard)
            except BadRequest as error:
                if "not modified" not in str(error).lower():
                    raise
        if pressed_on is None or pressed_on.chat_id != context.services.staff_chat_id:
            await refresh_card(context.bot, context.services, campaign_id)

    return after
