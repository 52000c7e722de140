"""bench/inbound.py --webhook still runs end to end: polling and two webhook instances
behind the balancer, tiny scale, correctness only, never speed. PostgreSQL only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.inbound import SCRIPT_STEPS, main
from tests.conftest import TEST_DB


@pytest.mark.timeout(600)
def test_webhook_benchmark_measures_polling_and_two_instances(tmp_path: Path) -> None:
    if TEST_DB != "postgresql":
        pytest.skip("several instances share a database on PostgreSQL only")
    server = os.environ.get("CAREBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    out = tmp_path / "webhook.json"

    report = main(
        [
            *("--webhook", "--instances", "2", "--database-server", server),
            *("--users", "3", "--rate", "10", "--seconds", "2", "--json", str(out)),
        ]
    )

    assert json.loads(out.read_text())["configurations"].keys() == {"polling", "webhook ×2"}
    for name, run in report["configurations"].items():
        assert run["throughput"]["updates"] == 3 * SCRIPT_STEPS, name
        assert run["throughput"]["missing"] == run["latency"]["missing"] == 0, name
        assert run["throughput"]["per_second"] > 0 and run["latency"]["p50_ms"] >= 0, name
        assert run["throughput"]["bot_ms_per_update"] > 0, name
        assert run["throughput"]["api_errors"] == run["latency"]["api_errors"] == 0, name
        assert run["errors_logged"] == 0, name
