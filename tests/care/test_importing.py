"""Importing customers from CSV: all or nothing, every problem reported by row."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.clock import ManualClock
from care.importing import COLUMNS, TAGS, ImportProblem, RowError, import_customers
from care.models import Customer, CustomerTag

# The columns the examples below fill (tags have their own test).
HEADER = ",".join(column for column in COLUMNS if column != TAGS)


def csv_file(*lines: str, bom: bool = False, encoding: str = "utf-8") -> io.BytesIO:
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + data)


async def customers(session: AsyncSession) -> dict[int | None, Customer]:
    rows = (await session.scalars(select(Customer))).all()
    return {c.telegram_user_id: c for c in rows}


async def count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(Customer)) or 0


@pytest.mark.parametrize("bom", [False, True], ids=["plain", "bom"])
async def test_a_good_file_with_chinese_names_and_lunar_birthdays_imports(
    session: AsyncSession, clock: ManualClock, bom: bool
) -> None:
    source = csv_file(
        HEADER,
        "1001,小明,王,+86 138 0013 8000,zh-hans,农历八月十五,regular,是,Asia/Shanghai",
        "1002,丽,李,86 139-0000-0000,zh_CN,农历2001年闰四月初八,signed,否,",
        "1003,Alice,Smith,,en-US,1990-05-20,one_time,yes,Europe/London",
        '1004,"Bob, Jr.",,,,,,,',
        bom=bom,
    )

    result = await import_customers(session, source, clock)

    assert result.errors == []
    assert (result.created, result.updated) == (4, 0)
    found = await customers(session)
    ming = found[1001]
    assert (ming.first_name, ming.last_name, ming.phone) == ("小明", "王", "+8613800138000")
    assert (ming.language, ming.timezone) == ("zh_CN", "Asia/Shanghai")
    assert ming.customer_type == "regular"
    assert (ming.birthday_calendar, ming.birthday_year) == ("lunar", None)
    assert (ming.birthday_month, ming.birthday_day, ming.birthday_leap_month) == (8, 15, False)
    assert ming.consent_care is True
    assert ming.consent_changed_at == clock.now()
    assert ming.created_at == clock.now()
    li = found[1002]
    assert (li.birthday_calendar, li.birthday_year, li.birthday_month) == ("lunar", 2001, 4)
    assert (li.birthday_day, li.birthday_leap_month) == (8, True)
    assert li.phone == "+8613900000000"
    assert li.consent_care is False
    assert li.timezone is None
    alice = found[1003]
    assert (alice.language, alice.birthday_calendar, alice.birthday_year) == ("en", "solar", 1990)
    assert (alice.birthday_month, alice.birthday_day, alice.customer_type) == (5, 20, "one_time")
    bob = found[1004]
    assert (bob.first_name, bob.last_name, bob.customer_type) == ("Bob, Jr.", None, "potential")
    assert bob.consent_care is False
    assert bob.reachable is True


async def test_three_bad_rows_are_all_reported_and_nothing_is_imported(
    session: AsyncSession, clock: ManualClock
) -> None:
    source = csv_file(
        HEADER,
        "2001,好,人,,,,,,",
        "2002,坏,电话,not a phone,,,,,",
        "2003,好,人,,,,,,",
        "2004,坏,语言,,fr,,,,",
        "2005,坏,生日,,,2030-01-01,,maybe,",
    )

    result = await import_customers(session, source, clock)

    assert (result.created, result.updated) == (0, 0)
    assert not result.ok
    assert result.errors == [
        RowError(3, "phone", ImportProblem.NOT_A_PHONE, "not a phone"),
        RowError(5, "language", ImportProblem.UNKNOWN_LANGUAGE, "fr"),
        RowError(6, "birthday", ImportProblem.BIRTHDAY_IN_FUTURE, "2030-01-01"),
        RowError(6, "consent", ImportProblem.NOT_YES_OR_NO, "maybe"),
    ]
    assert await count(session) == 0


async def test_every_kind_of_bad_cell_has_its_own_code(
    session: AsyncSession, clock: ManualClock
) -> None:
    source = csv_file(
        HEADER,
        ",,,,,,,,",  # a blank row is skipped
        "abc,,,,,,,,",
        "0,,,,,,,,",
        "3001," + "长" * 129 + ",,,,,,,",
        "3002,,,,,农历十三月一,,,",
        "3003,,,,,2月30日,,,",
        "3004,,,,,1890-01-01,,,",
        "3005,,,,,,vip,,",
        "3006,,,,,,,,Mars/Olympus",
        "3007,,,,,,,,../etc/passwd",
        "3008,,,,,,,,,extra",
        " ,名,,,,,,,",
    )

    result = await import_customers(session, source, clock)

    assert [(e.row, e.column, e.problem) for e in result.errors] == [
        (3, "telegram_user_id", ImportProblem.NOT_A_USER_ID),
        (4, "telegram_user_id", ImportProblem.NOT_A_USER_ID),
        (5, "first_name", ImportProblem.TOO_LONG),
        (6, "birthday", ImportProblem.BIRTHDAY_NO_SUCH_DATE),
        (7, "birthday", ImportProblem.BIRTHDAY_NO_SUCH_DATE),
        (8, "birthday", ImportProblem.BIRTHDAY_TOO_OLD),
        (9, "customer_type", ImportProblem.UNKNOWN_CUSTOMER_TYPE),
        (10, "timezone", ImportProblem.UNKNOWN_TIMEZONE),
        (11, "timezone", ImportProblem.UNKNOWN_TIMEZONE),
        (12, None, ImportProblem.TOO_MANY_CELLS),
        (13, "telegram_user_id", ImportProblem.MISSING_VALUE),
    ]
    assert result.errors[-2].value == "extra"
    assert await count(session) == 0


async def test_a_duplicate_telegram_user_id_names_both_rows(
    session: AsyncSession, clock: ManualClock
) -> None:
    source = csv_file("telegram_user_id,first_name", "42,一", "43,二", "42,三", "42,四")

    result = await import_customers(session, source, clock)

    assert result.errors == [
        RowError(4, "telegram_user_id", ImportProblem.DUPLICATE_USER_ID, "42", first_row=2),
        RowError(5, "telegram_user_id", ImportProblem.DUPLICATE_USER_ID, "42", first_row=2),
    ]
    assert await count(session) == 0


async def test_an_unknown_column_is_an_error(session: AsyncSession, clock: ManualClock) -> None:
    source = csv_file("telegram_user_id,first_name,labels", "42,一,vip")

    result = await import_customers(session, source, clock)

    assert result.errors == [RowError(1, "labels", ImportProblem.UNKNOWN_COLUMN, "labels")]
    assert await count(session) == 0


async def test_header_names_are_matched_loosely_but_not_twice(
    session: AsyncSession, clock: ManualClock
) -> None:
    source = csv_file(" Telegram_User_ID ,First_Name,first_name", "42,一,二")

    result = await import_customers(session, source, clock)

    assert result.errors == [
        RowError(1, "first_name", ImportProblem.DUPLICATE_COLUMN, "first_name")
    ]


async def test_a_missing_telegram_user_id_column_is_an_error(
    session: AsyncSession, clock: ManualClock
) -> None:
    result = await import_customers(session, csv_file("first_name,phone", "一,13800138000"), clock)

    assert result.errors == [RowError(1, "telegram_user_id", ImportProblem.MISSING_COLUMN)]


async def test_an_empty_file_is_an_error_and_a_header_alone_imports_nothing(
    session: AsyncSession, clock: ManualClock
) -> None:
    empty = await import_customers(session, io.BytesIO(b""), clock)
    header_only = await import_customers(session, csv_file(HEADER), clock)

    assert empty.errors == [RowError(1, None, ImportProblem.EMPTY_FILE)]
    assert (header_only.created, header_only.updated, header_only.errors) == (0, 0, [])


async def test_a_file_that_is_not_utf8_is_reported_row_by_row(
    session: AsyncSession, clock: ManualClock
) -> None:
    # Excel in a Chinese locale saves "CSV" as GBK unless told otherwise.
    source = csv_file("telegram_user_id,first_name", "1,Ann", "2,小明", "3,丽", encoding="gbk")

    result = await import_customers(session, source, clock)

    assert [(e.row, e.problem) for e in result.errors] == [
        (3, ImportProblem.NOT_UTF8),
        (4, ImportProblem.NOT_UTF8),
    ]
    assert await count(session) == 0


async def test_a_broken_quote_is_reported(session: AsyncSession, clock: ManualClock) -> None:
    source = csv_file("telegram_user_id,first_name", "1,Ann", '2,"Bo"b')

    result = await import_customers(session, source, clock)

    assert [(e.row, e.problem) for e in result.errors] == [(3, ImportProblem.MALFORMED_CSV)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("TRUE", True),
        ("1", True),
        ("是", True),
        ("no", False),
        ("false", False),
        ("0", False),
        ("否", False),
        ("", False),
    ],
)
async def test_consent_words(
    session: AsyncSession, clock: ManualClock, text: str, expected: bool
) -> None:
    await import_customers(session, csv_file("telegram_user_id,consent", f"7,{text}"), clock)

    assert (await customers(session))[7].consent_care is expected


async def test_a_known_customer_is_updated_and_empty_cells_keep_what_we_had(
    session: AsyncSession, clock: ManualClock
) -> None:
    created_at = clock.now() - timedelta(days=30)
    session.add(
        Customer(
            telegram_user_id=5001,
            first_name="Old",
            phone="+8613800138000",
            language="en",
            customer_type="signed",
            consent_care=True,
            consent_changed_at=created_at,
            created_at=created_at,
        )
    )
    await session.flush()
    clock.advance(timedelta(hours=1))
    source = csv_file(HEADER, "5001,新名字,,,zh,,,,Asia/Shanghai", "5002,新,客户,,,,,yes,")

    result = await import_customers(session, source, clock)

    assert (result.created, result.updated, result.errors) == (1, 1, [])
    assert await count(session) == 2
    known = (await customers(session))[5001]
    assert (known.first_name, known.language) == ("新名字", "zh_CN")
    assert known.timezone == "Asia/Shanghai"
    assert (known.phone, known.customer_type) == ("+8613800138000", "signed")
    assert known.created_at == created_at
    # An empty consent cell is a no, and the change is dated.
    assert known.consent_care is False
    assert known.consent_changed_at == clock.now()


async def test_unchanged_consent_keeps_its_date(session: AsyncSession, clock: ManualClock) -> None:
    then = clock.now() - timedelta(days=3)
    session.add(
        Customer(telegram_user_id=9, consent_care=True, consent_changed_at=then, created_at=then)
    )
    await session.flush()

    result = await import_customers(session, csv_file("telegram_user_id,consent", "9,是"), clock)

    assert result.updated == 1
    customer = (await customers(session))[9]
    assert (customer.consent_care, customer.consent_changed_at) == (True, then)


async def test_without_a_consent_column_consent_is_left_alone(
    session: AsyncSession, clock: ManualClock
) -> None:
    then = clock.now() - timedelta(days=3)
    session.add(
        Customer(telegram_user_id=9, consent_care=True, consent_changed_at=then, created_at=then)
    )
    await session.flush()

    await import_customers(session, csv_file("telegram_user_id,first_name", "9,九", "10,十"), clock)

    found = await customers(session)
    assert (found[9].consent_care, found[9].first_name) == (True, "九")
    assert (found[10].consent_care, found[10].consent_changed_at) == (False, None)


async def test_rows_are_written_in_batches_with_progress(
    session: AsyncSession, clock: ManualClock
) -> None:
    session.add(Customer(telegram_user_id=3, created_at=clock.now()))
    await session.flush()
    seen: list[tuple[int, int]] = []
    source = csv_file("telegram_user_id", *(str(n) for n in range(1, 6)))

    def progress(done: int, total: int) -> None:
        seen.append((done, total))

    result = await import_customers(session, source, clock, progress=progress, batch_size=2)

    assert (result.created, result.updated) == (4, 1)
    assert seen == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert set(await customers(session)) == {1, 2, 3, 4, 5}


async def test_a_large_file_imports_and_reimports(
    session: AsyncSession, clock: ManualClock
) -> None:
    rows = [f"{n},客户{n},,1380013{n:04d},zh,农历正月初一,regular,是," for n in range(1, 2501)]

    first = await import_customers(session, csv_file(HEADER, *rows), clock)
    again = await import_customers(session, csv_file(HEADER, *rows), clock)

    assert (first.created, first.updated, first.errors) == (2500, 0, [])
    assert (again.created, again.updated, again.errors) == (0, 2500, [])
    assert await count(session) == 2500


async def test_birthdays_are_checked_against_the_customers_own_today(
    session: AsyncSession,
) -> None:
    # 23:30 UTC on 19 May is already 20 May in Shanghai.
    clock = ManualClock(datetime(2026, 5, 19, 23, 30, tzinfo=UTC))
    source = csv_file("telegram_user_id,birthday,timezone", "1,2026-05-20,Asia/Shanghai")

    result = await import_customers(session, source, clock)

    assert result.errors == []


async def test_phone_numbers_without_a_country_code_are_of_the_configured_region(
    session: AsyncSession, clock: ManualClock
) -> None:
    lines = ("telegram_user_id,phone", "3001,138 0013 8000", "3002,+852 9123 4567")
    result = await import_customers(session, csv_file(*lines), clock)
    assert result.ok
    found = await customers(session)
    assert (found[3001].phone, found[3002].phone) == ("+8613800138000", "+85291234567")

    hong_kong = ("telegram_user_id,phone", "3003,9123 4567", "3004,1380013800")
    result = await import_customers(session, csv_file(*hong_kong), clock, phone_region="HK")
    assert result.errors == [RowError(3, "phone", ImportProblem.NOT_A_PHONE, "1380013800")]
    result = await import_customers(session, csv_file(*hong_kong[:2]), clock, phone_region="HK")
    assert result.ok and (await customers(session))[3003].phone == "+85291234567"


async def test_tags_are_added_and_never_taken_off(
    session: AsyncSession, clock: ManualClock
) -> None:
    first = csv_file("telegram_user_id,tags", "5001,VIP; wholesale", '5002,"key, vip vip"', "5003,")
    assert (await import_customers(session, first, clock)).ok
    again = csv_file("telegram_user_id,tags", "5001,gold", "5003,#new")
    assert (await import_customers(session, again, clock)).ok
    found = await customers(session)
    held = (await session.execute(select(CustomerTag.customer_id, CustomerTag.tag))).all()
    by_user: dict[int | None, set[str]] = {}
    ids = {c.id: user_id for user_id, c in found.items()}
    for customer_id, tag in held:
        by_user.setdefault(ids[customer_id], set()).add(tag)
    assert by_user == {5001: {"vip", "wholesale", "gold"}, 5002: {"key", "vip"}, 5003: {"new"}}

    bad = csv_file("telegram_user_id,tags", "5004,ok no/slash", "5005," + "x" * 33)
    result = await import_customers(session, bad, clock)
    assert [(e.row, e.column, e.problem) for e in result.errors] == [
        (2, "tags", ImportProblem.BAD_TAG),
        (3, "tags", ImportProblem.BAD_TAG),
    ]
