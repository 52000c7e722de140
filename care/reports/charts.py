"""A report's charts as PNG images (matplotlib, no display needed).

Four charts: messages, conversations and complaints per day with the share of
complaints acknowledged on time; the first-response distribution of complaints and
conversations; CSAT day by day; churn and retention with the monthly
cohort table. Their words come in a :class:`ChartText` (the caller translates it), so
this module stays free of any locale.

Chinese needs a CJK font: :func:`cjk_font` finds one on the system (Noto Sans CJK, as
``make browser-deps`` installs, or another known family). Without one, Chinese would be
drawn as boxes; :func:`cjk_font` then returns None, and the caller draws the charts in
English instead (``handlers.reports.chart_text`` does, and logs why once).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from care.reports.complaints import FRT_BANDS
from care.reports.report import Report

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.ticker import Locator

# matplotlib is imported when a chart is first drawn, not with this module: the bot
# imports it at start-up, and most processes never draw.

__all__ = ["CJK_FAMILIES", "Chart", "ChartText", "cjk_font", "render_charts"]

# Families that draw Chinese, in order of preference.
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Noto Sans CJK JP",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)
# Parts of the file names of the fonts above, to find one matplotlib's cache predates.
CJK_FILE_HINTS = ("cjk", "wqy", "droidsansfallback", "msyh", "pingfang", "simhei")
LATIN_FAMILY = "DejaVu Sans"  # matplotlib's own
SIZE_INCHES = (8.0, 4.5)
DPI = 120  # 960 × 540 pixels: sharp in Telegram, well under its 10 MB photo limit


@cache
def cjk_font() -> str | None:
    """The first of :data:`CJK_FAMILIES` installed on this system, or None."""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    found = next((family for family in CJK_FAMILIES if family in installed), None)
    if found is None:
        # matplotlib keeps its list of fonts in a cache made the first time it ran: a
        # font installed afterwards (fonts-noto-cjk) is not in it. Look on disk once.
        for path in font_manager.findSystemFonts():
            if any(hint in path.lower() for hint in CJK_FILE_HINTS):
                with contextlib.suppress(Exception):  # a file matplotlib cannot read
                    font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
        found = next((family for family in CJK_FAMILIES if family in installed), None)
    return found


@dataclass(frozen=True)
class ChartText:
    """Every word a chart shows (English unless the caller translates)."""

    volume_title: str = "Messages, conversations and complaints per day"
    messages_in: str = "messages in"
    complaints: str = "complaints"
    conversations: str = "conversations"
    ack_on_time: str = "acknowledged on time (%)"
    frt_title: str = "First response time"
    frt_axis: str = "count"
    csat_title: str = "Satisfaction (CSAT) per day"
    csat_axis: str = "CSAT (0-100)"
    ratings: str = "ratings"
    churn_title: str = "Churn and retention"
    churn_rate: str = "churn rate"
    retention_rate: str = "retention rate"
    lost_forgotten: str = "asked to be forgotten"
    lost_blocked: str = "blocked the bot"
    lost_quiet: str = "went quiet"
    lost_ended: str = "ended by us"
    cohort_title: str = "Monthly cohorts: share still writing"
    months_since: str = "months since joining"
    no_data: str = "nothing measured in this period"


@dataclass(frozen=True)
class Chart:
    """One chart: a short name (for file names) and its PNG bytes."""

    name: str
    png: bytes


def render_charts(report: Report, text: ChartText, cjk: bool = True) -> list[Chart]:
    """The report's four charts as PNGs. ``cjk``: use the CJK font when there is one
    (the words may be Chinese)."""
    families = [LATIN_FAMILY]
    font = cjk_font() if cjk else None
    if font is not None:
        families = [font, LATIN_FAMILY]
    return [
        Chart("volume", _png(_volume(report, text), families)),
        Chart("first_response", _png(_first_response(report, text), families)),
        Chart("csat", _png(_csat(report, text), families)),
        Chart("churn", _png(_churn(report, text), families)),
    ]


def _figure() -> Figure:
    # A Figure of its own, never pyplot: no global state, safe in a worker thread.
    from matplotlib.figure import Figure

    return Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")


def _png(figure: Figure, families: Sequence[str]) -> bytes:
    for text in figure.findobj(lambda artist: hasattr(artist, "set_fontfamily")):
        text.set_fontfamily(list(families))  # type: ignore[attr-defined]
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _day_labels(report: Report) -> list[str]:
    return [day.day.strftime("%m-%d") for day in report.days]


def _volume(report: Report, text: ChartText) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    labels = _day_labels(report)
    positions = range(len(labels))
    axes.bar(
        [p - 0.27 for p in positions], [d.contacts_in for d in report.days], 0.27,
        label=text.messages_in, color="#4C72B0",
    )  # fmt: skip
    axes.bar(
        list(positions), [d.conversations for d in report.days], 0.27,
        label=text.conversations, color="#8172B3",
    )  # fmt: skip
    axes.bar(
        [p + 0.27 for p in positions], [d.complaints for d in report.days], 0.27,
        label=text.complaints, color="#DD8452",
    )  # fmt: skip
    axes.set_xticks(list(positions), labels, rotation=60 if len(labels) > 10 else 0, fontsize=8)
    axes.yaxis.set_major_locator(_integers())
    rates = axes.twinx()
    measured = [(p, d.ack_on_time_rate) for p, d in zip(positions, report.days, strict=True)]
    points = [(p, r * 100) for p, r in measured if r is not None]
    if points:
        rates.plot(
            [p for p, _ in points], [r for _, r in points], "o-", color="#55A868",
            label=text.ack_on_time,
        )  # fmt: skip
    rates.set_ylim(0, 105)
    rates.set_ylabel(text.ack_on_time)
    axes.set_title(text.volume_title)
    handles, names = axes.get_legend_handles_labels()
    more_handles, more_names = rates.get_legend_handles_labels()
    axes.legend(handles + more_handles, names + more_names, loc="upper left", fontsize=8)
    return figure


def _first_response(report: Report, text: ChartText) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    bands = [label for label, _ in FRT_BANDS]
    counts = [report.overall.frt_distribution[band] for band in bands]
    talks = [report.conversations.frt_distribution[band] for band in bands]
    positions = range(len(bands))
    bars = axes.bar([p - 0.2 for p in positions], counts, 0.4, color="#4C72B0",
                    label=text.complaints)  # fmt: skip
    axes.bar_label(bars)
    more = axes.bar([p + 0.2 for p in positions], talks, 0.4, color="#8172B3",
                    label=text.conversations)  # fmt: skip
    axes.bar_label(more)
    axes.set_xticks(list(positions), bands)
    axes.yaxis.set_major_locator(_integers())
    axes.set_ylabel(text.frt_axis)
    axes.set_title(text.frt_title)
    axes.legend(loc="upper right", fontsize=8)
    if not any(counts) and not any(talks):
        _nothing(axes, text)
    return figure


def _csat(report: Report, text: ChartText) -> Figure:
    figure = _figure()
    axes = figure.add_subplot()
    labels = _day_labels(report)
    counts = axes.twinx()
    counts.bar(range(len(labels)), [d.ratings for d in report.days], color="#CCCCCC",
               label=text.ratings)  # fmt: skip
    counts.set_ylabel(text.ratings)
    axes.set_zorder(counts.get_zorder() + 1)
    axes.patch.set_visible(False)
    points = [(p, d.csat_score) for p, d in enumerate(report.days) if d.csat_score is not None]
    if points:
        axes.plot([p for p, _ in points], [s for _, s in points], "o-", color="#C44E52",
                  label=text.csat_axis)  # fmt: skip
    else:
        _nothing(axes, text)
    axes.set_ylim(0, 105)
    axes.set_ylabel(text.csat_axis)
    axes.set_xticks(range(len(labels)), labels, rotation=60 if len(labels) > 10 else 0, fontsize=8)
    axes.set_title(text.csat_title)
    return figure


def _churn(report: Report, text: ChartText) -> Figure:
    figure = _figure()
    left, right = figure.subplots(1, 2, width_ratios=[1, 1.4])
    churn = report.churn
    kinds = [text.lost_forgotten, text.lost_blocked, text.lost_quiet, text.lost_ended]
    bars = left.bar(
        kinds,
        [churn.forgotten, churn.blocked, churn.quiet, churn.passive],
        color=["#C44E52"] * 3 + ["#8C8C8C"],  # the company's act apart from the customers'
    )
    left.bar_label(bars)
    left.yaxis.set_major_locator(_integers())
    left.tick_params(axis="x", labelsize=8, rotation=15)
    if churn.churn_rate is None:
        left.set_title(text.churn_title)
        _nothing(left, text)
    else:
        left.set_title(
            f"{text.churn_title}\n{text.churn_rate} {churn.churn_rate:.1%} · "
            f"{text.retention_rate} {churn.retention_rate or 0:.1%}",
            fontsize=10,
        )
    table = [
        [value if value is not None else float("nan") for value in cohort.retained]
        + [float("nan")] * (len(report.cohorts) - len(cohort.retained))
        for cohort in report.cohorts
    ]
    if table:
        right.imshow(table, cmap="Greens", vmin=0, vmax=1, aspect="auto")
        for row, values in enumerate(table):
            for column, value in enumerate(values):
                if value == value:  # not NaN
                    shade = "white" if value > 0.6 else "black"  # readable on dark cells
                    right.text(
                        column, row, f"{value:.0%}", ha="center", va="center", fontsize=7,
                        color=shade,
                    )  # fmt: skip
        right.set_yticks(
            range(len(report.cohorts)),
            [f"{c.month:%Y-%m} ({c.customers})" for c in report.cohorts],
            fontsize=8,
        )
        right.set_xticks(range(len(report.cohorts)), [str(n) for n in range(len(report.cohorts))])
        right.set_xlabel(text.months_since)
    right.set_title(text.cohort_title, fontsize=10)
    return figure


def _integers() -> Locator:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _nothing(axes: object, text: ChartText) -> None:
    axes.text(  # type: ignore[attr-defined]
        0.5, 0.5, text.no_data, ha="center", va="center",
        transform=axes.transAxes, color="#888888",  # type: ignore[attr-defined]
    )  # fmt: skip
