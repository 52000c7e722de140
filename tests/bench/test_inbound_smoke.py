"""bench/inbound.py still runs end to end, the conversation mix included: tiny scale,
correctness only, never speed."""

from __future__ import annotations

import json
from pathlib import Path

from bench.inbound import FLOOD_OTHER_TEXTS, SCRIPT_STEPS, main


def test_inbound_benchmark_runs_both_bots_and_keeps_order(tmp_path: Path) -> None:
    out = tmp_path / "inbound.json"

    report = main(
        [
            *("--users", "3", "--rate", "10", "--seconds", "2", "--flood", "20"),
            *("--conversations", "--json", str(out)),
        ]
    )

    assert json.loads(out.read_text())["bots"].keys() == {"echo", "carebot"}
    for bot in ("echo", "carebot"):
        run = report["bots"][bot]
        assert run["throughput"]["updates"] == 3 * SCRIPT_STEPS
        assert run["throughput"]["per_second"] > 0
        assert run["throughput"]["missing"] == 0
        assert run["latency"]["updates"] == 20
        assert run["latency"]["missing"] == 0
        assert run["latency"]["p50_ms"] > 0
        assert run["order"]["kept"], run["order"]["problems"]
        assert run["order"]["chats"] == 3
        assert run["throughput"]["api_errors"] == run["latency"]["api_errors"] == 0
        assert run["errors_logged"] == 0
        flood = run["flood"]
        assert (flood["flood"], flood["others"], flood["missing"], flood["flood_missing"]) == (
            20,
            2,
            0,
            0,
        )
        assert flood["updates"] == 2 * FLOOD_OTHER_TEXTS and flood["p50_ms"] > 0
    assert report["ratio"] > 0
    mix = report["conversations"]
    assert mix["questions"] + mix["answers"] == 20
    assert mix["questions"] >= mix["answers"] > 0
    assert mix["to_staff_missing"] == mix["to_customer_missing"] == 0
    assert mix["to_staff_p50_ms"] > 0 and mix["to_customer_p50_ms"] > 0
    # One topic per customer who asked; the only refused calls are edits of a card to
    # what it already says.
    assert 0 < mix["topics"] <= mix["customers"]
    assert all(kind.startswith("editMessageText") for kind in mix["api_error_kinds"])
    assert mix["errors_logged"] == 0
