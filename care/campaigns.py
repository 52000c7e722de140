"""Care campaigns: an occasion's greeting or a free text, to an audience, on a local day.

A campaign is made as a draft (``create_campaign``), looked at (``preview``,
``audience_size``), changed while it is a draft (``edit_campaign``), and approved:
approving *plans* it, one ``Outbox`` row per customer in the audience, due at the
campaign's local send time in that customer's time zone and never inside quiet hours.
The sender (``care.outbox``) does the rest. Planning is idempotent (``dedupe_key``
"campaign:<id>" is unique per customer), so approving again only adds the customers who
joined the audience since.

Only customers who accept care messages, are reachable, were not forgotten and have a
chat with the bot are ever planned; the sender checks again at send time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care import occasions, outbox
from care.audiences import audience_conditions, audience_size, validate_audience
from care.engine import EngineConfig, SendWindow
from care.locales import LOCALES
from care.models import (
    Campaign,
    CampaignStatus,
    Customer,
    Outbox,
    OutboxState,
    StaffMember,
)
from care.planning import DueTimes, in_quiet_hours, insert_outbox_rows, outbox_row, window_of
from care.problems import CampaignError, CampaignProblem

# Customers are planned this many at a time: one keyset page read, one bulk insert.
PLAN_CHUNK = 10_000
# Telegram's limit on a message's text.
MAX_TEXT = 4096
MAX_NAME = 128
# States in which a row may still be sent.
OPEN_STATES = (OutboxState.PENDING.value, OutboxState.SENDING.value)
# What ``status`` reports, in this order.
REPORTED_STATES = (
    OutboxState.SENT,
    OutboxState.PENDING,
    OutboxState.SENDING,
    OutboxState.FAILED,
    OutboxState.BLOCKED,
    OutboxState.SKIPPED,
    OutboxState.UNCONFIRMED,
    OutboxState.CANCELLED,
)


def dedupe_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


async def create_campaign(
    session: AsyncSession,
    name: str,
    occasion: str | None,
    texts: Mapping[str, str] | None,
    audience: Mapping[str, Any],
    send_on: date,
    window: SendWindow,
    now: datetime,
    created_by: StaffMember | None = None,
    automatic: bool = False,
    *,
    timezone: str | None = None,
) -> Campaign:
    """Make a campaign as a draft; nothing is planned until it is approved.

    Args:
        name: what staff call it ("Mid-Autumn 2026").
        occasion: the occasion's code whose template is sent (``mid_autumn``), or None.
        texts: otherwise the free text per locale (``{"zh_CN": ..., "en": ...}``); a
            locale without one gets the first given.
        audience: who gets it (see ``validate_audience``).
        send_on: the local calendar day of sending.
        window: the local send time and quiet hours.
        now: when it is made.
        created_by: the admin who made it (None for automatic ones and the CLI).
        automatic: drafted by the planner for an upcoming occasion.
        timezone: the company's (``CAREBOT_TIMEZONE``): a day before today there is
            over (None: only a day over everywhere is).

    Raises:
        CampaignError: a bad audience, no message or two, a text too long, a locale we
            do not speak, a day that is already over (IN_THE_PAST), or a send time
            inside quiet hours (IN_QUIET_HOURS): see ``schedule_problem``.
    """
    checked = validate_audience(audience)
    cleaned = _checked_texts(texts)
    if occasion is None and cleaned is None:
        raise CampaignError(CampaignProblem.NO_MESSAGE)
    if occasion is not None and cleaned is not None:
        raise CampaignError(CampaignProblem.BOTH_MESSAGES)
    _check_schedule(send_on, window, now, timezone)
    campaign = Campaign(
        name=(name.strip() or occasion or "campaign")[:MAX_NAME],
        occasion=occasion,
        texts=cleaned,
        audience=checked,
        send_on=send_on,
        send_at_local=window.send_at.strftime("%H:%M"),
        quiet_start=window.quiet_start.strftime("%H:%M"),
        quiet_end=window.quiet_end.strftime("%H:%M"),
        status=CampaignStatus.DRAFT.value,
        automatic=automatic,
        created_by=created_by.id if created_by else None,
        created_at=now,
        planned_count=0,
    )
    session.add(campaign)
    await session.flush()
    return campaign


def _checked_texts(texts: Mapping[str, str] | None) -> dict[str, str] | None:
    if texts is None:
        return None
    given = {locale: text.strip() for locale, text in texts.items() if text and text.strip()}
    if not given:
        return None
    if any(locale not in LOCALES for locale in given):
        raise CampaignError(CampaignProblem.UNKNOWN_LOCALE)
    if any(len(text) > MAX_TEXT for text in given.values()):
        raise CampaignError(CampaignProblem.TEXT_TOO_LONG)
    first = next(iter(given.values()))
    return {locale: given.get(locale, first) for locale in LOCALES}


def _over_everywhere(day: date, now: datetime) -> bool:
    # The earliest zones (UTC-12) are at most a day behind UTC.
    return day < now.astimezone(UTC).date() - timedelta(days=1)


def schedule_problem(
    send_on: date, window: SendWindow, now: datetime, timezone: str | None
) -> CampaignProblem | None:
    """What is wrong with sending on ``send_on`` at ``window.send_at``, if anything.

    IN_THE_PAST: the day is before today in ``timezone`` (the company's; None: before
    the day is over everywhere), so its messages could only arrive a day late or more,
    and the sender would skip them (``care.timing``). IN_QUIET_HOURS: the send time is
    inside the quiet hours, so every message would move to their end, for an evening
    time to the next morning: a Mid-Autumn greeting "at 22:00" would arrive the day
    after Mid-Autumn. The CLI and Telegram both refuse these, with the reason.
    """
    over = (
        _over_everywhere(send_on, now)
        if timezone is None
        else send_on < now.astimezone(ZoneInfo(timezone)).date()
    )
    if over:
        return CampaignProblem.IN_THE_PAST
    if in_quiet_hours(window.send_at, window):
        return CampaignProblem.IN_QUIET_HOURS
    return None


def _check_schedule(send_on: date, window: SendWindow, now: datetime, timezone: str | None) -> None:
    problem = schedule_problem(send_on, window, now, timezone)
    if problem is None:
        return
    today = now.astimezone(ZoneInfo(timezone) if timezone else UTC).date()
    raise CampaignError(
        problem,
        {
            "day": send_on.isoformat(),
            "today": today.isoformat(),
            "time": window.send_at.strftime("%H:%M"),
            "quiet_start": window.quiet_start.strftime("%H:%M"),
            "quiet_end": window.quiet_end.strftime("%H:%M"),
        },
    )


def occasion_campaign_name(found: occasions.Occasion, send_on: date) -> str:
    """What a campaign for an occasion is called: "Mid-Autumn Festival 2026"."""
    return f"{found.names.get('en') or found.code} {send_on.year}"


def check_editable(campaign: Campaign) -> None:
    """Refuse to change a campaign that is no longer a draft.

    Raises:
        CampaignError: NOT_A_DRAFT (approved: its messages are planned), CANCELLED or
            DONE.
    """
    if campaign.status == CampaignStatus.CANCELLED.value:
        raise CampaignError(CampaignProblem.CANCELLED)
    if campaign.status == CampaignStatus.DONE.value:
        raise CampaignError(CampaignProblem.DONE)
    if campaign.status != CampaignStatus.DRAFT.value:
        raise CampaignError(CampaignProblem.NOT_A_DRAFT)


async def edit_campaign(
    session: AsyncSession,
    campaign: Campaign,
    now: datetime,
    *,
    edited_by: StaffMember | None = None,
    audience: Mapping[str, Any] | None = None,
    send_on: date | None = None,
    send_at: time | None = None,
    occasion: str | None = None,
    texts: Mapping[str, str] | None = None,
    name: str | None = None,
    timezone: str | None = None,
) -> Campaign:
    """Change a draft: its audience, day, send time, and message; None leaves a value as
    it is. Nothing is planned, so nothing else needs to follow.

    The result is checked as ``create_campaign`` checks a new campaign, and the campaign
    changes only when all of it is right. Its row is locked first (on PostgreSQL), so an
    approval running at the same moment either sees the edit or makes it fail.

    Args:
        now: when it is changed.
        edited_by: the admin who changes it (None for the CLI).
        audience: who gets it (see ``validate_audience``).
        send_on: the local calendar day of sending.
        send_at: the local time of sending (the quiet hours stay).
        occasion: the occasion's code whose template is sent instead of a text.
        texts: a free text per locale instead of the occasion's template; they replace
            the old texts (a locale without one gets the first given).
        name: what staff call it.
        timezone: the company's: a day before today there is over (see
            ``schedule_problem``).

    Raises:
        CampaignError: NOT_A_DRAFT, CANCELLED or DONE for a campaign that is no longer a
            draft; a bad audience, an occasion and a text at once, an empty text, a text
            too long, a locale we do not speak, a day that is already over, or a send
            time inside quiet hours.
    """
    await _lock(session, campaign)
    check_editable(campaign)
    checked = campaign.audience if audience is None else validate_audience(audience)
    if occasion is not None and texts is not None:
        raise CampaignError(CampaignProblem.BOTH_MESSAGES)
    new_occasion, new_texts = campaign.occasion, campaign.texts
    if occasion is not None:
        if not occasion.strip():
            raise CampaignError(CampaignProblem.NO_MESSAGE)
        new_occasion, new_texts = occasion.strip(), None
    if texts is not None:
        new_occasion, new_texts = None, _checked_texts(texts)
        if new_texts is None:
            raise CampaignError(CampaignProblem.NO_MESSAGE)
    day = campaign.send_on if send_on is None else send_on
    window = window_of(campaign)
    if send_at is not None:
        window = SendWindow(send_at, window.quiet_start, window.quiet_end)
    _check_schedule(day, window, now, timezone)
    campaign.audience = checked
    campaign.occasion, campaign.texts = new_occasion, new_texts
    campaign.send_on = day
    if send_at is not None:
        campaign.send_at_local = send_at.strftime("%H:%M")
    if name is not None and name.strip():
        campaign.name = name.strip()[:MAX_NAME]
    campaign.edited_by = edited_by.id if edited_by else None
    campaign.edited_at = now
    await session.flush()
    return campaign


async def _lock(session: AsyncSession, campaign: Campaign) -> None:
    """Lock the campaign's row (PostgreSQL; SQLite's writer lock does the same at the
    first write) and read it again, so that its status is the one committed last.
    Changes not flushed yet are flushed first, so that the reading loses none."""
    await session.flush()
    await session.refresh(campaign, with_for_update=True)


async def find_campaign(session: AsyncSession, campaign_id: int) -> Campaign | None:
    return await session.get(Campaign, campaign_id)


async def list_campaigns(session: AsyncSession, limit: int = 20) -> list[Campaign]:
    """The newest campaigns first."""
    query = select(Campaign).order_by(Campaign.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def approve(
    session: AsyncSession,
    campaign: Campaign,
    staff: StaffMember | None,
    now: datetime,
    timezone_default: str,
    *,
    chunk_size: int = PLAN_CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Approve a campaign and plan it: one pending outbox row per customer in its audience.

    The audience is read in keyset pages of ``chunk_size`` customers (never all at once)
    and each page is written with one bulk insert that skips customers already planned,
    so approving again adds only the customers who joined the audience since. Each row
    is due at the campaign's send time on its day in the customer's time zone (or
    ``timezone_default``), moved out of quiet hours; past that moment, it is due now. A
    customer whose day is over by then (approved late in the evening) gets a row due
    now, which the sender skips as too late (``care.timing``) rather than send it the
    next morning.

    Args:
        staff: the admin who approves (None: approved automatically).
        progress: called after each page with (customers planned so far, audience size).

    Returns:
        How many rows the campaign has planned in all (also ``campaign.planned_count``).

    Raises:
        CampaignError: CANCELLED or DONE campaigns; IN_THE_PAST when its day is over
            in ``timezone_default`` (the company's zone); IN_QUIET_HOURS when its send
            time is inside its quiet hours (a draft made before that was refused).
    """
    await _lock(session, campaign)  # an edit at the same moment is not half planned
    if campaign.status == CampaignStatus.CANCELLED.value:
        raise CampaignError(CampaignProblem.CANCELLED)
    if campaign.status == CampaignStatus.DONE.value:
        raise CampaignError(CampaignProblem.DONE)
    _check_schedule(campaign.send_on, window_of(campaign), now, timezone_default)
    conditions = audience_conditions(campaign.audience, now)
    total = await audience_size(session, campaign.audience, now) if progress else 0
    times = DueTimes(window_of(campaign), timezone_default, now)
    day, key, campaign_id = campaign.send_on, dedupe_key(campaign.id), campaign.id
    done, last_id = 0, 0
    while True:
        page = (
            await session.execute(
                select(Customer.id, Customer.timezone)
                .where(*conditions, Customer.id > last_id)
                .order_by(Customer.id)
                .limit(chunk_size)
            )
        ).all()
        if not page:
            break
        await insert_outbox_rows(
            session,
            [
                outbox_row(
                    customer_id, key, times.on_the_day(day, zone) or now, campaign_id=campaign_id
                )
                for customer_id, zone in page
            ],
        )
        last_id = page[-1][0]
        done += len(page)
        if progress:
            progress(done, max(total, done))
    campaign.planned_count = await _planned(session, campaign_id)
    if campaign.status != CampaignStatus.APPROVED.value:
        campaign.status = CampaignStatus.APPROVED.value
        campaign.approved_at = now
        campaign.approved_by = staff.id if staff else None
    await session.flush()
    return campaign.planned_count


