"""``/faq`` for staff: list, show, stats, and switching answers off and on."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from care import faq
from handlers import faq_staff
from handlers.context import Services
from handlers.i18n import gettext as _
from handlers.staff_access import Answer, Reply, StaffRequest

USAGE_TEXT = (
    "/faq list · /faq show <id> · /faq stats · /faq off · /faq on · /faq off <id> · /faq on <id>"
    " · /faq add · /faq save · /faq same <id>"
)
# /faq stats lists this many entries, the most answered first.
STATS_SHOWN = 15


async def faq_command(request: StaffRequest) -> Reply:
    """/faq: the FAQ knowledge base, its measures, and its switches."""
    session, services = request.session, request.services
    verb, _space, rest = request.arguments.partition(" ")
    verb, rest = verb.lower() or "list", rest.strip()
    if verb == "list":
        return Reply(await _list(session))
    if verb == "show" and rest:
        return Reply(await _show(session, rest))
    if verb == "stats":
        return Reply(await _stats(session, services))
    if verb == "add":
        return await faq_staff.start_add(request)
    if verb == "save":
        return await faq_staff.start_save(request)
    if verb == "same":
        return await faq_staff.teach_same(request)
    if verb in ("on", "off"):
        return Reply(await _switch(session, services, verb == "on", rest or None))
    raise Answer(_("Usage: {usage}").format(usage=USAGE_TEXT))


async def _list(session: AsyncSession) -> str:
    rows = await faq.all_entries(session)
    if not rows:
        return _("The FAQ knowledge base is empty (carebot faq import FILE).")
    lines = []
    if not await faq.faq_enabled(session):
        lines.append(_("⏸ FAQ answers are switched off (/faq on)."))
    lines.append(_("{count} FAQ entries:").format(count=len(rows)))
    for row in rows:
        mark = "⏸ " if not row.enabled else ""
        lines.append(f"· {mark}{row.id}")
    return "\n".join(lines)


async def _show(session: AsyncSession, entry_id: str) -> str:
    row = await faq.get_entry(session, entry_id)
    if row is None:
        raise Answer(_("There is no FAQ entry {id}.").format(id=entry_id))
    entry = faq.entry_data(row)
    lines = [f"{entry.id}" + (" ⏸" if not row.enabled else "")]
    if entry.tags:
        lines.append(_("Tags: {tags}").format(tags=", ".join(entry.tags)))
    for locale, text in entry.texts.items():
        lines.append(f"[{locale}]")
        lines += [f"? {question}" for question in text.questions]
        lines.append(text.answer)
    if entry.related:
        lines.append(_("Related: {ids}").format(ids=", ".join(entry.related)))
    return "\n".join(lines)


def _rate(rate: float | None) -> str:
    return f"{rate:.0%}" if rate is not None else "–"


async def _stats(session: AsyncSession, services: Services) -> str:
    found = await faq.faq_stats(session, quiet_after_answer=services.faq_quiet_after_answer)
    overall = found.overall
    lines = [
        _(
            "FAQ: {answered} answers, deflection {deflection}, helpful {helpful}; "
            "{handed_off} questions handed off, hand-off rate {handoff}."
        ).format(
            answered=overall.answered,
            deflection=_rate(overall.deflection_rate),
            helpful=_rate(overall.helpful_rate),
            handed_off=overall.handed_off,
            handoff=_rate(overall.handoff_rate),
        )
    ]
    for entry in found.entries[:STATS_SHOWN]:
        lines.append(
            _(
                "· {id}: {answered} answers, deflection {deflection}, helpful {helpful}, "
                "asked a person {handoff}"
            ).format(
                id=entry.entry_id,
                answered=entry.answered,
                deflection=_rate(entry.deflection_rate),
                helpful=_rate(entry.helpful_rate),
                handoff=_rate(entry.handoff_rate),
            )
        )
    return "\n".join(lines)


async def _switch(
    session: AsyncSession, services: Services, enabled: bool, entry_id: str | None
) -> str:
    now = services.clock.now()
    if entry_id is None:
        await faq.set_faq_enabled(session, enabled, now)
        if enabled:
            return _("FAQ answers are on.")
        return _("FAQ answers are off: customers' questions go to staff.")
    if not await faq.set_entry_enabled(session, entry_id, enabled, now):
        raise Answer(_("There is no FAQ entry {id}.").format(id=entry_id))
    if enabled:
        return _("FAQ entry {id} is answered again.").format(id=entry_id)
    return _("FAQ entry {id} is no longer answered.").format(id=entry_id)
