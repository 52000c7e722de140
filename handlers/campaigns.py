"""Care campaigns for admins, and the planner job that drafts them.

Commands (admins only; other staff and everyone else are refused)::

    /campaign new <occasion> [audience] [YYYY-MM-DD] [HH:MM]
    /campaign new text [audience] <YYYY-MM-DD> [HH:MM] <message>
    /campaign edit <id> [audience] [YYYY-MM-DD] [HH:MM] [<occasion> | text <message>]
    /campaign preview <id> [customer id]
    /campaign approve <id>  ·  /campaign cancel <id>  ·  /campaign status <id>
    /campaigns
    /followups [days]      (supervisors and admins: follow-ups and personal greetings)

A campaign is shown as a *card*: what it says in each language, to whom, when, and
where it stands, with Approve / Edit / Cancel buttons ("cp:approve:<id>",
"cp:edit:<id>", "cp:cancel:<id>"); Edit explains ``/campaign edit`` with the id filled
in, since an edit is typed.
The planner job (:func:`plan_care`, scheduled by ``bot.jobs``) drafts
campaigns for upcoming occasions and posts their cards to the staff group, plans
birthdays and follow-ups, and marks finished campaigns done.

Work happens in one transaction through ``care.campaigns``; the card in the staff group
is edited after it commits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from care import audiences, campaigns, deliveries, followups, messages, occasions, planning
from care import staff as staff_members
from care.campaigns import CampaignError, CampaignProblem
from care.models import Campaign, CampaignStatus, OutboxState, StaffMember, StaffRole
from care.outbox import SkipReason
from care.templates import TemplateBook
from handlers import staff
from handlers.context import CareContext, Services
from handlers.i18n import N_, ngettext, use_locale
from handlers.i18n import gettext as _
from handlers.staff import Answer

log = logging.getLogger(__name__)

PREFIX = "cp:"
# Row ids: at most 9 digits, to fit PostgreSQL's INTEGER (see complaint_words.ROW_ID).
BUTTON = re.compile(r"^cp:(approve|edit|cancel):(\d{1,9})$")
CAMPAIGN_ID = re.compile(r"^#?(\d{1,9})$")
CUSTOMER_ID = re.compile(r"^\d{1,9}$")
DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
WORD = re.compile(r"\S+")
LISTED = 20

STATUS_LABELS = {
    CampaignStatus.DRAFT: N_("draft: nothing is sent until an admin approves it"),
    CampaignStatus.APPROVED: N_("approved"),
    CampaignStatus.CANCELLED: N_("cancelled"),
    CampaignStatus.DONE: N_("done: every message is settled"),
}

STATE_LABELS = {
    OutboxState.SENT: N_("sent"),
    OutboxState.PENDING: N_("pending"),
    OutboxState.SENDING: N_("being sent"),
    OutboxState.FAILED: N_("failed"),
    OutboxState.BLOCKED: N_("blocked (the customer blocked the bot)"),
    OutboxState.SKIPPED: N_("skipped at send time"),
    OutboxState.UNCONFIRMED: N_("unconfirmed (maybe delivered; never resent)"),
    OutboxState.CANCELLED: N_("cancelled"),
}
# Why rows were skipped, listed under "skipped" in /campaign status.
SKIP_REASON_LABELS = {
    SkipReason.OPTED_OUT: N_("turned care messages off"),
    SkipReason.UNREACHABLE: N_("blocked the bot"),
    SkipReason.FORGOTTEN: N_("asked us to forget them"),
    SkipReason.CANCELLED: N_("the campaign was cancelled"),
    SkipReason.NO_LONGER_APPLIES: N_(
        "no longer applies (the complaint was reopened, or the customer has written to us)"
    ),
    SkipReason.TOO_LATE: N_(
        "too late: its day (or a follow-up's grace days) had passed in the customer's time "
        "zone, or only quiet hours were left"
    ),
    SkipReason.NOT_PLANNED: N_("could not be planned (an error with the customer's data)"),
}
# The rules of follow-ups and personal greetings (care.followups), in /followups.
RULE_LABELS = {
    planning.AFTER_RESOLUTION.name: N_("after a resolved complaint"),
    planning.AFTER_FIRST_CONTACT.name: N_("after the first contact"),
    planning.AFTER_PURCHASE.name: N_("after a purchase"),
    planning.WIN_BACK.name: N_("win-back after a quiet spell"),
    planning.BIRTHDAY.name: N_("birthday greetings"),
    planning.ANNIVERSARY.name: N_("anniversary greetings"),
}
# How far back and ahead /followups looks by default, in days.
FOLLOWUPS_DAYS = 7
# Always listed in /campaign status, even when 0.
STATES_SHOWN = (
    OutboxState.SENT,
    OutboxState.PENDING,
    OutboxState.FAILED,
    OutboxState.BLOCKED,
    OutboxState.SKIPPED,
    OutboxState.UNCONFIRMED,
)

LOCALE_LABELS = {"zh_CN": "🇨🇳 中文", "en": "🇬🇧 English"}


@dataclass(frozen=True)
class Reply:
    """What a campaign command or button answers, and what to do after the commit."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    # The campaign whose card in the staff group is to be brought up to date.
    refresh: int | None = None
    # Remember the reply as this campaign's card when it is posted in the staff group.
    card_of: int | None = None


