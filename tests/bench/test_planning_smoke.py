"""bench/planning.py still runs end to end: tiny scale, correctness only, never speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.planning import main
from tests.conftest import TEST_DB


@pytest.mark.timeout(300)
def test_planning_benchmark_plans_the_same_rows_as_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "planning.json"

    report = main(
        ["--customers", "3000", "--runs", "1", "--quiet", "--database", TEST_DB,
         "--dir", str(tmp_path), "--json", str(out)]
    )  # fmt: skip

    assert json.loads(out.read_text())["planned"] == report["planned"]
    kinds = [result["kind"] for result in report["results"]]
    assert kinds == ["idle", "approve", "baseline", "replan", "traced"]
    # 90 % consent, less 2 % blocked and 1 % forgotten: about 2,700 of 3,000.
    assert 2_500 < report["planned"] < 2_900
    for result in report["results"][1:]:
        assert result["rows"] == report["planned"], result["kind"]
        assert result["max_rss_mb"] > 0
    # Tokyo, Shanghai (and no zone), Berlin, New York: 09:00 local on 2026-09-25.
    assert [due for due, _count in report["results"][1]["outbox_digest"]] == [
        "2026-09-25 00:00:00", "2026-09-25 01:00:00", "2026-09-25 07:00:00",
        "2026-09-25 13:00:00",
    ]  # fmt: skip
    assert report["summary"]["target_seconds_met"] and report["summary"]["target_memory_met"]
