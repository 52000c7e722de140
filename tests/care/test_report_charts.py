"""The report's charts are real pictures: the right size, not blank, and Chinese drawn
with a CJK font (no missing glyphs, which would show as boxes)."""

from __future__ import annotations

import io
import warnings
from datetime import UTC, date, datetime

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from care.reports import Period, PeriodKind, ReportSettings, build_report
from care.reports.charts import DPI, SIZE_INCHES, ChartText, cjk_font, render_charts
from tests.care.test_reports import NOW, SEPTEMBER, _history

CHINESE = ChartText(
    volume_title="每日消息与投诉",
    messages_in="收到的消息",
    frt_title="首次响应时间",
    csat_title="每日满意度",
    churn_title="客户流失率与保持率",
    cohort_title="按月客户群保持率",
    no_data="本期无数据",
)


def _looks_drawn(png: bytes) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == (int(SIZE_INCHES[0] * DPI), int(SIZE_INCHES[1] * DPI))
    colours = image.getcolors(maxcolors=1 << 24) or []
    total = image.size[0] * image.size[1]
    white = sum(count for count, colour in colours if colour == (255, 255, 255))
    assert (total - white) / total > 0.02, "the chart is (nearly) blank"
    assert len(colours) > 50, "the chart has hardly any colours: nothing was drawn"


async def test_four_charts_of_a_month_are_drawn_in_chinese_without_missing_glyphs(
    session: AsyncSession,
) -> None:
    await _history(session)
    report = await build_report(session, SEPTEMBER, NOW, ReportSettings())
    assert cjk_font() is not None, "install fonts-noto-cjk (make browser-deps)"

    with warnings.catch_warnings():
        # matplotlib warns "Glyph … missing from font(s)" for every box it draws.
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing.*")
        charts = render_charts(report, CHINESE)

    assert [chart.name for chart in charts] == ["volume", "first_response", "csat", "churn"]
    for chart in charts:
        assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")
        _looks_drawn(chart.png)


async def test_an_empty_period_still_gets_its_charts(session: AsyncSession) -> None:
    empty = Period.of(PeriodKind.DAY, date(2025, 1, 1), "Asia/Shanghai")
    report = await build_report(
        session, empty, datetime(2025, 1, 2, tzinfo=UTC), ReportSettings(), views=()
    )

    charts = render_charts(report, ChartText())

    assert len(charts) == 4
    for chart in charts:
        _looks_drawn(chart.png)
