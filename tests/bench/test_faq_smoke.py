"""bench/faq.py still runs end to end: tiny scale, correctness only, never speed.

It runs on the small knowledge base and questions written for the tests
(tests/data/faq/), so it runs on a fresh clone; the run on the shared labelled set only
where ../shared is beside the repository (its figures against the targets are in
docs/benchmarks.md: targets are measured, not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.faq import SHARED, main

DATA = Path(__file__).resolve().parents[1] / "data" / "faq"


def test_faq_benchmark_reports_quality_per_language_and_latency(tmp_path: Path) -> None:
    out = tmp_path / "faq.json"

    report = main(
        [
            *("--kb", str(DATA / "kb.toml"), "--questions", str(DATA / "questions.jsonl")),
            *("--quick", "--entries", "60", "--rounds", "1", "--json", str(out)),
        ]
    )

    assert json.loads(out.read_text()).keys() >= {"cross_validated", "baseline", "latency"}
    held_out = report["cross_validated"]["held_out"]
    assert set(held_out) == {"zh_CN", "en"}
    assert sum(part["questions"] for part in held_out.values()) == report["questions"] == 20
    assert report["latency"]["entries"] == 60
    assert report["latency"]["carebot"]["wall"]["calls"] == 20
    # The teaching loop is measured (the small set has no misses to teach: see below).
    assert set(report["taught"]["hash_split"]) == {"zh_CN", "en"}


@pytest.mark.skipif(not (SHARED / "kb.toml").exists(), reason="no shared FAQ data beside it")
def test_on_the_shared_set_it_reports_per_language(tmp_path: Path) -> None:
    report = main(["--quick", "--entries", "120", "--rounds", "1"])

    assert report["questions"] == 80
    assert set(report["cross_validated"]["held_out"]) == {"zh_CN", "en"}
    assert report["latency"]["entries"] == 120
    assert report["latency"]["carebot"]["wall"]["calls"] == 80
    reasked = report["taught"]["reasked_hash_split"]
    assert sum(part["misses_before"] for part in reasked.values()) > 0
    for part in reasked.values():
        assert part["misses_fixed_answered"] == part["misses_before"] == part["taught"]
