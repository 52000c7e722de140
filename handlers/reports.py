"""``/report [today|week|month]``: the measures in the reader's language, with charts
(supervisors and admins); and the weekly report pushed to supervisors (a job).

The figures are ``care.reports``'; this module only puts them into words and sends
them. Charts are drawn in a worker thread (matplotlib takes a moment and must not hold
up other chats).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from functools import cache
from zoneinfo import ZoneInfo

from telegram import Message
from telegram.ext import BaseHandler

from care import locks
from care.models import StaffRole
from care.reports import Period, PeriodKind, Report, build_report
from care.reports.charts import Chart, ChartText, cjk_font, render_charts
from care.reports.weekly import already_owed, due_week, owe_weekly_report, recipients
from handlers.context import CareContext
from handlers.i18n import N_, current_locale, use_locale
from handlers.i18n import gettext as _
from handlers.staff_access import Answer, Reply, StaffRequest, staff_command, staff_places

log = logging.getLogger(__name__)

# /report's argument → the period it reports (the one that holds today).
PERIOD_WORDS = {
    "": PeriodKind.WEEK,
    "today": PeriodKind.DAY,
    "day": PeriodKind.DAY,
    "week": PeriodKind.WEEK,
    "month": PeriodKind.MONTH,
    "今天": PeriodKind.DAY,
    "本周": PeriodKind.WEEK,
    "本月": PeriodKind.MONTH,
}
NOT_MEASURED = "—"


def percent(rate: float | None) -> str:
    return NOT_MEASURED if rate is None else f"{rate * 100:.1f}%"


def duration(seconds: float | None) -> str:
    """A duration in hours and minutes (days beyond 48 hours), or "—"."""
    if seconds is None:
        return NOT_MEASURED
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("{minutes} min").format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    return _("{days} d {hours} h").format(days=hours // 24, hours=hours % 24)


def summary_text(report: Report) -> str:
    """The report as a short text for Telegram, in the current locale."""
    figures = report.overall
    churn, care, talks = report.churn, report.care, report.conversations
    lines = [
        _("📊 Report {first} – {last} ({timezone})").format(
            first=report.period.first.isoformat(),
            last=report.period.last.isoformat(),
            timezone=report.period.timezone,
        ),
        _("Customers served: {served} · new: {new} · messages in/out: {inbound}/{outbound}").format(
            served=churn.served,
            new=report.volumes.new_customers,
            inbound=report.volumes.contacts_in,
            outbound=report.volumes.contacts_out,
        ),
        _("Complaints: {count} · complaint rate: {rate}").format(
            count=figures.complaints, rate=percent(report.complaint_rate)
        ),
        _("Timeliness (及时率): acknowledged on time {ack} ({ack_ok}/{ack_all}) · resolved on "
          "time {resolve} ({resolve_ok}/{resolve_all}) · breaches: {breaches}").format(
            ack=percent(figures.ack_on_time_rate), ack_ok=figures.acknowledged_on_time,
            ack_all=figures.ack_deadlines, resolve=percent(figures.resolve_on_time_rate),
            resolve_ok=figures.resolved_on_time, resolve_all=figures.resolve_deadlines,
            breaches=figures.ack_breaches + figures.resolve_breaches,
        ),
        _("First response: median {median}, 90% within {p90} · resolution: median {r_median}, "
          "90% within {r_p90}").format(
            median=duration(figures.first_response.median),
            p90=duration(figures.first_response.p90),
            r_median=duration(figures.resolution.median),
            r_p90=duration(figures.resolution.p90),
        ),
        _("Conversations: {count} · answered on time {first} ({first_ok}/{first_all}) · "
          "closed on time {closed} ({closed_ok}/{closed_all}) · first answer: median "
          "{median} · closed: median {r_median} · staff answers: {answers}").format(
            count=talks.conversations, first=percent(talks.first_response_on_time_rate),
            first_ok=talks.first_responses_on_time, first_all=talks.first_response_deadlines,
            closed=percent(talks.resolve_on_time_rate), closed_ok=talks.resolved_on_time,
            closed_all=talks.resolve_deadlines, median=duration(talks.first_response.median),
            r_median=duration(talks.resolution.median), answers=talks.staff_answers,
        ),
        _("Satisfaction: CSAT {csat} ({ratings} ratings) · average {average} · response "
          "rate {response}").format(
            csat=NOT_MEASURED if figures.csat_score is None else f"{figures.csat_score:.1f}",
            ratings=figures.ratings,
            average=NOT_MEASURED if figures.rating_average is None
            else f"{figures.rating_average:.2f}",
            response=percent(figures.rating_response_rate),
        ),
    ]  # fmt: skip
    if figures.low_ratings:
        lines.append(
            _("Low ratings: {low} · reopened: {reopened} · recovered: {recovered}").format(
                low=figures.low_ratings,
                reopened=figures.low_ratings_reopened,
                recovered=figures.low_ratings_recovered,
            )
        )
    lines += [
        _("Churn (客户流失率): {churn} · lost {lost}: left {active} (asked to be forgotten "
          "{forgotten}, blocked {blocked}, quiet {quiet}), ended by us {passive} · retention "
          "(客户保持率): {retention}").format(
            churn=percent(churn.churn_rate), lost=churn.lost, active=churn.active,
            forgotten=churn.forgotten, blocked=churn.blocked, quiet=churn.quiet,
            passive=churn.passive, retention=percent(churn.retention_rate),
        ),
        _("Care: {sent} of {planned} sent · skipped {skipped} · failed {failed} · "
          "unconfirmed {unconfirmed} · answered within 3 days: {replied}").format(
            sent=care.sent, planned=care.planned, skipped=care.skipped, failed=care.failed,
            unconfirmed=care.unconfirmed, replied=percent(care.care_reply_rate),
        ),
        _("Reopened: {reopen} · customers writing again: {repeat}").format(
            reopen=percent(figures.reopen_rate), repeat=percent(report.repeat_contact_rate)
        ),
    ]  # fmt: skip
    faq = report.faq
    if faq.answers or faq.handed_off:
        lines.append(
            _("FAQ: {answers} answers · deflection {deflection} · helpful {helpful} · "
              "hand-offs {handoff}").format(
                answers=faq.answers, deflection=percent(faq.deflection_rate),
                helpful=percent(faq.helpful_rate), handoff=percent(faq.handoff_rate),
            )
        )  # fmt: skip
    return "\n".join(lines)


@cache
def _say_no_cjk_font() -> None:
    # Once per process: the font does not come back by itself.
    log.warning(
        "no CJK font found (install fonts-noto-cjk, as make browser-deps does): "
        "report charts are drawn in English"
    )


def chart_text() -> ChartText:
    """The charts' words in the current locale; in English when the locale is Chinese
    and the system has no CJK font (Chinese would be drawn as boxes)."""
    if current_locale().startswith("zh") and cjk_font() is None:
        _say_no_cjk_font()
        with use_locale("en"):
            return _chart_text()
    return _chart_text()


def _chart_text() -> ChartText:
    return ChartText(
        volume_title=_("Messages, conversations and complaints per day"),
        messages_in=_("messages in"),
        complaints=_("complaints"),
        conversations=_("conversations"),
        ack_on_time=_("acknowledged on time (%)"),
        frt_title=_("First response time"),
        frt_axis=_("count"),
        csat_title=_("Satisfaction (CSAT) per day"),
        csat_axis=_("CSAT (0-100)"),
        ratings=_("ratings"),
        churn_title=_("Churn and retention"),
        churn_rate=_("churn rate"),
        retention_rate=_("retention rate"),
        lost_forgotten=_("asked to be forgotten"),
        lost_blocked=_("blocked the bot"),
        lost_quiet=_("went quiet"),
        lost_ended=_("ended by us"),
        cohort_title=_("Monthly cohorts: share still writing"),
        months_since=_("months since joining"),
        no_data=_("nothing measured in this period"),
    )


async def charts_of(report: Report) -> list[Chart]:
    """The report's charts, drawn in a worker thread."""
    text = chart_text()
    return await asyncio.to_thread(render_charts, report, text)


