"""bench/reports.py still runs end to end: tiny scale, correctness only, never speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.reports import main
from tests.conftest import TEST_DB


@pytest.mark.timeout(300)
def test_reports_benchmark_reports_the_month_its_baseline_counts(tmp_path: Path) -> None:
    out = tmp_path / "reports.json"

    result = main(
        ["--customers", "500", "--contacts", "5000", "--complaints", "300", "--runs", "1",
         "--quiet", "--database", TEST_DB, "--dir", str(tmp_path), "--json", str(out)]
    )  # fmt: skip

    assert json.loads(out.read_text())["complaints"] == result["complaints"]
    contacts, complaints, _ratings, care, conversations, _faq = result["baseline_counts"]
    # The report and the plain query count the same month's rows.
    assert result["complaints"] == complaints > 0
    assert result["contacts"] == contacts > 0
    assert result["figures"]["care_planned"] == care
    assert result["conversations"]["conversations"] == conversations > 0
    assert 0 <= result["figures"]["churn_rate"] <= 1
