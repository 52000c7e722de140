"""Bringing customers in from a CSV file (a spreadsheet or another CRM's export).

The file is UTF-8 (with or without the BOM that Excel writes), comma-separated, with a
header row naming its columns; only ``telegram_user_id`` is required:

``telegram_user_id``  a positive integer, once per file
``first_name``, ``last_name``  free text, up to 128 characters
``phone``  checked and kept in E.164 by :func:`care.customers.normalize_phone`; a number
    without its country code is one of ``phone_region`` (CN unless told)
``language``  ``zh_CN`` or ``en`` (``zh``, ``zh-hans``, ``en-US`` … are mapped)
``birthday``  solar or lunar, as :func:`care.birthdays.parse_birthday` reads them
``customer_type``  a :class:`care.models.CustomerType` value (``regular``, ``one_time`` …)
``consent``  consent to care messages: yes/no, true/false, 1/0, 是/否; empty is no
``timezone``  an IANA time zone such as ``Asia/Shanghai``
``tags``  tags to put on the customer (``vip; wholesale``: separated by ``;``, ``,``,
    ``|`` or spaces), each as ``care.directory.normalize_tag`` keeps them; tags are only
    added, never taken off

The whole file is checked before anything is written; any problem, in the header or in
any row, means nothing is imported and every problem is returned as a :class:`RowError`.
A customer whose Telegram user id we already know is updated, anyone else is created.
In an update an empty cell leaves the field as it was (an import never erases what a
customer told us); only ``consent`` is different: empty means no, the safe side.

Rows are numbered as a spreadsheet shows them: the header is row 1, the first customer
row 2; blank lines count but are otherwise skipped.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import IO, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from care.birthdays import Birthday, BirthdayError, BirthdayProblem, parse_birthday
from care.clock import Clock
from care.customers import DEFAULT_PHONE_REGION, normalize_phone
from care.directory import DirectoryError, normalize_tag
from care.locales import locale_for_language_code
from care.models import Customer, CustomerTag, CustomerType

USER_ID = "telegram_user_id"
FIRST_NAME = "first_name"
LAST_NAME = "last_name"
PHONE = "phone"
LANGUAGE = "language"
BIRTHDAY = "birthday"
CUSTOMER_TYPE = "customer_type"
CONSENT = "consent"
TIMEZONE = "timezone"
TAGS = "tags"

COLUMNS: tuple[str, ...] = (
    USER_ID,
    FIRST_NAME,
    LAST_NAME,
    PHONE,
    LANGUAGE,
    BIRTHDAY,
    CUSTOMER_TYPE,
    CONSENT,
    TIMEZONE,
    TAGS,
)
"""The columns a customer file may have, in the order we write them in examples."""

# Rows per database round trip: one lookup of existing ids, one INSERT, one UPDATE.
DEFAULT_BATCH_SIZE = 1000

_MAX_USER_ID = 2**63 - 1  # the BIGINT column
_MAX_NAME = 128  # Customer.first_name / last_name
_YES = frozenset({"yes", "y", "true", "1", "是", "是的", "同意"})
_NO = frozenset({"", "no", "n", "false", "0", "否", "不", "不同意"})
_DIGITS = re.compile(r"\d+")
_TAG_SEPARATORS = re.compile(r"[;,|\s]+")


class ImportProblem(enum.StrEnum):
    """What is wrong with a cell, a row or the header; the CLI turns these into words."""

    EMPTY_FILE = "empty_file"
    NOT_UTF8 = "not_utf8"
    MALFORMED_CSV = "malformed_csv"
    UNKNOWN_COLUMN = "unknown_column"
    DUPLICATE_COLUMN = "duplicate_column"
    MISSING_COLUMN = "missing_column"
    TOO_MANY_CELLS = "too_many_cells"
    MISSING_VALUE = "missing_value"
    NOT_A_USER_ID = "not_a_user_id"
    DUPLICATE_USER_ID = "duplicate_user_id"
    TOO_LONG = "too_long"
    NOT_A_PHONE = "not_a_phone"
    UNKNOWN_LANGUAGE = "unknown_language"
    BIRTHDAY_UNREADABLE = "birthday_unreadable"
    BIRTHDAY_NO_SUCH_DATE = "birthday_no_such_date"
    BIRTHDAY_IN_FUTURE = "birthday_in_future"
    BIRTHDAY_TOO_OLD = "birthday_too_old"
    UNKNOWN_CUSTOMER_TYPE = "unknown_customer_type"
    NOT_YES_OR_NO = "not_yes_or_no"
    UNKNOWN_TIMEZONE = "unknown_timezone"
    BAD_TAG = "bad_tag"


_BIRTHDAY_PROBLEMS = {
    BirthdayProblem.UNREADABLE: ImportProblem.BIRTHDAY_UNREADABLE,
    BirthdayProblem.NO_SUCH_DATE: ImportProblem.BIRTHDAY_NO_SUCH_DATE,
    BirthdayProblem.IN_FUTURE: ImportProblem.BIRTHDAY_IN_FUTURE,
    BirthdayProblem.TOO_OLD: ImportProblem.BIRTHDAY_TOO_OLD,
}


@dataclass(frozen=True)
class RowError:
    """One problem found in the file.

    Attributes:
        row: the row as a spreadsheet numbers it (the header is row 1).
        column: the column's name as the file spells it, or None for the whole row.
        problem: what is wrong.
        value: the offending text as it stands in the file, if any.
        first_row: for a duplicate, the row where the value first appeared.
    """

    row: int
    column: str | None
    problem: ImportProblem
    value: str | None = None
    first_row: int | None = None


@dataclass(frozen=True)
class ImportResult:
    """What an import did: counts when it worked, the problems when it did not."""

    created: int = 0
    updated: int = 0  # known customers in the file, whether or not a value changed
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


ImportProgress = Callable[[int, int], None]
"""Called as ``progress(rows_done, rows_total)`` after each batch is written."""


@dataclass(frozen=True)
class _CustomerRow:
    """A checked row: the Customer attributes it sets (only for non-empty cells)."""

    row: int
    telegram_user_id: int
    values: dict[str, Any]
    consent: bool | None  # None: the file has no consent column
    tags: tuple[str, ...] = ()


async def import_customers(
    session: AsyncSession,
    source: IO[bytes],
    clock: Clock,
    *,
    progress: ImportProgress | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    phone_region: str = DEFAULT_PHONE_REGION,
) -> ImportResult:
    """Create and update customers from a CSV file, all or nothing.

    Every row is checked first; if any problem is found nothing is written and the
    result lists every problem. Otherwise rows are written in batches of
    ``batch_size``: one lookup of the batch's known Telegram user ids, one bulk INSERT
    for the new customers (``created_at`` is ``clock.now()``) and one bulk UPDATE for
    the known ones. Consent that changes (or is first recorded) gets
    ``consent_changed_at = clock.now()``.

    Args:
        session: the caller's session; flushed, never committed.
        source: the file, opened in binary mode (the encoding is checked here).
        clock: tells the time of creation and the date birthdays must not pass.
        progress: called with (rows written, rows to write) after each batch.
        batch_size: rows per round trip to the database.
        phone_region: the country (ISO 3166) of phone numbers written without their
            country code (``CAREBOT_PHONE_REGION``).

    Returns:
        How many customers were created and updated, or the problems found.
    """
    now = clock.now()
    rows, errors = _check_file(source, now, phone_region)
    if errors:
        return ImportResult(errors=errors)
    created = updated = 0
    if progress is not None:
        progress(0, len(rows))
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        new, known = await _write_batch(session, batch, now)
        created += new
        updated += known
        if progress is not None:
            progress(start + len(batch), len(rows))
    return ImportResult(created=created, updated=updated)


def _check_file(
    source: IO[bytes], now: datetime, phone_region: str
) -> tuple[list[_CustomerRow], list[RowError]]:
    """Read and check the whole file without touching the database.

    Returns:
        The checked rows and every problem found (the rows are usable only if none).
    """
    errors: list[RowError] = []
    undecodable: list[int] = []
    reader = csv.reader(_decoded_lines(source, undecodable), strict=True)
    records = _records(reader, errors)
    header = next(records, None)
    if header is None:
        errors.append(RowError(1, None, ImportProblem.EMPTY_FILE))
        return [], errors
    row_number, names = header
    if undecodable:
        errors.append(RowError(row_number, None, ImportProblem.NOT_UTF8))
        undecodable.clear()
    columns = _check_header(names, errors)
    rows: list[_CustomerRow] = []
    first_seen: dict[int, int] = {}
    for row_number, cells in records:
        if undecodable:
            errors.append(RowError(row_number, None, ImportProblem.NOT_UTF8))
            undecodable.clear()
        if not any(cell.strip() for cell in cells):
            continue
        checked = _check_row(row_number, cells, names, columns, now, errors, phone_region)
        if checked is None:
            continue
        first = first_seen.setdefault(checked.telegram_user_id, row_number)
        if first != row_number:
            errors.append(
                RowError(
                    row_number,
                    names[columns[USER_ID]],
                    ImportProblem.DUPLICATE_USER_ID,
                    cells[columns[USER_ID]],
                    first_row=first,
                )
            )
            continue
        rows.append(checked)
    if undecodable:  # a bad byte in a last, unfinished record
        errors.append(RowError(row_number + 1, None, ImportProblem.NOT_UTF8))
    return rows, errors


def _decoded_lines(source: IO[bytes], undecodable: list[int]) -> Iterator[str]:
    """The file's lines as text; lines that are not UTF-8 are noted and decoded lossily.

    Decoding line by line (not in the 8 KiB chunks of a text wrapper) lets a bad byte be
    pinned on its row; going on past it finds every such row, not just the first.
    """
    for number, raw in enumerate(source, start=1):
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            undecodable.append(number)
            yield raw.decode("utf-8", errors="replace")


def _records(
    reader: Iterable[list[str]], errors: list[RowError]
) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) for each record; a broken CSV ends the file with an error."""
    number = 0
    iterator = iter(reader)
    while True:
        try:
            cells = next(iterator)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append(RowError(number + 1, None, ImportProblem.MALFORMED_CSV, str(exc)))
            return
        number += 1
        yield number, cells


