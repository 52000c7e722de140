"""``carebot report``: the measures of a period as a table, JSON, CSV, a workbook or
charts (docs/reports.md defines every figure and JSON key)."""

from __future__ import annotations

import csv
import enum
import io
import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from openpyxl import Workbook
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import app, cli_settings, clock, fail, in_transaction, out
from care.reports import Dimension, Period, PeriodKind, Report, build_report
from care.reports.charts import ChartText, render_charts
from handlers.i18n import use_locale


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    PNG = "png"


class By(enum.StrEnum):
    CATEGORY = "category"
    STAFF = "staff"
    PRIORITY = "priority"
    CHANNEL = "channel"


class PeriodChoice(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# The figures the table shows, in order (every one is in the JSON too).
SUMMARY = (
    "customers_served", "new_customers", "customers_contacting", "contacts_in",
    "contacts_out", "complaints", "complaint_rate", "ack_on_time_rate",
    "acknowledged_on_time", "ack_deadlines", "ack_breaches", "resolve_on_time_rate",
    "resolved_on_time", "resolve_deadlines", "resolve_breaches", "first_response_median_s",
    "first_response_p90_s", "first_response_mean_s", "first_response_business_median_s",
    "resolution_median_s", "resolution_p90_s", "resolution_mean_s",
    "resolution_business_median_s", "ratings", "csat_score", "rating_average",
    "surveys_sent", "rating_response_rate", "low_ratings", "low_ratings_reopened",
    "low_ratings_recovered", "customers_lost", "churned_forgotten", "churned_blocked",
    "churned_quiet", "churn_rate", "retention_rate", "reopen_rate", "repeat_contact_rate",
    "care_planned", "care_sent", "care_skipped", "care_failed", "care_unconfirmed",
    "care_replied", "care_reply_rate",
)  # fmt: skip
# The columns of a breakdown (by category, staff, priority, channel).
VIEW_COLUMNS = (
    "complaints", "conversations", "ack_on_time_rate", "ack_breaches", "resolve_on_time_rate",
    "resolve_breaches", "first_response_median_s", "first_response_p90_s",
    "resolution_median_s", "resolution_p90_s", "ratings", "csat_score", "rating_average",
    "rating_response_rate", "low_ratings", "reopen_rate",
)  # fmt: skip
# The columns of the conversation figures (overall and by staff member).
CONVERSATION_COLUMNS = (
    "conversations", "ack_on_time_rate", "acknowledged_on_time", "ack_deadlines",
    "ack_breaches", "resolve_on_time_rate", "resolved_on_time", "resolve_deadlines",
    "resolve_breaches", "first_response_median_s", "first_response_p90_s",
    "first_response_mean_s", "resolution_median_s", "resolution_p90_s", "resolution_mean_s",
    "closed", "staff_answers",
)  # fmt: skip


@app.command("report")
def report_command(
    first: Annotated[
        str | None, typer.Option("--from", metavar="YYYY-MM-DD", help="First day (local).")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", metavar="YYYY-MM-DD", help="Last day, included.")
    ] = None,
    period: Annotated[
        PeriodChoice | None,
        typer.Option("--period", help="The day, week (Monday to Sunday) or month holding today."),
    ] = None,
    by: Annotated[
        By | None, typer.Option("--by", help="Break the complaint figures down by this.")
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="What to write.")
    ] = Format.TABLE,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="Where to write (stdout when not given; required for xlsx; for png, the "
            "prefix of the four chart files).",
        ),
    ] = None,
    locale: Annotated[
        str, typer.Option("--locale", help="The language of the charts (png): en or zh_CN.")
    ] = "en",
) -> None:
    """The measures of a period (this month unless told): volumes, timeliness (及时率),
    response and resolution times, satisfaction, churn and retention, care; docs/reports.md
    defines each."""
    settings = cli_settings()
    now = clock().now()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    chosen = _period(first, last, period, today, settings.timezone)
    if output_format is Format.XLSX and output is None:
        fail("--format xlsx writes a file: give -o FILE", code=2)
    if locale not in ("en", "zh_CN"):
        fail("--locale must be en or zh_CN", code=2)
    views = [Dimension(by.value)] if by else list(Dimension)

    async def work(session: AsyncSession) -> Report:
        return await build_report(session, chosen, now, settings.reports(), views)

    report = in_transaction(settings, work, commit=False)
    if output_format is Format.JSON:
        _write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n", output)
    elif output_format is Format.CSV:
        _write_text(_csv(report, by), output)
    elif output_format is Format.XLSX:
        assert output is not None
        _workbook(report).save(output)
        out().print(f"Wrote {output}", markup=False)
    elif output_format is Format.PNG:
        _charts(report, output or Path("report"), locale)
    else:
        _tables(report, by)


def _period(
    first: str | None, last: str | None, kind: PeriodChoice | None, today: date, timezone: str
) -> Period:
    if first or last:
        if kind is not None:
            fail("give either --from/--to or --period, not both", code=2)
        try:
            start = date.fromisoformat(first) if first else None
            end = date.fromisoformat(last) if last else today
        except ValueError:
            fail("--from and --to are days: YYYY-MM-DD", code=2)
        if start is None:
            fail("--to needs --from", code=2)
        if end < start:
            fail("--to is before --from", code=2)
        return Period.custom(start, end, timezone)
    return Period.of(PeriodKind((kind or PeriodChoice.MONTH).value), today, timezone)