# --- words ----------------------------------------------------------------------------


def usage() -> str:
    return _(
        "Campaigns (admins only):\n"
        "/campaign new <occasion> [audience] [YYYY-MM-DD] [HH:MM]: the occasion's greeting, "
        "e.g. /campaign new mid_autumn or /campaign new 中秋节 tag:vip\n"
        "/campaign new text [audience] <YYYY-MM-DD> [HH:MM] <message>: a message of your own, "
        "e.g. /campaign new text 2026-12-01 Hello everyone!\n"
        "/campaign edit <id> [audience] [YYYY-MM-DD] [HH:MM] [<occasion> | text <message>]: "
        "change a draft, e.g. /campaign edit 3 tag:vip 10:30 text Dear VIPs, thank you!\n"
        "/campaign preview <id> [customer id]: what it says (to that customer)\n"
        "/campaign approve <id> · /campaign cancel <id> · /campaign status <id>\n"
        "/campaigns: the latest campaigns\n"
        "Audience: all (the default), tag:vip, type:regular, stage:dormant, quiet:90 (has "
        "not written to us for 90 days); only customers who accept care messages get them. "
        "The time (default 09:00) is each customer's own; nothing is sent before it is "
        "approved.\n"
        "/followups [days]: follow-ups and birthday greetings due in the last and next 7 "
        "days, and any that may not have arrived"
    )


def problem_words(problem: CampaignProblem, facts: Mapping[str, str] | None = None) -> str:
    """Why a campaign cannot be made or changed, for an admin (with ``CampaignError.
    facts``, the day or time at fault)."""
    facts = facts or {}
    if problem is CampaignProblem.UNKNOWN_AUDIENCE or problem is CampaignProblem.BAD_AUDIENCE_VALUE:
        return _(
            "That is not an audience. Use all, tag:<tag>, type:<customer type>, "
            "stage:<lifecycle stage> or quiet:<days>, e.g. tag:vip, type:regular, "
            "stage:dormant, quiet:90."
        )
    if problem is CampaignProblem.TEXT_TOO_LONG:
        return _("The message is too long: Telegram takes at most 4096 characters.")
    if problem is CampaignProblem.IN_THE_PAST and "day" in facts:
        return _(
            "{day} is already over (today is {today}): its greetings would arrive a day or "
            "more late. Choose today or a day to come."
        ).format(day=facts["day"], today=facts["today"])
    if problem is CampaignProblem.IN_THE_PAST:
        return _("That day is already over: choose today or a day to come.")
    if problem is CampaignProblem.IN_QUIET_HOURS:
        return _(
            "{time} is inside the quiet hours ({quiet_start}–{quiet_end}), when no care "
            "messages are sent: every greeting would wait until {quiet_end}, for an evening "
            "time the next morning, after the day. Choose a time from {quiet_end} to "
            "{quiet_start}, e.g. 09:00."
        ).format(
            time=facts.get("time", "?"),
            quiet_start=facts.get("quiet_start", "21:00"),
            quiet_end=facts.get("quiet_end", "08:00"),
        )
    if problem is CampaignProblem.CANCELLED:
        return _("This campaign was cancelled; make a new one.")
    if problem is CampaignProblem.DONE:
        return _("This campaign is done: every message is settled.")
    if problem is CampaignProblem.NOT_A_DRAFT:
        return _(
            "This campaign is approved and its messages are planned, so it can no longer be "
            "edited. Cancel it and make a new one."
        )
    if problem is CampaignProblem.BOTH_MESSAGES:
        return _("Give either an occasion or a message of your own, not both.")
    return usage()


def edit_help(campaign_id: int) -> str:
    """How to edit this campaign, short enough for a button's answer (200 characters)."""
    return _(
        "To edit #{id}, send /campaign edit {id} with what changes: an audience (tag:vip), "
        "a day (2026-10-01), a time (10:30), an occasion, or text and your message."
    ).format(id=campaign_id)


