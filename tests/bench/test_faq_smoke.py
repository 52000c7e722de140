"""bench/faq.py still runs end to end: tiny scale, correctness only, never speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.faq import SHARED, main


@pytest.mark.skipif(not (SHARED / "kb.toml").exists(), reason="no shared FAQ data beside it")
def test_faq_benchmark_reports_quality_per_language_and_latency(tmp_path: Path) -> None:
    out = tmp_path / "faq.json"

    report = main(["--quick", "--entries", "120", "--rounds", "1", "--json", str(out)])

    assert json.loads(out.read_text()).keys() >= {"cross_validated", "baseline", "latency"}
    held_out = report["cross_validated"]["held_out"]
    assert set(held_out) == {"zh_CN", "en"}
    assert sum(part["questions"] for part in held_out.values()) == report["questions"] == 80
    assert report["latency"]["entries"] == 120
    assert report["latency"]["carebot"]["wall"]["calls"] == 80
