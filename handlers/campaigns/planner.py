"""The planner job's work (``bot.jobs`` runs it): greetings and follow-ups planned,
finished campaigns marked done, campaigns drafted for upcoming occasions and their cards
posted to the staff group."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from care import campaigns, followups
from handlers.campaigns.card import announce_drafts
from handlers.context import CareContext

log = logging.getLogger(__name__)


async def plan_care(context: CareContext) -> None:
    """Job: plan birthdays and follow-ups, draft campaigns for upcoming occasions and
    show them to staff, mark finished campaigns done."""
    services = context.services
    now = services.clock.now()
    today = now.astimezone(ZoneInfo(services.timezone)).date()
    planned, done = 0, []
    try:  # a failure here must not stop the drafts below (Christmas, New Year, ...)
        async with services.sessionmaker.begin() as session:
            planned = await followups.plan_personal_and_followups(
                session, today, services.care, now, services.timezone
            )
            done = await campaigns.complete_finished(session)
    except Exception:
        log.exception("planning greetings and follow-ups failed; drafting campaigns still")
    if planned:
        log.info("planned %d greetings and follow-ups", planned)
    if done:
        log.info("campaigns done: %s", ", ".join(map(str, done)))
    async with services.sessionmaker.begin() as session:
        drafted = await campaigns.draft_upcoming(
            session, today, services.care, now, default_timezone=services.timezone
        )
        drafted_ids = [campaign.id for campaign in drafted]
    if drafted_ids:
        log.info("drafted campaigns for upcoming occasions: %s", drafted_ids)
        if services.staff_chat_id is None:
            log.warning("no CAREBOT_STAFF_CHAT_ID: drafted campaigns wait for /campaigns")
    await announce_drafts(context.bot, services, today)
