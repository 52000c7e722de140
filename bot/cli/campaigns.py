"""``carebot campaign new|edit|preview|approve|cancel|status|list``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import (
    CampaignIdArgument,
    campaign_app,
    cli_settings,
    clock,
    err,
    fail,
    in_transaction,
    out,
    progress_bar,
)
from bot.settings import (
    Settings,
)
from care.audiences import audience_size, audience_text, in_audience, parse_audience
from care.campaign_requests import (
    CampaignRequest,
    ResolvedRequest,
    create_requested,
    edit_requested,
    resolve,
)
from care.campaigns import (
    REPORTED_STATES,
    CampaignError,
    CampaignProblem,
    CampaignProgress,
    find_campaign,
    list_campaigns,
)
from care.campaigns import approve as approve_campaign
from care.campaigns import cancel as cancel_campaign
from care.campaigns import status as campaign_progress
from care.engine import parse_hhmm
from care.messages import preview as campaign_preview_text
from care.messages import sample_name, sample_texts
from care.models import Campaign, CustomerType, LifecycleStage, OutboxState
from care.records import find_customer_id
from care.templates import TemplateBook, TemplateError

AUDIENCE_HELP = (
    "all, tag:vip, type:regular, stage:dormant or quiet:90 (has not written to us for 90 "
    "days); only customers who accept care messages get it."
)

# The options /campaign new and edit share (edit: what is given is changed).
OccasionOption = Annotated[
    str | None,
    typer.Option(
        "--occasion",
        "-o",
        help="The occasion whose greeting is sent: its code (mid_autumn) or name (中秋节); "
        "see carebot occasions. Without --on, on its next date.",
    ),
]
TextZhOption = Annotated[
    str | None, typer.Option("--text-zh", help="A text of your own in Chinese.")
]
TextEnOption = Annotated[
    str | None,
    typer.Option(
        "--text-en", help="A text of your own in English (one language alone serves both)."
    ),
]
AudienceOption = Annotated[str | None, typer.Option("--audience", "-a", help=AUDIENCE_HELP)]
DayOption = Annotated[
    str | None,
    typer.Option(
        "--on",
        "--day",
        metavar="YYYY-MM-DD",
        help="The local day of sending (a new campaign of an occasion: default its next "
        "date; a text needs one).",
    ),
]
TimeOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        "--time",
        metavar="HH:MM",
        help="The local time of sending in each customer's time zone (a new campaign: "
        "default CAREBOT_SEND_AT_LOCAL, 09:00). A time inside the quiet hours "
        "(CAREBOT_QUIET_HOURS) is refused.",
    ),
]
NameOption = Annotated[
    str | None,
    typer.Option("--name", "-n", help="What staff call it (new: made up when not given)."),
]

_CAMPAIGN_PROBLEMS: dict[CampaignProblem, str] = {
    CampaignProblem.UNKNOWN_AUDIENCE: (
        "not an audience; use all, tag:TAG, type:CUSTOMER_TYPE, stage:LIFECYCLE_STAGE or quiet:DAYS"
    ),
    CampaignProblem.BAD_AUDIENCE_VALUE: (
        "not an audience value: a tag is letters, digits, . _ -; a type one of "
        + ", ".join(kind.value for kind in CustomerType)
        + "; a stage one of "
        + ", ".join(stage.value for stage in LifecycleStage)
        + "; quiet days 1 to 3650"
    ),
    CampaignProblem.NO_MESSAGE: "give --occasion, or the text with --text-zh and/or --text-en",
    CampaignProblem.BOTH_MESSAGES: "give either --occasion or a text, not both",
    CampaignProblem.UNKNOWN_OCCASION: "no such occasion; see carebot occasions",
    CampaignProblem.NO_DAY: "a text campaign needs its day",
    CampaignProblem.TEXT_TOO_LONG: "the text is longer than Telegram's 4096 characters",
    CampaignProblem.UNKNOWN_LOCALE: "texts are for zh_CN and en only",
    CampaignProblem.IN_THE_PAST: "that day is already over: its greetings would arrive a day "
    "or more late; choose today or a day to come",
    CampaignProblem.IN_QUIET_HOURS: "the send time is inside the quiet hours "
    "(CAREBOT_QUIET_HOURS), when no care messages are sent: every greeting would wait for "
    "their end, for an evening time the next morning, after the day; choose a time outside "
    "them",
    CampaignProblem.CANCELLED: "the campaign was cancelled; make a new one",
    CampaignProblem.DONE: "the campaign is done: every message is settled",
    CampaignProblem.NOT_A_DRAFT: (
        "the campaign is approved and its messages are planned, so it can no longer be "
        "edited; cancel it and make a new one"
    ),
}


def _campaign_problem(error: CampaignError) -> str:
    """Why a campaign was refused, with the day or time at fault when there is one."""
    facts = error.facts
    if error.problem is CampaignProblem.IN_THE_PAST and facts:
        return (
            f"{facts['day']} is already over (today is {facts['today']}): its greetings would "
            "arrive a day or more late; choose today or a day to come"
        )
    if error.problem is CampaignProblem.IN_QUIET_HOURS and facts:
        return (
            f"{facts['time']} is inside the quiet hours ({facts['quiet_start']}-"
            f"{facts['quiet_end']}, CAREBOT_QUIET_HOURS), when no care messages are sent: every "
            f"greeting would wait until {facts['quiet_end']}, for an evening time the next "
            f"morning, after the day; choose a time from {facts['quiet_end']} to "
            f"{facts['quiet_start']}"
        )
    return _CAMPAIGN_PROBLEMS[error.problem]


def _template_book(settings: Settings) -> TemplateBook:
    try:
        return TemplateBook.load(settings.templates_file, settings.default_locale)
    except TemplateError as exc:
        fail(str(exc), code=2)


def _audience(text: str) -> dict[str, Any]:
    try:
        return parse_audience(text)
    except CampaignError as exc:
        raise typer.BadParameter(_CAMPAIGN_PROBLEMS[exc.problem], param_hint="--audience") from None


def _time(text: str | None) -> time | None:
    if text is None:
        return None
    try:
        return parse_hhmm(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--at") from None


def _resolved(
    request: CampaignRequest, today: date, countries: Iterable[str], *, new: bool
) -> ResolvedRequest:
    """The request with its occasion found and its day and name made
    (``care.campaign_requests.resolve``), or a usage error naming the option at fault."""
    try:
        return resolve(request, today=today, countries=tuple(countries), new=new)
    except CampaignError as exc:
        if exc.problem is CampaignProblem.UNKNOWN_OCCASION:
            year = exc.facts.get("year")
            raise typer.BadParameter(
                f"no occasion {request.occasion!r}"
                + (f" in {year}" if year else " in the next year")
                + "; see carebot occasions",
                param_hint="--occasion",
            ) from None  # fmt: skip
        option = "--on" if exc.problem is CampaignProblem.NO_DAY else "--occasion"
        raise typer.BadParameter(_CAMPAIGN_PROBLEMS[exc.problem], param_hint=option) from None


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a day like 2026-09-25", param_hint=option
        ) from None


def _campaign_line(campaign: Campaign) -> str:
    what = f"occasion {campaign.occasion}" if campaign.occasion else "own text"
    return (
        f"#{campaign.id} {campaign.name} ({what}), {campaign.send_on.isoformat()} at "
        f"{campaign.send_at_local} local time, audience {audience_text(campaign.audience)}: "
        f"{campaign.status}"
    )


async def _as_drafted(
    session: AsyncSession, campaign: Campaign, settings: Settings, book: TemplateBook, now: datetime
) -> tuple[str, int, dict[str, str]]:
    """A draft just made or changed: its line, how many it reaches now, its samples."""
    size = await audience_size(session, campaign.audience, now)
    samples = sample_texts(
        campaign, book.render, company=settings.company_name,
        default_locale=settings.default_locale,
        countries=settings.engine().holiday_countries,
    )  # fmt: skip
    return _campaign_line(campaign), size, samples


def _print_texts(texts: dict[str, str], samples: bool = True) -> None:
    """Each text under its heading: a locale, as the sample customer gets it (see
    ``care.messages.SAMPLE_NAMES``), or a customer's own."""
    console = out()
    for heading, text in texts.items():
        if samples:
            heading = f"{heading}, as a customer named {sample_name(heading)} gets it"
        console.print(Text(f"--- {heading} ---", style="bold"))
        console.print(Text(text))


