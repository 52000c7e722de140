"""Knowledge-base files: read TOML or CSV into entries (every problem found, per entry),
and write entries back as TOML.

TOML is the format of ``../shared/faq/README.md``: ``[[entry]]`` tables with ``id``,
optional ``tags``, ``photo``, ``document`` and ``related`` (ids of entries offered as
buttons under the answer), and one table per locale (``[entry.zh_CN]``, ``[entry.en]``)
with ``questions`` and ``answer``.

CSV ("CSV UTF-8" as Excel saves it, with or without a byte-order mark) has one row per
question phrasing: ``id,locale,question,answer`` and optional ``tags``, ``related``
(separated by ``;`` or ``,``), ``photo``, ``document``. The answer may stand on every row
of an entry's locale or on one of them; rows that give it must agree.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from care.faq_models import MAX_ENTRY_ID
from care.locales import LOCALES

# Telegram's limit for a message's text.
MAX_ANSWER = 4096
MAX_QUESTION = 500
MAX_LINK = 512  # photo, document
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_CSV_REQUIRED = ("id", "locale", "question", "answer")
_CSV_OPTIONAL = ("tags", "related", "photo", "document")
_ENTRY_KEYS = {"id", "tags", "photo", "document", "related"}


class FaqProblem(enum.StrEnum):
    """What is wrong with a knowledge-base file (the CLI says each in words)."""

    BROKEN_FILE = "broken_file"  # not TOML / not CSV / not UTF-8: detail says where
    NO_ENTRIES = "no_entries"
    MISSING_ID = "missing_id"
    BAD_ID = "bad_id"
    DUPLICATE_ID = "duplicate_id"
    UNKNOWN_LANGUAGE = "unknown_language"
    UNKNOWN_FIELD = "unknown_field"
    NO_LANGUAGE = "no_language"
    MISSING_QUESTIONS = "missing_questions"
    MISSING_ANSWER = "missing_answer"
    ANSWER_TOO_LONG = "answer_too_long"
    QUESTION_TOO_LONG = "question_too_long"
    CONFLICTING_ANSWERS = "conflicting_answers"
    BAD_VALUE = "bad_value"  # a field of the wrong type
    UNKNOWN_RELATED = "unknown_related"


@dataclass(frozen=True)
class FileError:
    """One problem: where (an entry id, ``entry 3`` or ``row 7``), what, and a detail."""

    where: str
    problem: FaqProblem
    detail: str = ""


@dataclass(frozen=True)
class LocaleText:
    questions: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class EntryData:
    """One knowledge-base entry as a file holds it."""

    id: str
    texts: dict[str, LocaleText]
    tags: tuple[str, ...] = ()
    photo: str | None = None
    document: str | None = None
    related: tuple[str, ...] = ()


@dataclass
class ParsedFile:
    entries: list[EntryData] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)


def read_file(name: str, content: bytes) -> ParsedFile:
    """Read a knowledge-base file, TOML or CSV by its name's ending (``.csv``: CSV)."""
    if name.lower().endswith(".csv"):
        return read_csv(content)
    return read_toml(content)


def read_toml(content: bytes) -> ParsedFile:
    """Every entry of a TOML knowledge base, and every problem found in it."""
    parsed = ParsedFile()
    try:
        document = tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError as error:
        parsed.errors.append(
            FileError("file", FaqProblem.BROKEN_FILE, f"not UTF-8 at byte {error.start}")
        )
        return parsed
    except tomllib.TOMLDecodeError as error:
        parsed.errors.append(FileError("file", FaqProblem.BROKEN_FILE, str(error)))
        return parsed
    tables = document.get("entry")
    if not isinstance(tables, list) or not tables:
        parsed.errors.append(FileError("file", FaqProblem.NO_ENTRIES, "no [[entry]] tables"))
        return parsed
    for number, table in enumerate(tables, start=1):
        _check_table(table, f"entry {number}", parsed)
    _check_across(parsed)
    return parsed