async def _planned(session: AsyncSession, campaign_id: int) -> int:
    query = select(func.count()).select_from(Outbox).where(Outbox.campaign_id == campaign_id)
    return int(await session.scalar(query) or 0)


async def cancel(session: AsyncSession, campaign: Campaign) -> int:
    """Cancel a campaign: its rows not yet sent are cancelled (rows in flight are not).

    Returns:
        How many rows were cancelled.

    Raises:
        CampaignError: DONE for a finished campaign.
    """
    if campaign.status == CampaignStatus.DONE.value:
        raise CampaignError(CampaignProblem.DONE)
    result = await session.execute(
        update(Outbox)
        .where(Outbox.campaign_id == campaign.id, Outbox.state == OutboxState.PENDING.value)
        .values(state=OutboxState.CANCELLED.value)
        .execution_options(synchronize_session=False)
    )
    campaign.status = CampaignStatus.CANCELLED.value
    await session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class CampaignProgress:
    """Where a campaign stands: how many rows were planned and in which state they are,
    and why the skipped ones were skipped."""

    campaign: Campaign
    planned: int
    counts: dict[str, int]  # every OutboxState value, 0 when none
    # Skipped rows per reason (``care.outbox.SkipReason`` values), most first.
    skipped_because: dict[str, int] = field(default_factory=dict)

    def count(self, state: OutboxState) -> int:
        return self.counts.get(state.value, 0)

    @property
    def finished(self) -> bool:
        """Every row final: nothing pending and nothing in flight."""
        return all(self.counts.get(state, 0) == 0 for state in OPEN_STATES)


