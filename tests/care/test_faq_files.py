"""Knowledge-base files: every problem named per entry, nothing half-read."""

from __future__ import annotations

from pathlib import Path

from care.faq_files import (
    MAX_ANSWER,
    EntryData,
    FaqProblem,
    LocaleText,
    read_csv,
    read_file,
    read_toml,
    write_toml,
)

# A small knowledge base written for the tests (a fresh clone has no ../shared).
KB = Path(__file__).resolve().parents[1] / "data" / "faq" / "kb.toml"

GOOD = """
[[entry]]
id = "returns"
tags = ["returns"]
[entry.zh_CN]
questions = ["能退货吗？"]
answer = "可以，七天内。"
[entry.en]
questions = ["Can I return it?"]
answer = "Yes, within 7 days."
"""


def problems(found: list) -> list[tuple[str, FaqProblem]]:
    return [(error.where, error.problem) for error in found]


def test_a_good_file_is_read_with_both_languages() -> None:
    parsed = read_toml(GOOD.encode())

    assert parsed.errors == []
    [entry] = parsed.entries
    assert entry.id == "returns" and entry.tags == ("returns",)
    assert entry.texts["zh_CN"] == LocaleText(("能退货吗？",), "可以，七天内。")
    assert entry.texts["en"].answer == "Yes, within 7 days."


def test_a_knowledge_base_reads_and_round_trips_through_export() -> None:
    parsed = read_toml(KB.read_bytes())

    assert parsed.errors == [] and len(parsed.entries) == 10
    assert {locale for entry in parsed.entries for locale in entry.texts} == {"zh_CN", "en"}
    again = read_toml(write_toml(parsed.entries).encode())
    assert again.errors == [] and again.entries == parsed.entries


def test_every_bad_entry_is_named_with_its_problem() -> None:
    long_answer = "很" * (MAX_ANSWER + 904)  # a 5,000-character answer
    text = f"""
[[entry]]
id = "no-answer"
[entry.en]
questions = ["Where is my parcel?"]

[[entry]]
id = "twice"
[entry.en]
questions = ["a"]
answer = "b"

[[entry]]
id = "twice"
[entry.en]
questions = ["c"]
answer = "d"

[[entry]]
id = "french"
[entry.fr]
questions = ["Où est mon colis ?"]
answer = "Ici."

[[entry]]
id = "too-long"
[entry.zh_CN]
questions = ["为什么？"]
answer = "{long_answer}"

[[entry]]
[entry.en]
questions = ["no id"]
answer = "x"

[[entry]]
id = "Bad Id!"
[entry.en]
questions = ["x"]
answer = "y"
"""
    parsed = read_toml(text.encode())

    assert sorted(problems(parsed.errors)) == sorted(
        [
            ("no-answer", FaqProblem.MISSING_ANSWER),
            ("twice", FaqProblem.DUPLICATE_ID),
            ("french", FaqProblem.UNKNOWN_LANGUAGE),
            ("too-long", FaqProblem.ANSWER_TOO_LONG),
            ("entry 6", FaqProblem.MISSING_ID),
            ("Bad Id!", FaqProblem.BAD_ID),
        ]
    )
    assert [e.detail for e in parsed.errors if e.problem is FaqProblem.ANSWER_TOO_LONG] == [
        "zh_CN: 5000"
    ]
    assert [e.id for e in parsed.entries] == []


def test_broken_toml_is_one_error_with_its_place() -> None:
    parsed = read_toml(b'[[entry]]\nid = "x\n')

    [error] = parsed.errors
    assert error.problem is FaqProblem.BROKEN_FILE and "line" in error.detail
    assert parsed.entries == []


def test_csv_from_excel_one_row_per_phrasing() -> None:
    text = (
        "\ufeffid,locale,question,answer,tags\r\n"
        "returns,zh_CN,能退货吗？,可以，七天内。,returns\r\n"
        "returns,zh_CN,七天能退吗？,,\r\n"
        'returns,en,"Can I return it, please?","Yes, within 7 days.",returns\r\n'
    )
    parsed = read_file("kb.csv", text.encode("utf-8"))

    assert parsed.errors == []
    assert parsed.entries == [
        EntryData(
            "returns",
            {
                "zh_CN": LocaleText(("能退货吗？", "七天能退吗？"), "可以，七天内。"),
                "en": LocaleText(("Can I return it, please?",), "Yes, within 7 days."),
            },
            tags=("returns",),
        )
    ]


def test_csv_problems_per_row_and_entry() -> None:
    text = (
        "id,locale,question,answer\n"
        "a,en,Question?,\n"  # no answer anywhere for a/en
        "b,de,Frage?,Antwort.\n"
        "c,en,One?,First.\n"
        "c,en,Two?,Second.\n"
        "d,en,only three cells\n"
    )
    parsed = read_csv(text.encode())

    assert sorted(problems(parsed.errors)) == sorted(
        [
            ("row 6", FaqProblem.BROKEN_FILE),
            ("a", FaqProblem.MISSING_ANSWER),
            ("b", FaqProblem.UNKNOWN_LANGUAGE),
            ("c (row 5)", FaqProblem.CONFLICTING_ANSWERS),
        ]
    )


def test_broken_csv_and_missing_columns() -> None:
    assert problems(read_csv(b'id,locale,question,answer\n"a,en,q,x\n').errors) == [
        ("row 2", FaqProblem.BROKEN_FILE)
    ]
    assert problems(read_csv(b"id,question\n").errors) == [("row 1", FaqProblem.BROKEN_FILE)]
    assert problems(read_csv(b"\xff\xfe").errors) == [("file", FaqProblem.BROKEN_FILE)]
