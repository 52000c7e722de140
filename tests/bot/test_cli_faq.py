"""``carebot faq``: import (all or nothing, --dry-run), export, list and match."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot import cli

Carebot = Callable[..., Result]

KB = """
[[entry]]
id = "refund-timing"
[entry.zh_CN]
questions = ["退款多久到账？"]
answer = "一般1–3个工作日原路退回。"
[entry.en]
questions = ["How long does a refund take?"]
answer = "Usually 1-3 business days, to the original payment method."

[[entry]]
id = "invoice"
[entry.en]
questions = ["Can I get an invoice for my order?"]
answer = "Yes, under My Orders."
"""


@pytest.fixture
def carebot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Carebot:
    for name in list(os.environ):
        if name.startswith("CAREBOT_") and not name.startswith("CAREBOT_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Result:
        environment = {
            "CAREBOT_CONFIG": str(tmp_path / "absent.toml"),
            "CAREBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'faq.db'}",
            "COLUMNS": "200",
        }
        return CliRunner().invoke(cli.app, ["faq", *args], env=environment)

    return run


def test_import_dry_run_import_list_export_and_match(carebot: Carebot, tmp_path: Path) -> None:
    kb = tmp_path / "kb.toml"
    kb.write_text(KB, encoding="utf-8")

    dry = carebot("import", str(kb), "--dry-run")
    assert dry.exit_code == 0 and "Would import: 2 new" in dry.output
    assert "0 entries" in carebot("list").output
    assert "Imported: 2 new" in carebot("import", str(kb)).output
    assert "0 new, 0 updated, 2 unchanged" in carebot("import", str(kb)).output
    listed = carebot("list").output
    assert "refund-timing" in listed and "2 entries" in listed
    exported = tmp_path / "out.toml"
    carebot("export", "-o", str(exported))
    assert "refund-timing" in exported.read_text(encoding="utf-8")

    matched = carebot("match", "退款多久到帳？", "--json")
    answer = json.loads(matched.stdout.strip().splitlines()[-1])
    assert answer["decision"] == "answer" and answer["id"] == "refund-timing"
    assert set(answer) == {"q", "decision", "id", "score", "candidates"}

    batch = tmp_path / "questions.txt"
    batch.write_text("How long does a refund take?\n今天天气真好\n", encoding="utf-8")
    lines = [
        json.loads(line)
        for line in carebot("match", "--batch", str(batch), "--json").stdout.splitlines()
        if line.startswith("{")
    ]
    assert [(line["decision"], line["id"]) for line in lines] == [
        ("answer", "refund-timing"),
        ("handoff", None),
    ]


def test_a_bad_file_imports_nothing_and_names_each_problem(
    carebot: Carebot, tmp_path: Path
) -> None:
    kb = tmp_path / "kb.toml"
    bad = KB.replace('answer = "Yes, under My Orders."', "") + KB.split("[[entry]]")[1].join(
        ["[[entry]]", ""]
    )
    kb.write_text(bad, encoding="utf-8")

    result = carebot("import", str(kb))

    assert result.exit_code == 1
    assert "invoice: no answer (en)" in result.output
    assert "refund-timing: the id is used more than once" in result.output
    assert "Nothing imported" in result.output
    assert "0 entries" in carebot("list").output