def report_period(arguments: str, today: date, timezone: str) -> Period:
    """The period /report's argument names (this week when none)."""
    kind = PERIOD_WORDS.get(arguments.strip().lower())
    if kind is None:
        raise Answer(
            _("/report [today|week|month]: the measures of today, this week (the default) "
              "or this month, with charts.")
        )  # fmt: skip
    return Period.of(kind, today, timezone)


async def show_report(request: StaffRequest) -> Reply:
    """/report [today|week|month]: the period's measures, then its charts (supervisors,
    admins)."""
    services = request.services
    now = services.clock.now()
    today = now.astimezone(ZoneInfo(services.timezone)).date()
    period = report_period(request.arguments, today, services.timezone)
    report = await build_report(request.session, period, now, services.reports)
    text = chart_text()  # in the reader's language, which is set now

    async def send_charts(context: CareContext, sent: Message | None) -> None:
        if sent is None:
            return
        for chart in await asyncio.to_thread(render_charts, report, text):
            await context.bot.send_photo(sent.chat_id, chart.png, filename=f"{chart.name}.png")

    return Reply(summary_text(report), after=send_charts)


async def push_weekly_report(context: CareContext) -> None:
    """Job: once the weekly report is due, owe its summary and charts to every
    supervisor (once a week, whatever restarts), in one transaction: the owed sender
    delivers them with retries (``bot.owed_jobs``)."""
    services = context.services
    if services.weekly_report is None:
        return
    now = services.clock.now()
    week = due_week(services.weekly_report, now, services.timezone)
    if week is None:
        return
    with use_locale(services.default_locale):
        async with services.sessionmaker.begin() as session:
            if not await locks.try_hold(session, locks.REPORTS):
                return
            if await already_owed(session, week):
                return
            chats = [member.telegram_user_id for member in await recipients(session)]
            if not chats and services.staff_chat_id is not None:
                chats = [services.staff_chat_id]  # nobody is a supervisor: the staff group
            if not chats:
                return  # nobody to tell: not worth a report (and its charts) every minute
            report = await build_report(session, week, now, services.reports)
            charts = [chart.png for chart in await charts_of(report)]
            owe_weekly_report(session, week, chats, summary_text(report), charts, now)
        log.info("weekly report of %s owed to %d chat(s)", week.first.isoformat(), len(chats))


def report_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """/report, in the staff group and private chats (supervisors and admins)."""
    return [
        staff_command(
            "report", show_report, least=StaffRole.SUPERVISOR,
            refusal=N_("Only supervisors and admins can see this."),
            where=staff_places(staff_chat_id),
        )
    ]  # fmt: skip
