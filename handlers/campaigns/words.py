"""Campaigns in words, for staff: labels, the usage, why a campaign is refused
(``problem_words``), a campaign's status, title, progress and list line, and what a
command did."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from care import audiences, campaigns, messages
from care.campaigns import CampaignProblem
from care.models import Campaign, CampaignStatus, OutboxState
from care.outbox import SkipReason
from handlers import segment_words as seg
from handlers.context import Services
from handlers.i18n import N_, ngettext
from handlers.i18n import gettext as _

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
    SkipReason.BUSINESS_CHANNEL: N_("writes to the company's Business account, not to the bot"),
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
            "stage:<lifecycle stage>, segment:<star|question|cash_cow|dog>, "
            "risk:<low|medium|high> or quiet:<days>, e.g. tag:vip, type:regular, "
            "stage:dormant, risk:high, quiet:90; several together must all hold: "
            "segment:star tag:vip."
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
    if problem is CampaignProblem.UNKNOWN_OCCASION:
        return _("There is no occasion “{occasion}”. /occasions lists them.").format(
            occasion=facts.get("occasion", "?")
        )
    if problem is CampaignProblem.NO_DAY:
        return _("On which day? A message of your own needs one: /campaign new text 2026-12-01 …")
    return usage()


def edit_help(campaign_id: int) -> str:
    """How to edit this campaign, short enough for a button's answer (200 characters)."""
    return _(
        "To edit #{id}, send /campaign edit {id} with what changes: an audience (tag:vip), "
        "a day (2026-10-01), a time (10:30), an occasion, or text and your message."
    ).format(id=campaign_id)


def audience_words(audience: Mapping[str, Any]) -> str:
    kind = audience.get("kind")
    if kind == "all_of":
        return _(" and ").join(audience_words(part) for part in audience["parts"])
    if kind == "tag":
        return _("customers tagged {tag}").format(tag=audience["tag"])
    if kind == "customer_type":
        return _("customers of type {type}").format(
            type=seg.label(seg.TYPE_LABELS, audience["value"])
        )
    if kind == "lifecycle":
        return _("customers in the {stage} stage").format(
            stage=seg.label(seg.STAGE_LABELS, audience["value"])
        )
    if kind == "segment":
        return _("customers in the {segment} quadrant").format(
            segment=seg.label(seg.SEGMENT_LABELS, audience["value"])
        )
    if kind == "risk":
        return _("customers at {risk} risk of leaving").format(
            risk=seg.label(seg.RISK_LABELS, audience["value"])
        )
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


def list_line(campaign: Campaign, services: Services, locale: str) -> str:
    return _("#{id} · {title} · {day} {time} · {audience} · {status}").format(
        id=campaign.id,
        title=title(campaign, services, locale),
        day=campaign.send_on.isoformat(),
        time=campaign.send_at_local,
        audience=audiences.audience_text(campaign.audience),
        status=status_words(campaign),
    )


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


def cancelled_words(campaign: Campaign, count: int) -> str:
    return ngettext(
        "Campaign #{id} is cancelled; {count} message will not be sent.",
        "Campaign #{id} is cancelled; {count} messages will not be sent.",
        count,
    ).format(id=campaign.id, count=count)


def edited_words(
    campaign: Campaign,
    size: int,
    services: Services,
    locale: str,
    *,
    audience: bool,
    day: bool,
    at: bool,
    occasion: bool,
    text: str | None,
) -> str:
    """What an edit changed, as the command was read: the audience, day, time, occasion
    or text asked for."""
    lines = [_("✏️ Campaign #{id} is changed:").format(id=campaign.id)]
    if audience:
        lines.append(
            _("· audience: {audience} ({audience_text}), {count} now").format(
                audience=audience_words(campaign.audience),
                audience_text=audiences.audience_text(campaign.audience),
                count=size,
            )
        )
    if day or occasion:
        lines.append(_("· day: {day}").format(day=campaign.send_on.isoformat()))
    if at:
        lines.append(
            _("· time: {time} in each customer's time zone").format(time=campaign.send_at_local)
        )
    if occasion:
        lines.append(
            _("· occasion: {occasion} (its greeting template)").format(
                occasion=title(campaign, services, locale)
            )
        )
    if text is not None:
        lines.append(_("· message: {text}").format(text=text))
    lines.append(
        _("It is still a draft: /campaign preview {id} shows it, /campaign approve {id} sends it.")
        .format(id=campaign.id)
    )  # fmt: skip
    return "\n".join(lines)
