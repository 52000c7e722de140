"""bench/delivery.py still runs end to end: tiny scale, correctness only, never speed."""

from __future__ import annotations

import json
from pathlib import Path

from bench.delivery import main


def test_delivery_benchmark_sends_everything_once_within_the_limits(tmp_path: Path) -> None:
    out = tmp_path / "delivery.json"

    report = main(["--recipients", "40", "--busy", "3", "--raw-rounds", "2", "--json", str(out)])

    assert json.loads(out.read_text()).keys() >= {"limited", "raw"}
    limited = report["limited"]
    assert limited["messages"] == 40 + 3 * 4
    assert limited["delivered"] == limited["calls"] == limited["messages"]
    assert limited["http_429"] == limited["other_errors"] == 0
    assert limited["per_chat_kept"]
    assert limited["states"] == {"sent": limited["messages"]}
    raw = report["raw"]
    assert raw["carebot"]["delivered"] == raw["carebot"]["messages"] == 80
    assert raw["carebot"]["errors"] == 0
    assert raw["carebot"]["unpaced"]["delivered"] == 80
    assert raw["carebot"]["unpaced"]["errors"] == 0
    assert raw["httpx"]["delivered"] == raw["httpx"]["calls"] == 80
    assert raw["httpx"]["failures"] == 0
    assert raw["carebot"]["rate_per_second"] > 0 and raw["httpx"]["rate_per_second"] > 0