def _check_table(table: dict[str, Any], position: str, parsed: ParsedFile) -> None:
    errors = parsed.errors
    before = len(errors)
    entry_id = table.get("id")
    where = entry_id if isinstance(entry_id, str) and entry_id else position
    if entry_id is None:
        errors.append(FileError(where, FaqProblem.MISSING_ID))
    elif not isinstance(entry_id, str) or not _valid_id(entry_id):
        errors.append(FileError(where, FaqProblem.BAD_ID, repr(entry_id)))
    texts: dict[str, LocaleText] = {}
    languages = 0  # tables that look like a language's, known or not
    for key, value in table.items():
        if key in _ENTRY_KEYS:
            continue
        if not isinstance(value, dict):
            errors.append(FileError(where, FaqProblem.UNKNOWN_FIELD, key))
            continue
        languages += 1
        if key not in LOCALES:
            errors.append(FileError(where, FaqProblem.UNKNOWN_LANGUAGE, key))
        else:
            text = _locale_text(value, where, key, errors)
            if text is not None:
                texts[key] = text
    if not languages:
        errors.append(FileError(where, FaqProblem.NO_LANGUAGE, ", ".join(LOCALES)))
    tags = _strings(table.get("tags", []), where, "tags", errors)
    related = _strings(table.get("related", []), where, "related", errors)
    photo = _link(table.get("photo"), where, "photo", errors)
    document = _link(table.get("document"), where, "document", errors)
    if len(errors) == before:
        assert isinstance(entry_id, str)
        parsed.entries.append(
            EntryData(entry_id, texts, tuple(tags), photo, document, tuple(related))
        )


def _locale_text(
    value: dict[str, Any], where: str, locale: str, errors: list[FileError]
) -> LocaleText | None:
    before = len(errors)
    questions = value.get("questions")
    answer = value.get("answer")
    unknown = set(value) - {"questions", "answer"}
    if unknown:
        errors.append(
            FileError(where, FaqProblem.UNKNOWN_FIELD, f"{locale}.{', '.join(sorted(unknown))}")
        )
    if (
        not isinstance(questions, list)
        or not questions
        or not all(isinstance(q, str) and q.strip() for q in questions)
    ):
        errors.append(FileError(where, FaqProblem.MISSING_QUESTIONS, locale))
    else:
        for question in questions:
            if len(question) > MAX_QUESTION:
                errors.append(
                    FileError(where, FaqProblem.QUESTION_TOO_LONG, f"{locale}: {len(question)}")
                )
    if not isinstance(answer, str) or not answer.strip():
        errors.append(FileError(where, FaqProblem.MISSING_ANSWER, locale))
    elif len(answer) > MAX_ANSWER:
        errors.append(FileError(where, FaqProblem.ANSWER_TOO_LONG, f"{locale}: {len(answer)}"))
    if len(errors) > before:
        return None
    assert isinstance(questions, list) and isinstance(answer, str)
    return LocaleText(tuple(q.strip() for q in questions), answer.strip())


def _strings(value: Any, where: str, name: str, errors: list[FileError]) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    errors.append(FileError(where, FaqProblem.BAD_VALUE, f"{name}: a list of strings"))
    return []


