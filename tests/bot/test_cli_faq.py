"""``carebot faq``: import (all or nothing, --dry-run), export, list and match."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot import cli
from bot.db import make_engine, make_sessionmaker
from care import faq
from care.customers import TelegramIdentity, get_or_create_customer
from care.faq_models import FaqEventKind

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


def test_misses_listed_then_taught_with_phrase(carebot: Carebot, tmp_path: Path) -> None:
    kb = tmp_path / "kb.toml"
    kb.write_text(KB, encoding="utf-8")
    assert carebot("import", str(kb)).exit_code == 0
    assert "0 wording(s)" in carebot("misses").output

    async def asked() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'faq.db'}")
        now = datetime.now(UTC)
        async with make_sessionmaker(engine).begin() as session:
            customer, _created = await get_or_create_customer(
                session, TelegramIdentity(user_id=7, chat_id=7, first_name="Anna"), now
            )
            customer.language = "en"
            await faq.record_event(
                session, FaqEventKind.HANDED_OFF, now, customer_id=customer.id,
                question="Where is my receipt?",
            )  # fmt: skip
            await faq.record_event(
                session, FaqEventKind.ASKED_PERSON, now, customer_id=customer.id,
                entry_id="refund-timing", question="when is the money back",
            )  # fmt: skip
        await engine.dispose()

    asyncio.run(asked())
    listed = [
        json.loads(line)
        for line in carebot("misses", "--json").stdout.splitlines()
        if line.startswith("{")
    ]
    assert [(m["q"], m["locale"], m["reasons"], m["given"]) for m in listed] == [
        ("when is the money back", "en", ["not_helpful"], ["refund-timing"]),
        ("Where is my receipt?", "en", ["no_match"], []),
    ]
    assert all(m["count"] == 1 and m["candidates"] for m in listed)
    table = carebot("misses", "--days", "7").output
    assert "Where is my receipt?" in table and "2 wording(s) in the last 7 day(s)" in table

    # Refused: an unknown entry, a language the entry lacks, a phrasing already there.
    refused = carebot("phrase", "nope", "Where is my receipt?")
    assert refused.exit_code != 0 and "there is no entry nope" in refused.output
    refused = carebot("phrase", "invoice", "发票在哪里", "--locale", "zh_CN")
    assert refused.exit_code != 0 and "entry invoice has no zh_CN text (its languages: en)" in (
        refused.output
    )
    refused = carebot("phrase", "invoice", "can i get an INVOICE for my order")
    assert refused.exit_code != 0 and "entry invoice has this phrasing already" in refused.output

    done = carebot("phrase", "invoice", "Where is my receipt?")
    assert done.exit_code == 0, done.output
    assert "Added to invoice (en): Where is my receipt?" in done.output
    matched = json.loads(carebot("match", "where is my receipt", "--json").stdout.splitlines()[-1])
    assert (matched["decision"], matched["id"]) == ("answer", "invoice")
    after = carebot("misses").output
    assert "Where is my receipt?" not in after and "1 more taught since" in after