@campaign_app.command("new")
def campaign_new(
    occasion: OccasionOption = None,
    text_zh: TextZhOption = None,
    text_en: TextEnOption = None,
    audience: AudienceOption = "all",
    on: DayOption = None,
    at: TimeOption = None,
    name: NameOption = None,
) -> None:
    """Make a campaign as a draft, and show what it says and how many it reaches now.

    Nothing is sent until it is approved (carebot campaign approve ID, or the Approve
    button in Telegram).
    """
    settings = cli_settings()
    engine_config = settings.engine()
    book = _template_book(settings)
    now = clock().now()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    request = CampaignRequest(
        occasion,
        {"zh_CN": text_zh or "", "en": text_en or ""},
        _audience(audience or "all"),
        _day(on, "--on") if on else None,
        _time(at),
        name,
    )
    resolved = _resolved(request, today, engine_config.holiday_countries, new=True)

    async def work(session: AsyncSession) -> tuple[int, str, int, dict[str, str]]:
        campaign = await create_requested(
            session, resolved, engine_config, now, timezone=settings.timezone
        )
        return (campaign.id, *await _as_drafted(session, campaign, settings, book, now))

    try:
        campaign_id, line, size, samples = in_transaction(settings, work)
    except CampaignError as exc:
        fail(f"No campaign made: {_campaign_problem(exc)}.")
    out().print(Text(f"Drafted {line}; it reaches {size} customers now."))
    _print_texts(samples)
    err().print(f"Nothing is sent before it is approved: carebot campaign approve {campaign_id}")


