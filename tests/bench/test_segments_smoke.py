"""bench/segments.py still runs end to end: tiny scale, correctness only, never speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.segments import main
from tests.conftest import TEST_DB


@pytest.mark.timeout(300)
def test_segments_benchmark_classifies_everyone_and_changes_nothing_the_second_time(
    tmp_path: Path,
) -> None:
    out = tmp_path / "segments.json"

    report = main(["--customers", "500", "--quiet", "--database", TEST_DB, "--json", str(out)])

    assert json.loads(out.read_text())["classified"] == 500
    assert report["counts"]["contacts"] == 5000
    assert (report["first_changed"], report["again_changed"]) == (500, 0)
    # Every customer bought once: nobody stays potential.
    assert "potential" not in report["distribution"]["customer_type"]
    assert sum(report["distribution"]["churn_risk"].values()) == 500
    assert report["baseline_s"] > 0
