"""Reports: the measures a care team is judged by (及时率, satisfaction, churn,
retention), for a period, overall and by category, priority, staff member and channel.

Every figure is computed in the database (aggregates, or one sorted column for
percentiles); docs/reports.md defines each one.
"""

from care.reports.period import Period, PeriodKind
from care.reports.report import CHANNELS, Dimension, Report, ReportSettings, View, build_report

__all__ = [
    "CHANNELS",
    "Dimension",
    "Period",
    "PeriodKind",
    "Report",
    "ReportSettings",
    "View",
    "build_report",
]