@campaign_app.command("edit")
def campaign_edit(
    campaign_id: CampaignIdArgument,
    audience: AudienceOption = None,
    on: DayOption = None,
    at: TimeOption = None,
    occasion: OccasionOption = None,
    text: Annotated[
        str | None,
        typer.Option("--text", help="Send a text of your own instead, in every language."),
    ] = None,
    text_zh: TextZhOption = None,
    text_en: TextEnOption = None,
    name: NameOption = None,
) -> None:
    """Change a draft campaign: its audience, day, time or message; the rest stays.

    Texts given replace the old ones. An approved campaign is planned and can no longer
    be edited: cancel it and make a new one.
    """
    settings = cli_settings()
    engine_config = settings.engine()
    book = _template_book(settings)
    now = clock().now()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    request = CampaignRequest(
        occasion,
        {"zh_CN": text_zh or text or "", "en": text_en or text or ""},
        _audience(audience) if audience is not None else None,
        _day(on, "--on") if on else None,
        _time(at),
        name,
    )
    resolved = _resolved(request, today, engine_config.holiday_countries, new=False)
    if resolved == ResolvedRequest(None, None, None, None, None, None):
        fail(
            "Nothing to change: give --audience, --on, --at, --occasion, --text (or --text-zh, "
            "--text-en) or --name.",
            code=2,
        )

    async def work(session: AsyncSession) -> tuple[str, int, dict[str, str]] | None:
        campaign = await find_campaign(session, campaign_id)
        if campaign is None:
            return None
        await edit_requested(
            session, campaign, resolved, engine_config, now, timezone=settings.timezone
        )
        return await _as_drafted(session, campaign, settings, book, now)

    try:
        done = in_transaction(settings, work)
    except CampaignError as exc:
        fail(f"Campaign {campaign_id} not changed: {_campaign_problem(exc)}.")
    if done is None:
        fail(f"No campaign {campaign_id}.")
    line, size, samples = done
    out().print(Text(f"Changed {line}; it reaches {size} customers now."))
    _print_texts(samples)
    err().print(f"Nothing is sent before it is approved: carebot campaign approve {campaign_id}")


@campaign_app.command("preview")
def campaign_preview(
    campaign_id: CampaignIdArgument,
    customer: Annotated[
        str | None,
        typer.Option(
            "--customer",
            "-c",
            metavar="ID",
            help="Show exactly what this customer would get: our customer id (17) or, with "
            "tg:, a Telegram user id (tg:123456).",
        ),
    ] = None,
) -> None:
    """Show what a campaign says: in every language, or as one customer would get it."""
    settings = cli_settings()
    engine_config = settings.engine()
    book = _template_book(settings)
    now = clock().now()

    async def work(session: AsyncSession) -> tuple[str, dict[str, str], bool] | str:
        campaign = await find_campaign(session, campaign_id)
        if campaign is None:
            return f"No campaign {campaign_id}."
        if customer is None:
            samples = sample_texts(
                campaign, book.render, company=settings.company_name,
                default_locale=settings.default_locale,
                countries=engine_config.holiday_countries,
            )  # fmt: skip
            return _campaign_line(campaign), samples, True
        customer_id = await find_customer_id(session, customer)
        text = None
        if customer_id is not None:
            text = await campaign_preview_text(
                session, campaign, customer_id, book.render, company=settings.company_name,
                default_locale=settings.default_locale, countries=engine_config.holiday_countries,
            )  # fmt: skip
        if customer_id is None or text is None:
            return f"No customer {customer.strip()}."
        reached = await in_audience(session, campaign, customer_id, now)
        return _campaign_line(campaign), {f"customer {customer_id}": text}, reached

    try:
        found = in_transaction(settings, work, commit=False)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--customer") from None
    if isinstance(found, str):
        fail(found)
    line, texts, reached = found
    out().print(Text(line))
    _print_texts(texts, samples=customer is None)
    if not reached:
        err().print(
            Text(
                "This customer is not in the audience now (not matching, no consent to care "
                "messages, blocked the bot, forgotten or never wrote to it): they would not "
                "get it.",
                style="yellow",
            ),
            soft_wrap=True,
        )