def audience_words(audience: Mapping[str, Any]) -> str:
    kind = audience.get("kind")
    if kind == "tag":
        return _("customers tagged {tag}").format(tag=audience["tag"])
    if kind == "customer_type":
        return _("customers of type {type}").format(type=audience["value"])
    if kind == "lifecycle":
        return _("customers in the {stage} stage").format(stage=audience["value"])
    if kind == "quiet":
        return _("customers without contact for {days} days").format(days=audience["days"])
    return _("all customers")


def status_words(campaign: Campaign) -> str:
    status = CampaignStatus(campaign.status)
    label = _(STATUS_LABELS[status])
    if status is CampaignStatus.APPROVED:
        return (
            label
            + " · "
            + ngettext(
                "{count} message planned", "{count} messages planned", campaign.planned_count
            ).format(count=campaign.planned_count)
        )
    return label


def title(campaign: Campaign, services: Services, locale: str) -> str:
    """The occasion's name and year in the locale, or the campaign's own name."""
    name = messages.occasion_name(
        campaign.occasion, campaign.send_on, locale, services.care.holiday_countries
    )
    return f"{name} {campaign.send_on.year}" if name else campaign.name


def card_text(
    campaign: Campaign, size: int, samples: Mapping[str, str], services: Services, locale: str
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
        buttons.append(
            InlineKeyboardButton(_("✅ Approve"), callback_data=f"{PREFIX}approve:{campaign.id}")
        )
        buttons.append(
            InlineKeyboardButton(_("✏️ Edit"), callback_data=f"{PREFIX}edit:{campaign.id}")
        )
    if campaign.status in (CampaignStatus.DRAFT.value, CampaignStatus.APPROVED.value):
        buttons.append(
            InlineKeyboardButton(
                _("✖ Cancel campaign"), callback_data=f"{PREFIX}cancel:{campaign.id}"
            )
        )
    return InlineKeyboardMarkup([buttons]) if buttons else None


def progress_text(progress: campaigns.CampaignProgress, services: Services, locale: str) -> str:
    campaign = progress.campaign
    lines = [
        _("📊 Campaign #{id}: {title}").format(
            id=campaign.id, title=title(campaign, services, locale)
        ),
        _("Status: {status}").format(status=_(STATUS_LABELS[CampaignStatus(campaign.status)])),
        _("Planned: {count}").format(count=progress.planned),
    ]
    for state in OutboxState:
        count = progress.count(state)
        if state in STATES_SHOWN or count:
            lines.append(f"· {_(STATE_LABELS[state])}: {count}")
        if state is OutboxState.SKIPPED:
            lines += [
                f"   – {skip_reason_words(reason)}: {rows}"
                for reason, rows in progress.skipped_because.items()
            ]
    return "\n".join(lines)


def skip_reason_words(reason: str) -> str:
    """Why a row was skipped, in words (a reason we do not know as it was recorded)."""
    try:
        return _(SKIP_REASON_LABELS[SkipReason(reason)])
    except (KeyError, ValueError):
        return reason


def rule_words(rule: str) -> str:
    """A follow-up rule or personal occasion, in words (an unknown one as recorded)."""
    label = RULE_LABELS.get(rule)
    return _(label) if label is not None else rule


def followups_text(
    found: deliveries.DeliveryReport,
    timezone: str,
    ahead: Sequence[deliveries.ComingUp] = (),
) -> str:
    """/followups: what the outbox did with follow-ups and personal greetings, and the
    follow-ups the rules will plan on the days ahead."""
    zone = ZoneInfo(timezone)

    def moment(at: datetime) -> str:
        return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    span = {"start": moment(found.since), "end": moment(found.until)}
    if not found.counts and not found.not_planned:
        lines = [_("No follow-ups or greetings are due between {start} and {end}.").format(**span)]
        return "\n".join(lines + coming_up_lines(ahead))
    lines = [_("📬 Follow-ups and greetings due between {start} and {end}:").format(**span)]
    for rule, states in found.counts.items():
        shown = " · ".join(
            f"{_(STATE_LABELS[state])}: {states[state.value]}"
            for state in OutboxState
            if states.get(state.value)
        )
        lines.append(f"· {rule_words(rule)}: {shown}")
    if found.skipped_because:
        lines.append(_("Skipped at send time, because:"))
        lines += [
            f"   – {skip_reason_words(reason)}: {rows}"
            for reason, rows in found.skipped_because.items()
        ]
    unconfirmed = found.total(OutboxState.UNCONFIRMED)
    if unconfirmed:
        lines.append(
            ngettext(
                "⚠️ {count} message may or may not have arrived (the sender stopped while "
                "sending it). It is never sent again; check with the customer if it matters:",
                "⚠️ {count} messages may or may not have arrived (the sender stopped while "
                "sending them). They are never sent again; check with the customers if it "
                "matters:",
                unconfirmed,
            ).format(count=unconfirmed)
        )
        lines += [
            _("· {name} (customer {id}): {rule}, due {due}").format(
                name=row.name or "?",
                id=row.customer_id,
                rule=rule_words(row.rule),
                due=moment(row.due_at),
            )
            for row in found.unconfirmed
        ]
    if found.not_planned:
        lines.append(
            _("⚠️ Not planned, because of an error with the customer's data (the log has it "
              "under the customer's id); the others were planned:")
        )  # fmt: skip
        lines += [
            _("· {name} (customer {id}): {rule}, last tried {at}").format(
                name=failed.name or "?",
                id=failed.customer_id,
                rule=rule_words(failed.rule),
                at=moment(failed.last_at),
            )
            for failed in found.not_planned
        ]
    return "\n".join(lines + coming_up_lines(ahead))


def coming_up_lines(ahead: Sequence[deliveries.ComingUp]) -> list[str]:
    """The follow-ups not in the outbox yet (it is filled a day ahead), by rule."""
    if not ahead:
        return []
    lines = [_("Coming up (put in the outbox the day before they are due):")]
    for coming in ahead:
        days = (
            coming.first_day.isoformat()
            if coming.first_day == coming.last_day
            else _("{first} to {last}").format(
                first=coming.first_day.isoformat(), last=coming.last_day.isoformat()
            )
        )
        lines.append(
            _("· {rule}: {count} ({days})").format(
                rule=rule_words(coming.rule), count=coming.count, days=days
            )
        )
    return lines


def list_line(campaign: Campaign, services: Services, locale: str) -> str:
    return _("#{id} · {title} · {day} {time} · {audience} · {status}").format(
        id=campaign.id,
        title=title(campaign, services, locale),
        day=campaign.send_on.isoformat(),
        time=campaign.send_at_local,
        audience=audiences.audience_text(campaign.audience),
        status=status_words(campaign),
    )


async def card(
    session: AsyncSession, campaign: Campaign, services: Services, book: TemplateBook, locale: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card's text and buttons in ``locale``, with the audience's size now."""
    size = await audiences.audience_size(session, campaign.audience, services.clock.now())
    samples = messages.sample_texts(
        campaign,
        book.render,
        company=services.company_name,
        default_locale=services.default_locale,
        countries=services.care.holiday_countries,
    )
    return card_text(campaign, size, samples, services, locale), card_keyboard(campaign)


# --- parsing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewCampaign:
    """What ``/campaign new …`` asks for."""

    occasion: str | None  # the occasion as typed (code or name); None for a text
    text: str | None
    audience: dict[str, Any]
    day: date | None
    at: time | None


def parse_new(arguments: str) -> NewCampaign:
    """Read ``<occasion|text> [audience] [YYYY-MM-DD] [HH:MM] [message]``.

    The audience, day and time may come in any order; for a text campaign the message
    is everything from the first word that is none of them (line breaks kept).

    Raises:
        Answer: with the usage, or what is wrong.
    """
    words = list(WORD.finditer(arguments))
    if not words:
        raise Answer(usage())
    head = words[0].group()
    is_text = head.lower() == "text"
    audience: dict[str, Any] | None = None
    day: date | None = None
    at: time | None = None
    text: str | None = None
    for word in words[1:]:
        token = word.group()
        if day is None and DATE.match(token):
            day = _day(token)
        elif at is None and TIME.match(token):
            at = _time(token)
        elif audience is None and _looks_like_audience(token):
            audience = _audience(token)
        elif is_text:
            text = arguments[word.start() :].strip()
            break
        else:
            raise Answer(_("I do not understand “{word}”.").format(word=token) + "\n\n" + usage())
    if is_text and not text:
        raise Answer(_("What should it say? /campaign new text 2026-12-01 Hello everyone!"))
    if is_text and day is None:
        raise Answer(
            _("On which day? A message of your own needs one: /campaign new text 2026-12-01 …")
        )
    return NewCampaign(
        occasion=None if is_text else head,
        text=text,
        audience=audience or {"kind": "all"},
        day=day,
        at=at,
    )


@dataclass(frozen=True)
class CampaignEdit:
    """What ``/campaign edit <id> …`` asks to change; None leaves a value as it is."""

    occasion: str | None  # the occasion as typed (code or name)
    text: str | None
    audience: dict[str, Any] | None
    day: date | None
    at: time | None


def parse_edit(arguments: str, campaign_id: int) -> CampaignEdit:
    """Read ``[audience] [YYYY-MM-DD] [HH:MM] [<occasion> | text <message>]``.

    As with ``/campaign new``, the audience, day and time may come in any order, and
    after the word ``text`` the message is everything from the first word that is none
    of them (line breaks kept).

    Raises:
        Answer: how to edit, when nothing is asked; or what is wrong.
    """
    audience: dict[str, Any] | None = None
    day: date | None = None
    at: time | None = None
    occasion: str | None = None
    text: str | None = None
    is_text = False
    for word in WORD.finditer(arguments):
        token = word.group()
        if day is None and DATE.match(token):
            day = _day(token)
        elif at is None and TIME.match(token):
            at = _time(token)
        elif audience is None and _looks_like_audience(token):
            audience = _audience(token)
        elif is_text:
            text = arguments[word.start() :].strip()
            break
        elif token.lower() == "text":
            is_text = True
        elif occasion is None:
            occasion = token
        else:
            raise Answer(
                _("I do not understand “{word}”.").format(word=token)
                + "\n\n"
                + edit_help(campaign_id)
            )
    if is_text and not text:
        raise Answer(
            _("What should it say? /campaign edit {id} text Hello everyone!").format(id=campaign_id)
        )
    if audience is None and day is None and at is None and occasion is None and text is None:
        raise Answer(edit_help(campaign_id))
    return CampaignEdit(occasion=occasion, text=text, audience=audience, day=day, at=at)


def _audience(token: str) -> dict[str, Any]:
    try:
        return audiences.parse_audience(token)
    except CampaignError as error:
        raise Answer(problem_words(error.problem, error.facts)) from None


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


def company_today(services: Services) -> date:
    return services.clock.now().astimezone(ZoneInfo(services.timezone)).date()


# --- commands ---------------------------------------------------------------------------


async def new_campaign(
    session: AsyncSession,
    member: StaffMember,
    arguments: str,
    services: Services,
    book: TemplateBook,
    locale: str,
) -> Reply:
    """/campaign new …: make a draft and show its card."""
    asked = parse_new(arguments)
    window = services.care.window
    if asked.at is not None:
        window = replace(window, send_at=asked.at)
    name: str
    code: str | None = None
    texts: dict[str, str] | None = None
    if asked.occasion is not None:
        found = find_occasion(asked.occasion, asked.day, services)
        code = found.code
        send_on = asked.day or found.on
        name = campaigns.occasion_campaign_name(found, send_on)
    else:
        assert asked.text is not None and asked.day is not None
        send_on = asked.day
        texts = {locale: asked.text}
        name = asked.text.splitlines()[0][:40]
    try:
        campaign = await campaigns.create_campaign(
            session, name, code, texts, asked.audience, send_on, window,
            services.clock.now(), created_by=member, timezone=services.timezone,
        )  # fmt: skip
    except CampaignError as error:
        raise Answer(problem_words(error.problem, error.facts)) from None
    text, keyboard = await card(session, campaign, services, book, locale)
    return Reply(text, keyboard, card_of=campaign.id)


def find_occasion(typed: str, day: date | None, services: Services) -> occasions.Occasion:
    """The occasion called ``typed`` (in ``day``'s year, else the next one)."""
    found = campaigns.find_occasion(
        typed, day, company_today(services), services.care.holiday_countries
    )
    if found is None:
        raise Answer(
            _("There is no occasion “{occasion}”. /occasions lists them.").format(occasion=typed)
        )
    return found


async def edit_campaign(
    session: AsyncSession,
    member: StaffMember,
    arguments: str,
    services: Services,
    book: TemplateBook,
    locale: str,
) -> Reply:
    """/campaign edit <id> …: change a draft, say how the command was read, and have its
    card in the staff group brought up to date."""
    campaign, rest = await target(session, arguments)
    try:
        campaigns.check_editable(campaign)
    except CampaignError as error:
        raise Answer(problem_words(error.problem, error.facts)) from None
    asked = parse_edit(rest, campaign.id)
    day, code, texts, name = asked.day, None, None, None
    if asked.occasion is not None:
        found = find_occasion(asked.occasion, asked.day, services)
        code, day = found.code, asked.day or found.on
        name = campaigns.occasion_campaign_name(found, day)
    if asked.text is not None:
        texts = {locale: asked.text}
        name = asked.text.splitlines()[0][:40]
    try:
        await campaigns.edit_campaign(
            session, campaign, services.clock.now(), edited_by=member, audience=asked.audience,
            send_on=day, send_at=asked.at, occasion=code, texts=texts, name=name,
            timezone=services.timezone,
        )  # fmt: skip
    except CampaignError as error:
        raise Answer(problem_words(error.problem, error.facts)) from None
    size = await audiences.audience_size(session, campaign.audience, services.clock.now())
    return Reply(edited_words(campaign, asked, size, services, locale), refresh=campaign.id)


def edited_words(
    campaign: Campaign, asked: CampaignEdit, size: int, services: Services, locale: str
) -> str:
    """What an edit changed, as the command was read."""
    lines = [_("✏️ Campaign #{id} is changed:").format(id=campaign.id)]
    if asked.audience is not None:
        lines.append(
            _("· audience: {audience} ({audience_text}), {count} now").format(
                audience=audience_words(campaign.audience),
                audience_text=audiences.audience_text(campaign.audience),
                count=size,
            )
        )
    if asked.day is not None or asked.occasion is not None:
        lines.append(_("· day: {day}").format(day=campaign.send_on.isoformat()))
    if asked.at is not None:
        lines.append(
            _("· time: {time} in each customer's time zone").format(time=campaign.send_at_local)
        )
    if asked.occasion is not None:
        lines.append(
            _("· occasion: {occasion} (its greeting template)").format(
                occasion=title(campaign, services, locale)
            )
        )
    if asked.text is not None:
        lines.append(_("· message: {text}").format(text=asked.text))
    lines.append(
        _("It is still a draft: /campaign preview {id} shows it, /campaign approve {id} sends it.")
        .format(id=campaign.id)
    )  # fmt: skip
    return "\n".join(lines)


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
    session: AsyncSession,
    member: StaffMember,
    arguments: str,
    services: Services,
    book: TemplateBook,
    locale: str,
) -> Reply:
    """/campaign preview <id> [customer id]: the card, or what one customer would get."""
    campaign, rest = await target(session, arguments)
    if not rest:
        shown, keyboard = await card(session, campaign, services, book, locale)
        return Reply(shown, keyboard)
    if not CUSTOMER_ID.match(rest):
        raise Answer(usage())
    customer_id = int(rest)
    text = await messages.preview(
        session, campaign, customer_id, book.render,
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
    session: AsyncSession,
    member: StaffMember,
    arguments: str,
    services: Services,
    book: TemplateBook,
    locale: str,
) -> Reply:
    """/campaign approve <id>: plan it into the outbox."""
    campaign, _rest = await target(session, arguments)
    count = await approve(session, campaign, member, services)
    return Reply(approved_words(campaign, count), refresh=campaign.id)


async def approve(
    session: AsyncSession, campaign: Campaign, member: StaffMember, services: Services
) -> int:
    try:
        return await campaigns.approve(
            session, campaign, member, services.clock.now(), services.timezone
        )
    except CampaignError as error:
        raise Answer(problem_words(error.problem, error.facts)) from None


def approved_words(campaign: Campaign, count: int) -> str:
    return ngettext(
        "Campaign #{id} is approved: {count} message planned, sent from {day} {time} in "
        "each customer's time zone.",
        "Campaign #{id} is approved: {count} messages planned, sent from {day} {time} in "
        "each customer's time zone.",
        count,
    ).format(
        id=campaign.id, count=count, day=campaign.send_on.isoformat(), time=campaign.send_at_local
    )


async def cancel_campaign(
    session: AsyncSession,
    member: StaffMember,
    arguments: str,
    services: Services,
    book: TemplateBook,
    locale: str,
) -> Reply:
    """/campaign cancel <id>: nothing more of it is sent."""
    campaign, _rest = await target(session, arguments)
    count = await cancel(session, campaign)
    return Reply(cancelled_words(campaign, count), refresh=campaign.id)


async def cancel(session: AsyncSession, campaign: Campaign) -> int:
    try:
        return await campaigns.cancel(session, campaign)
    except CampaignError as error:
        raise Answer(problem_words(error.problem, error.facts)) from None


def cancelled_words(campaign: Campaign, count: int) -> str:
    return ngettext(
        "Campaign #{id} is cancelled; {count} message will not be sent.",
        "Campaign #{id} is cancelled; {count} messages will not be sent.",
        count,
    ).format(id=campaign.id, count=count)


async def campaign_status(
    session: AsyncSession,
    member: StaffMember,
    arguments: str,
    services: Services,
    book: TemplateBook,
    locale: str,
) -> Reply:
    """/campaign status <id>: how many were sent, are pending, failed, blocked …"""
    campaign, _rest = await target(session, arguments)
    progress = await campaigns.status(session, campaign.id)
    assert progress is not None
    return Reply(progress_text(progress, services, locale))


async def list_campaigns(
    session: AsyncSession,
    member: StaffMember,
    arguments: str,
    services: Services,
    book: TemplateBook,
    locale: str,
) -> Reply:
    """/campaigns: the latest campaigns."""
    found = await campaigns.list_campaigns(session, LISTED)
    if not found:
        return Reply(_("No campaigns yet. /campaign new mid_autumn makes one."))
    lines = [_("The latest campaigns:")]
    lines += [list_line(campaign, services, locale) for campaign in found]
    return Reply("\n".join(lines))


VERBS = {
    "new": new_campaign,
    "edit": edit_campaign,
    "preview": preview_campaign,
    "approve": approve_campaign,
    "cancel": cancel_campaign,
    "status": campaign_status,
}


def only_admins(member: StaffMember) -> None:
    if member.role != StaffRole.ADMIN.value:
        log.warning(
            "refused a campaign action: staff member %s is not an admin", member.telegram_user_id
        )
        raise Answer(_("Only admins can run campaigns."))


async def on_campaign_command(update: Update, context: CareContext) -> None:
    """Run /campaign new|edit|preview|approve|cancel|status, or /campaigns (admins only)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.services
    text = message.text or ""
    listing = text.split(maxsplit=1)[0].split("@")[0].lower() == "/campaigns"
    verb, *rest = (["list"] if listing else staff.command_arguments(message).split(maxsplit=1)) or [
        ""
    ]
    arguments = rest[0] if rest else ""
    book = context.services.templates
    locale = staff.staff_locale(update, services)
    with use_locale(locale):
        try:
            async with services.sessionmaker.begin() as session:
                member = await staff_members.find_staff(session, user.id)
                if member is None:
                    reply = None
                else:
                    only_admins(member)
                    action = list_campaigns if listing else VERBS.get(verb.lower())
                    if action is None:
                        raise Answer(usage())
                    reply = await action(session, member, arguments, services, book, locale)
        except Answer as answer:
            reply = Reply(answer.text)
        if reply is None:
            await staff.refuse(update, context, "/campaign")
            return
        await send_reply(message, reply, services)
    if reply.refresh is not None:
        await refresh_card(context.bot, services, book, reply.refresh)


async def on_followups_command(update: Update, context: CareContext) -> None:
    """/followups [days]: follow-ups and personal greetings due in the last and next
    ``days`` (7), by rule and state, naming the unconfirmed ones (supervisors, admins)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.services
    with use_locale(staff.staff_locale(update, services)):
        try:
            days = followups_days(staff.command_arguments(message))
            async with services.sessionmaker.begin() as session:
                member = await staff_members.find_staff(session, user.id)
                if member is not None:
                    if member.role == StaffRole.AGENT.value:
                        raise Answer(_("Only supervisors and admins can see this."))
                    now = services.clock.now()
                    found = await deliveries.report(
                        session, now - timedelta(days=days), now + timedelta(days=days)
                    )
                    today = company_today(services)
                    ahead = await deliveries.coming_up(
                        session,
                        today,
                        (now + timedelta(days=days)).astimezone(ZoneInfo(services.timezone)).date(),
                        services.care.followups,
                        services.timezone,
                    )
        except Answer as answer:
            await send_reply(message, Reply(answer.text), services)
            return
        if member is None:
            await staff.refuse(update, context, "/followups")
            return
        await send_reply(message, Reply(followups_text(found, services.timezone, ahead)), services)


def followups_days(arguments: str) -> int:
    """The days /followups looks back and ahead: none given, 7; else 1 to 365."""
    if not arguments:
        return FOLLOWUPS_DAYS
    if arguments.isdigit() and 1 <= int(arguments) <= 365:
        return int(arguments)
    raise Answer(
        _("/followups [days]: follow-ups and greetings due in the last and next days "
          "(1 to 365; 7 when not given), e.g. /followups 30")
    )  # fmt: skip


async def send_reply(message: Message, reply: Reply, services: Services) -> None:
    """Answer in parts Telegram accepts, the buttons on the last; remember a card posted
    in the staff group."""
    parts = staff.chunks(reply.text)
    for part in parts[:-1]:
        await message.reply_text(part)
    sent = await message.reply_text(parts[-1], reply_markup=reply.keyboard)
    if reply.card_of is not None and message.chat_id == services.staff_chat_id:
        await remember_card(services, reply.card_of, sent.message_id)


async def remember_card(services: Services, campaign_id: int, message_id: int) -> None:
    async with services.sessionmaker.begin() as session:
        campaign = await campaigns.find_campaign(session, campaign_id)
        if campaign is not None:
            campaign.preview_message_id = message_id


# --- buttons ----------------------------------------------------------------------------


async def on_campaign_button(update: Update, context: CareContext) -> None:
    """Approve or cancel a campaign from its card, or say how to edit it (admins only),
    then refresh the card."""
    query = update.callback_query
    assert query is not None
    services = context.services
    data = query.data or ""
    book = context.services.templates
    locale = staff.staff_locale(update, services)
    with use_locale(locale):
        try:
            async with services.sessionmaker.begin() as session:
                member = await staff_members.find_staff(session, query.from_user.id)
                if member is None:
                    outcome = None
                else:
                    only_admins(member)
                    outcome = await button_action(session, member, data, services, book, locale)
        except Answer as answer:
            await query.answer(answer.text, show_alert=True)
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
        await refresh_card(context.bot, services, book, campaign_id)


async def button_action(
    session: AsyncSession,
    member: StaffMember,
    data: str,
    services: Services,
    book: TemplateBook,
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
        try:
            campaigns.check_editable(campaign)
        except CampaignError as error:
            raise Answer(problem_words(error.problem, error.facts)) from None
        return edit_help(campaign.id)
    if action == "approve":
        if campaign.status == CampaignStatus.APPROVED.value:
            answer = _("Already approved.")
        else:
            answer = approved_words(campaign, await approve(session, campaign, member, services))
    elif campaign.status == CampaignStatus.CANCELLED.value:
        answer = _("Already cancelled.")
    else:
        answer = cancelled_words(campaign, await cancel(session, campaign))
    text, keyboard = await card(session, campaign, services, book, locale)
    return answer, text, keyboard, campaign.id


async def refresh_card(bot: Bot, services: Services, book: TemplateBook, campaign_id: int) -> None:
    """Bring the campaign's card in the staff group up to date (status, buttons)."""
    if services.staff_chat_id is None:
        return
    async with services.sessionmaker.begin() as session:
        campaign = await campaigns.find_campaign(session, campaign_id)
        if campaign is None or campaign.preview_message_id is None:
            return
        message_id = campaign.preview_message_id
        with use_locale(services.default_locale):
            text, keyboard = await card(session, campaign, services, book, services.default_locale)
    try:
        await bot.edit_message_text(
            text, chat_id=services.staff_chat_id, message_id=message_id, reply_markup=keyboard
        )
    except BadRequest as error:
        if "not modified" not in str(error).lower():
            log.warning("campaign %s: its card could not be updated: %s", campaign_id, error)
    except TelegramError:
        log.warning("campaign %s: its card could not be updated", campaign_id, exc_info=True)


# --- the planner job --------------------------------------------------------------------


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
    await announce_drafts(context.bot, services, context.services.templates, today)


async def announce_drafts(bot: Bot, services: Services, book: TemplateBook, today: date) -> None:
    """Post the card of every automatic campaign not shown yet to the staff group."""
    if services.staff_chat_id is None:
        return
    async with services.sessionmaker.begin() as session:
        cards = []
        for campaign in await campaigns.unannounced(session, today):
            with use_locale(services.default_locale):
                text, keyboard = await card(
                    session, campaign, services, book, services.default_locale
                )
            cards.append((campaign.id, text, keyboard))
    for campaign_id, text, keyboard in cards:
        try:
            sent = await bot.send_message(services.staff_chat_id, text, reply_markup=keyboard)
        except TelegramError:
            log.warning("campaign %s: its card could not be posted", campaign_id, exc_info=True)
            continue
        await remember_card(services, campaign_id, sent.message_id)


# --- registration -----------------------------------------------------------------------


def campaign_handlers() -> list[BaseHandler]:
    """/campaign, /campaigns and the campaign card's buttons, in any chat (admins only),
    and /followups (supervisors and admins)."""
    new = filters.UpdateType.MESSAGE  # an edited command must not act again
    return [
        CommandHandler(["campaign", "campaigns"], on_campaign_command, filters=new),
        CommandHandler("followups", on_followups_command, filters=new),
        CallbackQueryHandler(on_campaign_button, pattern=f"^{PREFIX}"),
    ]