def _link(value: Any, where: str, name: str, errors: list[FileError]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and len(value) <= MAX_LINK:
        return value.strip()
    errors.append(FileError(where, FaqProblem.BAD_VALUE, f"{name}: a URL or file id"))
    return None


def _valid_id(entry_id: str) -> bool:
    return len(entry_id) <= MAX_ENTRY_ID and _ID.fullmatch(entry_id) is not None


def _check_across(parsed: ParsedFile) -> None:
    """Duplicate ids; related ids are checked against the database by the importer."""
    seen: set[str] = set()
    duplicates: set[str] = set()
    for entry in parsed.entries:
        if entry.id in seen:
            duplicates.add(entry.id)
        seen.add(entry.id)
    for entry_id in sorted(duplicates):
        parsed.errors.append(FileError(entry_id, FaqProblem.DUPLICATE_ID))
    if duplicates:
        parsed.entries = [e for e in parsed.entries if e.id not in duplicates]


def read_csv(content: bytes) -> ParsedFile:
    """Every entry of a CSV knowledge base (one row per phrasing), and every problem."""
    parsed = ParsedFile()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        parsed.errors.append(
            FileError("file", FaqProblem.BROKEN_FILE, f"not UTF-8 at byte {error.start}")
        )
        return parsed
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        rows = list(reader)
    except csv.Error as error:
        parsed.errors.append(
            FileError(f"row {reader.line_num}", FaqProblem.BROKEN_FILE, str(error))
        )
        return parsed
    if not rows:
        parsed.errors.append(FileError("file", FaqProblem.NO_ENTRIES, "empty"))
        return parsed
    header = [name.strip().lower() for name in rows[0]]
    missing = [name for name in _CSV_REQUIRED if name not in header]
    unknown = [n for n in header if n not in _CSV_REQUIRED + _CSV_OPTIONAL]
    if missing or unknown:
        detail = "; ".join(
            part
            for part in (
                f"missing column {', '.join(missing)}" if missing else "",
                f"unknown column {', '.join(unknown)}" if unknown else "",
            )
            if part
        )
        parsed.errors.append(FileError("row 1", FaqProblem.BROKEN_FILE, detail))
        return parsed
    tables: dict[str, dict[str, Any]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            parsed.errors.append(
                FileError(
                    f"row {number}",
                    FaqProblem.BROKEN_FILE,
                    f"{len(row)} cells, the header has {len(header)}",
                )
            )
            continue
        cell = dict(zip(header, (c.strip() for c in row), strict=True))
        _add_row(tables, cell, f"row {number}", parsed.errors)
    for table in tables.values():
        _check_table(table, table["id"], parsed)
    _check_across(parsed)
    if not parsed.entries and not parsed.errors:
        parsed.errors.append(FileError("file", FaqProblem.NO_ENTRIES, "no rows"))
    return parsed


def _add_row(
    tables: dict[str, dict[str, Any]], cell: dict[str, str], where: str, errors: list[FileError]
) -> None:
    entry_id, locale = cell["id"], cell["locale"]
    if not entry_id:
        errors.append(FileError(where, FaqProblem.MISSING_ID))
        return
    table = tables.setdefault(entry_id, {"id": entry_id})
    for name in ("tags", "related"):
        if cell.get(name):
            table[name] = [v for v in re.split(r"[;,]", cell[name]) if v.strip()]
    for name in ("photo", "document"):
        if cell.get(name):
            table[name] = cell[name]
    if not locale:
        errors.append(FileError(f"{entry_id} ({where})", FaqProblem.UNKNOWN_LANGUAGE, "(empty)"))
        return
    texts = table.setdefault(locale, {"questions": []})
    if cell["question"]:
        texts["questions"].append(cell["question"])
    answer = cell["answer"]
    if answer:
        if texts.get("answer") not in (None, answer):
            errors.append(
                FileError(f"{entry_id} ({where})", FaqProblem.CONFLICTING_ANSWERS, locale)
            )
        texts["answer"] = answer


def write_toml(entries: Iterable[EntryData]) -> str:
    """The entries as a TOML knowledge base that :func:`read_toml` reads back."""
    lines = ["# carebot FAQ knowledge base (carebot faq export)", ""]
    for entry in entries:
        lines.append("[[entry]]")
        lines.append(f"id = {_toml_string(entry.id)}")
        if entry.tags:
            lines.append(f"tags = [{', '.join(_toml_string(t) for t in entry.tags)}]")
        for name in ("photo", "document"):
            value = getattr(entry, name)
            if value:
                lines.append(f"{name} = {_toml_string(value)}")
        if entry.related:
            lines.append(f"related = [{', '.join(_toml_string(r) for r in entry.related)}]")
        for locale, text in entry.texts.items():
            lines.append(f"[entry.{locale}]")
            lines.append(f"questions = [{', '.join(_toml_string(q) for q in text.questions)}]")
            lines.append(f"answer = {_toml_string(text.answer)}")
        lines.append("")
    return "\n".join(lines)


def _toml_string(value: str) -> str:
    """A TOML basic string (the escapes JSON writes are TOML's too)."""
    return json.dumps(value, ensure_ascii=False)