def _write_text(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        out().print(f"Wrote {output}", markup=False)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _tables(report: Report, by: By | None) -> None:
    figures = report.as_dict()
    period = report.period
    table = Table(title=f"{period.first} – {period.last} ({period.timezone})")
    table.add_column("Figure")
    table.add_column("Value", justify="right")
    for key in SUMMARY:
        table.add_row(key, _cell(figures[key]))
    out().print(table)
    out().print(_conversation_table(report))
    if by is not None:
        out().print(_view_table(report, Dimension(by.value)))


def _conversation_table(report: Report) -> Table:
    """The conversation channel: a column for all conversations, then one per staff
    member (the first response deadline is the "ack" rows')."""
    groups = [("all", report.conversations.as_dict())]
    groups += [(row.key, row.figures) for row in report.conversation_staff]
    table = Table(title="Conversations")
    table.add_column("Figure")
    for key, _ in groups:
        table.add_column(key, justify="right")
    for column in CONVERSATION_COLUMNS:
        table.add_row(column, *(_cell(figures.get(column)) for _, figures in groups))
    return table


def _view_table(report: Report, dimension: Dimension) -> Table:
    view = report.view(dimension)
    table = Table(title=f"By {dimension.value}")
    table.add_column(dimension.value)
    for column in VIEW_COLUMNS:
        table.add_column(column, justify="right")
    for row in view.rows if view else []:
        table.add_row(row.key, *(_cell(row.figures.get(c)) for c in VIEW_COLUMNS))
    return table


def _flat(figures: dict[str, Any]) -> dict[str, Any]:
    """Nested figures (the first-response distribution) as ``name.part`` columns."""
    flat: dict[str, Any] = {}
    for key, value in figures.items():
        if isinstance(value, dict):
            flat.update(
                (f"{key}.{part}", v) for part, v in value.items() if not isinstance(v, list | dict)
            )
        elif not isinstance(value, list):
            flat[key] = value
    return flat


def _csv(report: Report, by: By | None) -> str:
    """One row for the whole period's complaints, one for its conversations, then one per
    group of the --by view (with --by staff, the conversations by staff member too:
    view ``conversation_staff``)."""
    overall = _flat(report.overall.as_dict())
    talks = _flat(report.conversations.as_dict())
    columns = list(overall) + [c for c in talks if c not in overall]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["view", "key", *columns])
    writer.writerow(["all", "", *(overall.get(c) for c in columns)])
    writer.writerow(["conversations", "", *(talks.get(c) for c in columns)])
    view = report.view(Dimension(by.value)) if by else None
    for row in view.rows if view else []:
        flat = _flat(row.figures)
        writer.writerow(
            [view.dimension.value if view else "", row.key, *(flat.get(c) for c in columns)]
        )
    if by is By.STAFF:
        for row in report.conversation_staff:
            flat = _flat(row.figures)
            writer.writerow(["conversation_staff", row.key, *(flat.get(c) for c in columns)])
    return buffer.getvalue()


def _workbook(report: Report) -> Workbook:
    """One sheet per view: the summary, each breakdown, the conversations by staff
    member, the days, cohorts, campaigns."""
    figures = report.as_dict()
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Summary"
    summary.append(["period", f"{report.period.first} – {report.period.last}"])
    summary.append(["timezone", report.period.timezone])
    whole = {k: v for k, v in figures.items() if k not in ("period", "by")}
    for key, value in _flat(whole).items():
        summary.append([key, value])
    for view in report.views:
        sheet = book.create_sheet(f"By {view.dimension.value}")
        columns = list(_flat(view.rows[0].figures)) if view.rows else list(VIEW_COLUMNS)
        sheet.append([view.dimension.value, *columns])
        for row in view.rows:
            flat = _flat(row.figures)
            sheet.append([row.key, *(flat.get(c) for c in columns)])
    talks = book.create_sheet("Conversations")
    conversation_columns = list(_flat(report.conversations.as_dict()))
    talks.append(["staff", *conversation_columns])
    for key, row_figures in [
        ("all", report.conversations.as_dict()),
        *((row.key, row.figures) for row in report.conversation_staff),
    ]:
        flat = _flat(row_figures)
        talks.append([key, *(flat.get(c) for c in conversation_columns)])
    days = book.create_sheet("Days")
    day_columns = list(figures["days"][0]) if figures["days"] else ["date"]
    days.append(day_columns)
    for day in figures["days"]:
        days.append([day[c] for c in day_columns])
    cohorts = book.create_sheet("Cohorts")
    months = len(report.cohorts)
    cohorts.append(["cohort", "customers", *(f"month {n}" for n in range(months))])
    for cohort in report.cohorts:
        cohorts.append([cohort.month.strftime("%Y-%m"), cohort.customers, *cohort.retained])
    campaigns = book.create_sheet("Campaigns")
    campaigns.append(["campaign_id", "name", "planned", "sent", "reach"])
    for reach in report.care.campaigns:
        campaigns.append([reach.campaign_id, reach.name, reach.planned, reach.sent, reach.reach])
    return book


def _charts(report: Report, prefix: Path, locale: str) -> None:
    from handlers.reports import chart_text

    with use_locale(locale):
        text: ChartText = chart_text()
    for chart in render_charts(report, text):
        path = prefix.with_name(f"{prefix.name}-{chart.name}.png")
        path.write_bytes(chart.png)
        out().print(f"Wrote {path}", markup=False)