def _check_header(names: list[str], errors: list[RowError]) -> dict[str, int]:
    """Map our column names to their positions, noting unknown, doubled and missing ones."""
    columns: dict[str, int] = {}
    for position, name in enumerate(names):
        key = name.strip().lower()
        if key not in COLUMNS:
            errors.append(RowError(1, name, ImportProblem.UNKNOWN_COLUMN, name))
        elif key in columns:
            errors.append(RowError(1, name, ImportProblem.DUPLICATE_COLUMN, name))
        else:
            columns[key] = position
    if USER_ID not in columns:
        errors.append(RowError(1, USER_ID, ImportProblem.MISSING_COLUMN))
    return columns


def _check_row(
    row: int,
    cells: list[str],
    names: list[str],
    columns: dict[str, int],
    now: datetime,
    errors: list[RowError],
    phone_region: str,
) -> _CustomerRow | None:
    """Check one row's cells; the row if all is well, else None (problems noted)."""
    found = len(errors)
    if len(cells) > len(names):
        extra = ",".join(cells[len(names) :])
        errors.append(RowError(row, None, ImportProblem.TOO_MANY_CELLS, extra))

    def cell(column: str) -> str | None:
        """The stripped text of a cell, None if the file has no such column or cell."""
        position = columns.get(column)
        if position is None or position >= len(cells):
            return None
        return cells[position].strip()

    def problem(column: str, what: ImportProblem) -> None:
        position = columns[column]
        raw = cells[position] if position < len(cells) else ""
        errors.append(RowError(row, names[position], what, raw))

    user_id: int | None = None
    text = cell(USER_ID)
    if USER_ID in columns:
        if not text:
            problem(USER_ID, ImportProblem.MISSING_VALUE)
        elif not _DIGITS.fullmatch(text) or not 0 < int(text) <= _MAX_USER_ID:
            problem(USER_ID, ImportProblem.NOT_A_USER_ID)
        else:
            user_id = int(text)

    values: dict[str, Any] = {}
    for column in (FIRST_NAME, LAST_NAME):
        text = cell(column)
        if text and len(text) > _MAX_NAME:
            problem(column, ImportProblem.TOO_LONG)
        elif text:
            values[column] = text

    text = cell(PHONE)
    if text:
        try:
            values["phone"] = normalize_phone(text, phone_region)
        except ValueError:
            problem(PHONE, ImportProblem.NOT_A_PHONE)

    text = cell(LANGUAGE)
    if text:
        locale = locale_for_language_code(text, default="")
        if locale:
            values["language"] = locale
        else:
            problem(LANGUAGE, ImportProblem.UNKNOWN_LANGUAGE)

    text = cell(TIMEZONE)
    zone: ZoneInfo | None = None
    if text:
        zone = _zone(text)
        if zone is None:
            problem(TIMEZONE, ImportProblem.UNKNOWN_TIMEZONE)
        else:
            values["timezone"] = text

    text = cell(BIRTHDAY)
    if text:
        # The customer's today, where we know their zone; else UTC's.
        today = now.astimezone(zone).date() if zone else now.date()
        try:
            values.update(_birthday_columns(parse_birthday(text, today)))
        except BirthdayError as exc:
            problem(BIRTHDAY, _BIRTHDAY_PROBLEMS[exc.problem])

    text = cell(CUSTOMER_TYPE)
    if text:
        kind = _customer_type(text)
        if kind is None:
            problem(CUSTOMER_TYPE, ImportProblem.UNKNOWN_CUSTOMER_TYPE)
        else:
            values["customer_type"] = kind.value

    consent: bool | None = None
    if CONSENT in columns:
        text = (cell(CONSENT) or "").lower()
        if text in _YES:
            consent = True
        elif text in _NO:
            consent = False
        else:
            problem(CONSENT, ImportProblem.NOT_YES_OR_NO)

    tags: list[str] = []
    for part in _TAG_SEPARATORS.split(cell(TAGS) or ""):
        if not part:
            continue
        try:
            tags.append(normalize_tag(part))
        except DirectoryError:
            problem(TAGS, ImportProblem.BAD_TAG)
            break

    if user_id is None or len(errors) > found:
        return None
    return _CustomerRow(row, user_id, values, consent, tuple(dict.fromkeys(tags)))


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: a path, not a key
        return None