@campaign_app.command("approve")
def campaign_approve(campaign_id: CampaignIdArgument) -> None:
    """Approve a campaign: plan one message per customer in its audience into the outbox.

    Each is due at the campaign's local time in the customer's time zone, out of quiet
    hours; the running bot sends them. Approving again adds only customers who joined
    the audience since.
    """
    settings = cli_settings()
    now = clock().now()
    with progress_bar() as progress:
        task = progress.add_task("Planning", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        async def work(session: AsyncSession) -> tuple[str, int] | None:
            campaign = await find_campaign(session, campaign_id)
            if campaign is None:
                return None
            count = await approve_campaign(
                session, campaign, None, now, settings.timezone, progress=advance
            )
            return _campaign_line(campaign), count

        try:
            done = in_transaction(settings, work)
        except CampaignError as exc:
            fail(f"Campaign {campaign_id} not approved: {_campaign_problem(exc)}.")
    if done is None:
        fail(f"No campaign {campaign_id}.")
    line, count = done
    out().print(Text(f"Approved {line}; {count} messages planned."))


@campaign_app.command("cancel")
def campaign_cancel(campaign_id: CampaignIdArgument) -> None:
    """Cancel a campaign: its messages not sent yet never will be."""
    settings = cli_settings()

    async def work(session: AsyncSession) -> int | None:
        campaign = await find_campaign(session, campaign_id)
        if campaign is None:
            return None
        return await cancel_campaign(session, campaign)

    try:
        count = in_transaction(settings, work)
    except CampaignError as exc:
        fail(f"Campaign {campaign_id} not cancelled: {_CAMPAIGN_PROBLEMS[exc.problem]}.")
    if count is None:
        fail(f"No campaign {campaign_id}.")
    out().print(f"Campaign {campaign_id} cancelled; {count} messages will not be sent.")


@campaign_app.command("status")
def campaign_status_command(campaign_id: CampaignIdArgument) -> None:
    """How many messages were planned, sent, are pending, failed, blocked, skipped (and
    why) or unconfirmed (maybe delivered when the bot stopped; never resent)."""
    settings = cli_settings()

    async def work(session: AsyncSession) -> tuple[str, CampaignProgress] | None:
        progress = await campaign_progress(session, campaign_id)
        if progress is None:
            return None
        return _campaign_line(progress.campaign), progress

    found = in_transaction(settings, work, commit=False)
    if found is None:
        fail(f"No campaign {campaign_id}.")
    line, progress = found
    counts = progress.counts
    out().print(Text(line))
    table = Table()
    table.add_column("State")
    table.add_column("Messages", justify="right")
    table.add_row("planned", str(progress.planned), style="bold")
    for state in REPORTED_STATES:
        if state not in (OutboxState.SENDING, OutboxState.CANCELLED) or counts[state.value]:
            table.add_row(state.value, str(counts[state.value]))
        if state is OutboxState.SKIPPED:
            # Why, by reason code (opted_out, unreachable, forgotten, cancelled,
            # no_longer_applies), as care.outbox.SkipReason records them.
            for reason, count in progress.skipped_because.items():
                table.add_row(f"  {reason}", str(count), style="dim")
    out().print(table)


@campaign_app.command("list")
def campaign_list(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20,
) -> None:
    """List the newest campaigns."""
    settings = cli_settings()

    async def work(session: AsyncSession) -> list[tuple[str, ...]]:
        return [
            (
                str(c.id),
                c.name,
                c.occasion or "(own text)",
                f"{c.send_on.isoformat()} {c.send_at_local}",
                audience_text(c.audience),
                c.status + (" (auto)" if c.automatic else ""),
                str(c.planned_count),
            )
            for c in await list_campaigns(session, limit)
        ]

    rows = in_transaction(settings, work, commit=False)
    if not rows:
        out().print("No campaigns yet. Make one with: carebot campaign new --occasion mid_autumn")
        return
    table = Table()
    for column in ("Id", "Name", "Occasion", "Local send time", "Audience", "Status", "Planned"):
        table.add_column(column, justify="right" if column in ("Id", "Planned") else "left")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    out().print(table)
