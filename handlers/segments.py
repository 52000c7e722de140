"""The segments job: everyone classified again, then churn risks handled by importance.

Churn handling follows the seeds (对不同级别客户的流失的态度): a key customer (a star, or
tagged with one of ``CAREBOT_SEGMENT_KEY_TAGS``) whose churn risk turned high is told to
every supervisor once, with what we know of them (``care.alerts``: owed rows,
``handlers.staff_alerts.owe_alert``); a normal customer who went quiet gets the win-back
follow-up now (``care.followups.plan_win_backs``); a small one (a dog) nothing extra.
Each is marked handled in the same transaction, so the next run does not repeat it; a
risk that falls and rises again is handled again.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from care import churn, directory, followups, locks, segments
from care.alerts import Alert
from care.churn import Importance, RiskCase
from care.segments import ChurnReason
from handlers import complaint_words as words
from handlers import segment_words as seg
from handlers.context import CareContext, Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.staff_alerts import owe_alert

log = logging.getLogger(__name__)


async def refresh_segments(context: CareContext) -> None:
    """Job: classify every customer again, then handle the churn risks that turned high.

    A batch of customers per transaction, so that no customer's row stays locked for
    the length of a whole pass. One process at a time (an advisory lock on PostgreSQL,
    taken by every transaction): a run that finds it taken leaves the work to the
    holder, and churn risks are handled in a transaction that holds it, so no customer
    is handled twice.
    """
    services = context.services
    rules, now = services.care.segments, services.clock.now()
    classified = changed = 0
    after = 0
    while True:
        async with services.sessionmaker.begin() as session:
            if not await locks.try_hold(session, locks.SEGMENTS):
                log.debug("segments: another process is computing them; this run leaves it")
                return
            done, after = await segments.refresh_after(session, rules, now, after)
        if not done.customers:
            break
        classified, changed = classified + done.customers, changed + done.changed
    async with services.sessionmaker.begin() as session:
        if not await locks.try_hold(session, locks.SEGMENTS):
            return
        handled = await handle_churn_risks(session, services)
    log.info(
        "segments: %s customers classified, %s changed, %s churn risks handled",
        classified, changed, handled,
    )  # fmt: skip


async def handle_churn_risks(session: AsyncSession, services: Services) -> int:
    """Handle every high churn risk not handled yet, by importance; how many there were."""
    rules = services.care.segments
    now = services.clock.now()
    total = 0
    while cases := await churn.unhandled_risks(session, rules):
        for case in cases:
            if case.importance is Importance.KEY:
                await _alert(session, services, case)
        win_back = [
            case.customer_id
            for case in cases
            if case.importance is Importance.NORMAL and ChurnReason.QUIET in case.reasons
        ]
        await followups.plan_win_backs(session, win_back, services.care, now, services.timezone)
        await churn.mark_handled(session, [case.customer_id for case in cases], now)
        total += len(cases)
    return total


async def _alert(session: AsyncSession, services: Services, case: RiskCase) -> None:
    card = await directory.customer_card(session, case.customer_id)
    # Alerts speak the staff group's language, as every other alert does.
    with use_locale(services.default_locale):
        text = alert_text(card, case, services.timezone)
    await owe_alert(
        session, services, Alert.KEY_CUSTOMER_AT_RISK, text, None, customer_id=case.customer_id
    )


def alert_text(card: directory.Card, case: RiskCase, timezone: str) -> str:
    """What supervisors are told of a key customer who may leave: who, why, what we know."""
    lines = [
        _("⚠ A key customer may leave: {name} (id {id})").format(
            name=card.name or _("(no name)"), id=card.id
        ),
        _("Why: {reasons}").format(reasons=seg.reasons_words(tuple(r.value for r in case.reasons))),
        _("Value × relationship: {segment}").format(
            segment=seg.label(seg.SEGMENT_LABELS, card.value_segment)
        ),
        _("Type: {type} · stage: {stage}").format(
            type=seg.label(seg.TYPE_LABELS, card.customer_type),
            stage=seg.label(seg.STAGE_LABELS, card.lifecycle_stage),
        ),
        _("Tags: {tags}").format(tags=", ".join(card.tags) or "–"),
        _("Last wrote: {seen}").format(seen=words.local_time(card.last_seen_at, timezone)),
    ]
    if card.open_complaints:
        lines.append(
            _("Open complaints: {numbers}").format(
                numbers=", ".join(line.number for line in card.open_complaints)
            )
        )
    if card.ratings:
        latest = card.ratings[0]
        lines.append(
            _("Latest rating: {score}/5 ({number})").format(
                score=latest.score, number=latest.number or "–"
            )
        )
    lines.append(_("Do everything to win them back. Their card: /customer {id}").format(id=card.id))
    return "\n".join(lines)
