"""bench/floor.py still runs end to end: a few calls, correctness only, never speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.floor import main


@pytest.mark.timeout(120)
def test_the_floor_adds_the_cheapest_pieces_to_the_echo_bots_cost(tmp_path: Path) -> None:
    out = tmp_path / "floor.json"

    report = main(["--calls", "20", "--rounds", "1", "--statements", "10", "--commits", "4",
                   "--echo-ms", "5", "--json", str(out)])  # fmt: skip

    assert json.loads(out.read_text()) == report
    figures = report["figures_us"]
    assert len(figures) == 8 and all(value > 0 for value in figures.values())
    statement = figures["prebuilt Core SELECT (within a transaction)"]
    expected = (10 * statement + 4 * figures["empty transaction"]) / 1000
    assert report["database_floor_ms"] == pytest.approx(expected)
    assert report["floor_ms"] == pytest.approx(5 + expected)