def _customer_type(text: str) -> CustomerType | None:
    try:
        return CustomerType(text.lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        return None


def _birthday_columns(birthday: Birthday) -> dict[str, Any]:
    """The Customer columns for a birthday, as care.customers.set_birthday fills them."""
    return {
        "birthday_calendar": birthday.calendar.value,
        "birthday_year": birthday.year,
        "birthday_month": birthday.month,
        "birthday_day": birthday.day,
        "birthday_leap_month": birthday.leap_month,
    }


async def _write_batch(
    session: AsyncSession, batch: list[_CustomerRow], now: datetime
) -> tuple[int, int]:
    """Insert the batch's new customers and update its known ones.

    Returns:
        How many were created and how many updated.
    """
    known = {
        row.telegram_user_id: row
        for row in (
            await session.execute(
                select(
                    Customer.id,
                    Customer.telegram_user_id,
                    Customer.consent_care,
                    Customer.consent_changed_at,
                ).where(Customer.telegram_user_id.in_([r.telegram_user_id for r in batch]))
            )
        ).all()
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for row in batch:
        existing = known.get(row.telegram_user_id)
        if existing is None:
            inserts.append(_new_customer(row, now))
            continue
        values = {"id": existing.id, **row.values}
        if row.consent is not None and (
            row.consent != existing.consent_care or existing.consent_changed_at is None
        ):
            values["consent_care"] = row.consent
            values["consent_changed_at"] = now
        if len(values) > 1:
            updates.append(values)
    if inserts:
        # The table, not the entity: an ORM bulk INSERT without primary keys goes row by
        # row on SQLite to fetch the new ids, which we do not need.
        await session.execute(insert(cast(Table, Customer.__table__)), inserts)
    if updates:
        await session.execute(update(Customer), updates)
    await _add_tags(session, [row for row in batch if row.tags])
    await session.flush()
    return len(inserts), len(batch) - len(inserts)


async def _add_tags(session: AsyncSession, rows: list[_CustomerRow]) -> None:
    """Put the rows' tags on their customers (those they have already stay as they are):
    one lookup of ids, one of tags held, one INSERT."""
    if not rows:
        return
    found = await session.execute(
        select(Customer.telegram_user_id, Customer.id).where(
            Customer.telegram_user_id.in_([row.telegram_user_id for row in rows])
        )
    )
    ids = {user_id: customer_id for user_id, customer_id in found}
    tagged = await session.execute(
        select(CustomerTag.customer_id, CustomerTag.tag).where(
            CustomerTag.customer_id.in_(list(ids.values()))
        )
    )
    held = {(customer_id, tag) for customer_id, tag in tagged}
    new = [
        {"customer_id": ids[row.telegram_user_id], "tag": tag}
        for row in rows
        for tag in row.tags
        if (ids[row.telegram_user_id], tag) not in held
    ]
    if new:
        await session.execute(insert(cast(Table, CustomerTag.__table__)), new)


_NEW_CUSTOMER_DEFAULTS: dict[str, Any] = {
    "first_name": None,
    "last_name": None,
    "phone": None,
    "language": None,
    "timezone": None,
    "birthday_calendar": None,
    "birthday_year": None,
    "birthday_month": None,
    "birthday_day": None,
    "birthday_leap_month": False,
    "customer_type": CustomerType.POTENTIAL.value,
}


def _new_customer(row: _CustomerRow, now: datetime) -> dict[str, Any]:
    # Every insert carries the same keys so the driver can send them as one statement.
    return {
        **_NEW_CUSTOMER_DEFAULTS,
        **row.values,
        "telegram_user_id": row.telegram_user_id,
        "consent_care": bool(row.consent),
        "consent_changed_at": now if row.consent is not None else None,
        "created_at": now,
    }