async def status(session: AsyncSession, campaign_id: int) -> CampaignProgress | None:
    """How many rows the campaign planned, how many are in each outbox state, and why
    the skipped ones were skipped (a second query, only when some were)."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    counts = await outbox.progress(session, campaign_id)
    skipped_because: dict[str, int] = {}
    if counts[OutboxState.SKIPPED.value]:
        reasons = await session.execute(
            select(Outbox.last_error, func.count())
            .where(Outbox.campaign_id == campaign_id, Outbox.state == OutboxState.SKIPPED.value)
            .group_by(Outbox.last_error)
            .order_by(func.count().desc(), Outbox.last_error)
        )
        skipped_because = {str(reason): int(count) for reason, count in reasons}
    return CampaignProgress(campaign, sum(counts.values()), counts, skipped_because)


async def complete_finished(session: AsyncSession) -> list[int]:
    """Mark approved campaigns whose every row is final as done.

    Returns:
        The ids of the campaigns marked.
    """
    still_open = exists().where(Outbox.campaign_id == Campaign.id, Outbox.state.in_(OPEN_STATES))
    ids = list(
        (
            await session.scalars(
                select(Campaign.id).where(
                    Campaign.status == CampaignStatus.APPROVED.value, ~still_open
                )
            )
        ).all()
    )
    if ids:
        await session.execute(
            update(Campaign)
            .where(Campaign.id.in_(ids))
            .values(status=CampaignStatus.DONE.value)
            .execution_options(synchronize_session="fetch")
        )
    return ids


# ----------------------------------------------------------------------------- occasions


def find_occasion(
    typed: str, day: date | None, today: date, countries: Iterable[str]
) -> occasions.Occasion | None:
    """The occasion called ``typed``: its code or its name in one of our languages
    (``mid_autumn``, ``中秋节``, ``Mid-Autumn Festival``), in ``day``'s year when a day
    is given, else the next one from ``today`` on."""
    wanted = typed.strip().lower()
    years = [day.year] if day else [today.year, today.year + 1]
    for year in years:
        if not occasions.MIN_YEAR <= year <= occasions.MAX_YEAR:
            continue
        for found in occasions.occasions_in_year(year, tuple(countries)):
            names = {found.code, *(name.lower() for name in found.names.values())}
            if wanted in names and (day is not None or found.on >= today):
                return found
    return None


# ----------------------------------------------------------------------------- automatic


async def draft_upcoming(
    session: AsyncSession,
    today: date,
    config: EngineConfig,
    now: datetime,
    *,
    default_timezone: str,
) -> list[Campaign]:
    """Draft a campaign for each configured occasion that is near.

    An occasion is near from ``config.auto_campaign_days_before`` days before it until
    its day. Each occasion gets at most one campaign per day it falls on, whoever made
    it: one that an admin made, cancelled, or edited to another day or occasion is never
    drafted again. Occasions in
    ``config.auto_approve_occasions`` are approved (planned) at once.

    Returns:
        The campaigns drafted now (approved ones among them), to show to staff.
    """
    wanted = set(config.auto_campaign_occasions)
    horizon = today + timedelta(days=config.auto_campaign_days_before)
    near = [
        found
        for year in sorted({today.year, horizon.year})
        for found in occasions.occasions_in_year(year, tuple(config.holiday_countries))
        if found.code in wanted and today <= found.on <= horizon
    ]
    drafted: list[Campaign] = []
    for found in near:
        drafted_for = f"{found.code}:{found.on.isoformat()}"
        taken = await session.scalar(
            select(Campaign.id)
            .where(
                or_(
                    and_(Campaign.occasion == found.code, Campaign.send_on == found.on),
                    Campaign.drafted_for == drafted_for,
                )
            )
            .limit(1)
        )
        if taken is not None:
            continue
        campaign = await create_campaign(
            session,
            occasion_campaign_name(found, found.on),
            found.code,
            None,
            {"kind": "all"},
            found.on,
            config.window,
            now,
            automatic=True,
        )
        campaign.drafted_for = drafted_for
        if found.code in config.auto_approve_occasions:
            await approve(session, campaign, None, now, default_timezone)
        drafted.append(campaign)
    return drafted


async def unannounced(session: AsyncSession, today: date) -> list[Campaign]:
    """Automatic campaigns not shown to staff yet (their preview message was never
    posted), whose day has not passed."""
    query = (
        select(Campaign)
        .where(
            Campaign.automatic.is_(True),
            Campaign.preview_message_id.is_(None),
            Campaign.status != CampaignStatus.CANCELLED.value,
            Campaign.send_on >= today,
        )
        .order_by(Campaign.id)
    )
    return list((await session.scalars(query)).all())
