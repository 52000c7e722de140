"""The buttons of a campaign's card: Approve, Cancel, and Edit (which says how to edit:
an edit is typed). Admins only."""

from __future__ import annotations

import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from care import campaigns
from care import staff as staff_members
from care.campaigns import CampaignError
from care.models import CampaignStatus, StaffMember, StaffRole
from handlers import staff
from handlers.campaigns.card import card, refresh_card
from handlers.campaigns.words import approved_words, cancelled_words, edit_help, problem_words
from handlers.context import CareContext, Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.staff import Answer

log = logging.getLogger(__name__)

# Row ids: at most 9 digits, to fit PostgreSQL's INTEGER (see complaint_words.ROW_ID).
BUTTON = re.compile(r"^cp:(approve|edit|cancel):(\d{1,9})$")


def only_admins(member: StaffMember) -> None:
    """Refuse a staff member who is not an admin (campaigns are for admins).

    Raises:
        Answer: saying so.
    """
    if member.role != StaffRole.ADMIN.value:
        log.warning(
            "refused a campaign action: staff member %s is not an admin", member.telegram_user_id
        )
        raise Answer(_("Only admins can run campaigns."))


async def on_campaign_button(update: Update, context: CareContext) -> None:
    """Approve or cancel a campaign from its card, or say how to edit it (admins only),
    then refresh the card."""
    query = update.callback_query
    assert query is not None
    services = context.services
    data = query.data or ""
    locale = staff.staff_locale(update, services)
    with use_locale(locale):
        try:
            async with services.sessionmaker.begin() as session:
                member = await staff_members.find_staff(session, query.from_user.id)
                if member is None:
                    outcome = None
                else:
                    only_admins(member)
                    outcome = await button_action(session, member, data, services, locale)
        except Answer as answer:
            await query.answer(answer.text, show_alert=True)
            return
        except CampaignError as error:  # nothing was changed: the transaction rolled back
            await query.answer(problem_words(error.problem, error.facts), show_alert=True)
            return
        if outcome is None:
            await staff.refuse(update, context, f"button {data!r}")
            return
        if isinstance(outcome, str):  # how to edit: nothing changed
            await query.answer(outcome, show_alert=True)
            return
        answer_text, card_text_now, keyboard, campaign_id = outcome
        await query.answer(answer_text)
        try:
            await query.edit_message_text(card_text_now, reply_markup=keyboard)
        except BadRequest as error:
            if "not modified" not in str(error).lower():
                raise
    chat = query.message.chat.id if query.message else None
    if chat != services.staff_chat_id:
        await refresh_card(context.bot, services, campaign_id)


async def button_action(
    session: AsyncSession,
    member: StaffMember,
    data: str,
    services: Services,
    locale: str,
) -> tuple[str, str, InlineKeyboardMarkup | None, int] | str:
    """Do what the button asks; the answer, the card's new text and buttons, the id. For
    Edit, only how to edit (an edit is typed)."""
    match = BUTTON.match(data)
    if match is None:
        raise Answer(_("This button is not valid."))
    action, campaign_id = match.group(1), int(match.group(2))
    campaign = await campaigns.find_campaign(session, campaign_id)
    if campaign is None:
        raise Answer(_("There is no campaign #{id}.").format(id=campaign_id))
    if action == "edit":
        campaigns.check_editable(campaign)
        return edit_help(campaign.id)
    if action == "approve":
        if campaign.status == CampaignStatus.APPROVED.value:
            answer = _("Already approved.")
        else:
            answer = approved_words(
                campaign,
                await campaigns.approve(
                    session, campaign, member, services.clock.now(), services.timezone
                ),
            )
    elif campaign.status == CampaignStatus.CANCELLED.value:
        answer = _("Already cancelled.")
    else:
        answer = cancelled_words(campaign, await campaigns.cancel(session, campaign))
    text, keyboard = await card(session, campaign, services, locale)
    return answer, text, keyboard, campaign.id
