"""The cache of known customers: told of every change the application's sessions commit,
so ``identify_customer`` never hands a handler a stale view."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.customer_cache import CustomerCache, CustomerChanges
from bot.db import make_sessionmaker
from bot.sandbox.client import SandboxClient
from care import customers, privacy
from care.clock import ManualClock
from care.models import Customer
from handlers.context import CustomerView
from tests.helpers import Person, RunningBot, text_of

ANNA = customers.TelegramIdentity(user_id=1001, chat_id=1001, first_name="Anna", username="anna")


class Reports:
    """Records which customers the sessions report changed, and passes it on to a cache."""

    def __init__(self, cache: CustomerCache) -> None:
        self.cache = cache
        self.calls: list[set[int] | None] = []
        self.complaints: list[set[int] | None] = []

    def ticket(self) -> int:
        return self.cache.ticket()

    def committed(self, changes: CustomerChanges) -> None:
        self.calls.append(changes.customers)
        self.complaints.append(changes.complaints_of)
        self.cache.committed(changes)


@pytest.fixture
def cache(clock: ManualClock) -> CustomerCache:
    return CustomerCache(clock)


@pytest.fixture
def reports(cache: CustomerCache) -> Reports:
    return Reports(cache)


@pytest.fixture
def app_sessions(engine: AsyncEngine, reports: Reports) -> async_sessionmaker[AsyncSession]:
    """Sessions as the application makes them: every commit reports changed customers."""
    return make_sessionmaker(engine, watcher=reports)


async def read(
    sessions: async_sessionmaker[AsyncSession], cache: CustomerCache, clock: ManualClock
) -> CustomerView:
    """Read Anna as identify_customer does, and keep her in the cache."""
    ticket = cache.ticket()
    async with sessions.begin() as session:
        customer, _ = await customers.get_or_create_customer(session, ANNA, clock.now())
        known = CustomerView.of(customer)
    cache.put(ANNA.user_id, known, ticket)
    return known


async def test_a_committed_change_keeps_the_customer_as_changed(
    app_sessions: async_sessionmaker[AsyncSession],
    cache: CustomerCache,
    reports: Reports,
    clock: ManualClock,
) -> None:
    # Creating her is no change to report: nobody else can have seen her row before.
    known = await read(app_sessions, cache, clock)
    assert reports.calls == []
    assert cache.get(ANNA.user_id) == known and known.language is None

    async with app_sessions.begin() as session:
        customer = await session.get_one(Customer, known.id)
        customers.set_language(customer, "en")
        assert cache.get(ANNA.user_id) == known, "not before the commit"
    assert reports.calls[-1] == {known.id}
    changed = cache.get(ANNA.user_id)
    assert changed is not None and changed.language == "en", "kept as the commit left her"
    assert changed == await read(app_sessions, cache, clock)


async def test_a_change_begun_before_another_commit_is_not_kept(
    app_sessions: async_sessionmaker[AsyncSession], cache: CustomerCache, clock: ManualClock
) -> None:
    known = await read(app_sessions, cache, clock)
    async with app_sessions.begin() as slow:
        slow_anna = await slow.get_one(Customer, known.id)  # reads her before the change
        async with app_sessions.begin() as quick:
            customers.set_language(await quick.get_one(Customer, known.id), "en")
        assert (cache.get(ANNA.user_id) or known).language == "en"
        customers.set_consent(slow_anna, True, clock.now())  # still holds language None
        assert slow_anna.language is None
    # What the slow transaction holds misses the language; the cache must not keep it.
    assert cache.get(ANNA.user_id) is None
    again = await read(app_sessions, cache, clock)
    assert (again.language, again.consent_care) == ("en", True)


async def test_unchanged_reads_and_rollbacks_keep_the_customer(
    app_sessions: async_sessionmaker[AsyncSession],
    cache: CustomerCache,
    reports: Reports,
    clock: ManualClock,
) -> None:
    await read(app_sessions, cache, clock)
    known = await read(app_sessions, cache, clock)
    calls = len(reports.calls)

    await read(app_sessions, cache, clock)  # assigns the same names again: no change
    async with app_sessions() as session:
        customer = await session.get_one(Customer, known.id)
        customers.set_language(customer, "en")
        await session.flush()
        await session.rollback()

    assert len(reports.calls) == calls
    assert cache.get(ANNA.user_id) == known


async def test_a_savepoint_reports_only_with_the_outer_commit(
    app_sessions: async_sessionmaker[AsyncSession],
    cache: CustomerCache,
    reports: Reports,
    clock: ManualClock,
) -> None:
    await read(app_sessions, cache, clock)
    known = await read(app_sessions, cache, clock)
    calls = len(reports.calls)
    async with app_sessions.begin() as session:
        async with session.begin_nested():
            customer = await session.get_one(Customer, known.id)
            customers.complete_onboarding(customer, clock.now())
        assert len(reports.calls) == calls and cache.get(ANNA.user_id) == known
    assert reports.calls[calls:] == [{known.id}]
    kept = cache.get(ANNA.user_id)
    assert kept is not None and kept.onboarded


async def test_statements_on_customers_forget_everyone(
    app_sessions: async_sessionmaker[AsyncSession],
    cache: CustomerCache,
    reports: Reports,
    clock: ManualClock,
) -> None:
    await read(app_sessions, cache, clock)
    await read(app_sessions, cache, clock)
    async with app_sessions.begin() as session:
        assert await customers.mark_unreachable(session, ANNA.chat_id, clock.now())
    assert reports.calls[-1] is None
    assert cache.get(ANNA.user_id) is None
    again = await read(app_sessions, cache, clock)  # she writes again
    assert again.reachable
    assert cache.get(ANNA.user_id) == again, "kept as that read's commit left her"


async def test_forgetting_a_customer_forgets_her(
    app_sessions: async_sessionmaker[AsyncSession], cache: CustomerCache, clock: ManualClock
) -> None:
    await read(app_sessions, cache, clock)
    known = await read(app_sessions, cache, clock)
    async with app_sessions.begin() as session:
        customer = await session.get_one(Customer, known.id)
        await privacy.forget_customer(session, customer, clock.now())
    assert cache.get(ANNA.user_id) is None
    fresh = await read(app_sessions, cache, clock)
    assert fresh.id != known.id


async def test_a_read_begun_before_a_change_is_not_kept(
    cache: CustomerCache, clock: ManualClock
) -> None:
    old = CustomerView(1, 1001, "Anna", None, "anna", True, None, False, False)
    ticket = cache.ticket()  # a reader starts, reads the old state...
    cache.forget({1})  # ...someone commits a change...
    cache.put(ANNA.user_id, old, ticket)  # ...and the reader would keep the old state
    assert cache.get(ANNA.user_id) is None
    cache.put(ANNA.user_id, old, cache.ticket())
    assert cache.get(ANNA.user_id) == old

    ticket = cache.ticket()
    cache.forget(None)
    cache.put(ANNA.user_id, old, ticket)
    assert cache.get(ANNA.user_id) is None
    cache.forget({2})  # someone else changed: no reason to refuse her
    cache.put(ANNA.user_id, old, ticket + 1)
    assert cache.get(ANNA.user_id) == old


async def test_open_complaints_are_known_until_her_complaints_change(
    app_sessions: async_sessionmaker[AsyncSession],
    cache: CustomerCache,
    reports: Reports,
    clock: ManualClock,
) -> None:
    from care import complaints

    known = await read(app_sessions, cache, clock)
    cache.note_open_complaints(ANNA.user_id, known.id, False, cache.ticket())
    assert (cache.get(ANNA.user_id) or known).open_complaints is False
    async with app_sessions.begin() as session:  # a change to her record keeps it
        customers.set_language(await session.get_one(Customer, known.id), "en")
    assert (cache.get(ANNA.user_id) or known).open_complaints is False

    ticket = cache.ticket()  # a handler looks for her complaints...
    async with app_sessions.begin() as session:  # ...while she files one
        customer = await session.get_one(Customer, known.id)
        await complaints.start_draft(session, customer, clock.now())
    assert reports.complaints[-1] == {known.id}
    assert cache.get(ANNA.user_id) is None, "her complaints changed: read her again"
    await read(app_sessions, cache, clock)
    cache.note_open_complaints(ANNA.user_id, known.id, False, ticket)
    assert (cache.get(ANNA.user_id) or known).open_complaints is None, "that look is stale"


def test_entries_expire_and_the_cache_stays_small(clock: ManualClock) -> None:
    cache = CustomerCache(clock, ttl=timedelta(seconds=30), max_size=3)
    for n in range(5):
        known = CustomerView(n, 100 + n, "A", None, None, True, "en", True, True)
        cache.put(100 + n, known, cache.ticket())
    assert [cache.get(100 + n) is not None for n in range(5)] == [False, False, True, True, True]
    clock.advance(timedelta(seconds=30))
    assert cache.get(104) is None


def test_a_changed_telegram_identity_is_not_current() -> None:
    known = CustomerView(1, 1001, "Anna", None, "anna", True, "en", True, True)
    assert known.is_current_for(ANNA)
    assert known.is_current_for(customers.TelegramIdentity(1001, 1001, None, None, "anna")), (
        "an empty first name keeps the old one"
    )
    for changed in (
        customers.TelegramIdentity(1001, 1001, "Annie", None, "anna"),
        customers.TelegramIdentity(1001, 1001, "Anna", "Li", "anna"),
        customers.TelegramIdentity(1001, 1001, "Anna", None, "anna_li"),
        customers.TelegramIdentity(1001, 2002, "Anna", None, "anna"),
    ):
        assert not known.is_current_for(changed)
    unreachable = CustomerView(1, 1001, "Anna", None, "anna", False, "en", True, True)
    assert not unreachable.is_current_for(ANNA)


# --- through the running bot -------------------------------------------------------------


async def test_a_new_name_reaches_the_record_on_the_next_message(
    bot: RunningBot, client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    user = await client.create_user("Anna", language_code="en", username="anna")
    anna = Person(client, user)
    await anna.say("hello")
    # (Commands: a conversation's later messages get no answer from the bot.)
    await anna.say("/help")  # she is known now, without a database read
    await client.update_user(anna.id, first_name="Annie", username="annie_li")
    await anna.say("/help")

    async with sessionmaker() as session:
        customer = await session.scalar(
            select(Customer).where(Customer.telegram_user_id == anna.id)
        )
    assert customer is not None
    assert (customer.first_name, customer.username) == ("Annie", "annie_li")


async def test_a_language_chosen_shows_on_the_very_next_update(
    bot: RunningBot, client: SandboxClient
) -> None:
    anna = Person(client, await client.create_user("Anna", language_code="en"))
    assert "do not know that command" in text_of(await anna.say("/weather"))
    chooser = await anna.say("/language")
    await anna.press_data(chooser["message_id"], "lang:zh_CN", expect_message=False)
    assert "do not know that command" not in text_of(await anna.say("/weather"))


# --- the rule that keeps it right: no Core statement changes customers behind its back ---

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("bot", "care", "handlers")
# The kinds of statement on customers that are fine, and why:
# - ORM objects changed or deleted through a session: bot/db.py's after_flush hook
#   reports them (kept as the commit left them, or forgotten).
# - ORM-enabled statements on the entity, ``update(Customer)`` / ``delete(Customer)``:
#   every statement of the product runs through a session (the application's or the
#   importer's), and bot/db.py's do_orm_execute hook reports them as "maybe any
#   customer" (the cache forgets everyone).
# - INSERTs: a new row is no cached customer.
# Not fine: Core UPDATE or DELETE on the table itself (``Customer.__table__``, a name
# bound to it, ``table("customer")``, SQL text), which no hook sees, except here:
CORE_ALLOWED = {
    "care/contacts.py": (
        {"last_contact_at", "last_seen_at", "last_message_at"},
        "the contact log moves only the last-contact, last-seen and last-message times, "
        "which the cache does not hold",
    ),
    "care/churn.py": (
        {"churn_handled_at"},
        "churn handling marks when a high risk was handled, which the cache does not hold",
    ),
    "care/segments.py": (
        {
            "customer_type",
            "lifecycle_stage",
            "value_segment",
            "churn_risk",
            "churn_reasons",
            "segmented_at",
            "churn_handled_at",
        },
        "the segments job writes computed segments in batches; the cache holds none of them",
    ),
}
_SQL_ON_CUSTOMERS = re.compile(r"\b(UPDATE|DELETE\s+FROM)\s+[\"`]?customer\b", re.IGNORECASE)


@dataclass(frozen=True)
class CoreChange:
    """A Core UPDATE or DELETE on the customer table found in the source."""

    path: str
    line: int
    columns: frozenset[str] | None  # the columns its .values() sets; None: not known


def _is_customer_entity(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "Customer") or (
        isinstance(node, ast.Attribute) and node.attr == "Customer"
    )


def _names_the_table(node: ast.AST, aliases: set[str]) -> bool:
    """Whether ``node`` is (or wraps, as in ``cast(Table, …)``) the customer table."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Attribute) and inner.attr == "__table__":
            if _is_customer_entity(inner.value):
                return True
        elif isinstance(inner, ast.Name) and inner.id in aliases:
            return True
        elif (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Name | ast.Attribute)
            and (inner.func.id if isinstance(inner.func, ast.Name) else inner.func.attr)
            in ("table", "Table")
            and inner.args
            and isinstance(inner.args[0], ast.Constant)
            and inner.args[0].value == "customer"
        ):
            return True
    return False


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def core_changes_to_customers(source: str, path: str) -> list[CoreChange]:
    """The Core UPDATEs and DELETEs of the customer table in one module's source."""
    tree = ast.parse(source)
    aliases: set[str] = set()
    for node in ast.walk(tree):  # names bound to the table: _CUSTOMER = Customer.__table__
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if _names_the_table(node.value, aliases):
                aliases |= {t.id for t in targets if isinstance(t, ast.Name)}
    found: dict[int, CoreChange] = {}  # by the id() of the statement's root call
    columns: dict[int, set[str]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _called(node)
        root: ast.Call | None = None
        if name in ("update", "delete") and node.args:
            # update(Customer.__table__), but not update(Customer): ORM-enabled, reported.
            if _names_the_table(node.args[0], aliases):
                root = node
        elif name in ("update", "delete") and isinstance(node.func, ast.Attribute):
            if _names_the_table(node.func.value, aliases):  # Customer.__table__.update()
                root = node
        elif name in ("text", "exec_driver_sql") and node.args:
            sql = node.args[0]
            if isinstance(sql, ast.Constant) and isinstance(sql.value, str):
                if _SQL_ON_CUSTOMERS.search(sql.value):
                    found[id(node)] = CoreChange(path, node.lineno, None)
        if root is not None:
            found[id(root)] = CoreChange(path, root.lineno, frozenset())
            columns.setdefault(id(root), set())
    # The columns set by .values(…) chained onto each statement.
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) == "values":
            inner: ast.AST = node.func
            while isinstance(inner, ast.Attribute | ast.Call):
                if isinstance(inner, ast.Call) and id(inner) in columns:
                    columns[id(inner)] |= {k.arg for k in node.keywords if k.arg}
                    break
                inner = inner.func if isinstance(inner, ast.Call) else inner.value
    return [
        CoreChange(change.path, change.line, frozenset(columns[key])) if key in columns else change
        for key, change in found.items()
    ]


def test_no_core_statement_changes_customers_behind_the_caches_back() -> None:
    offences: list[str] = []
    allowed_seen: set[str] = set()
    cached = {f.name for f in fields(CustomerView)}
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith("bot/migrations/"):
                continue  # run by `carebot db upgrade`, before the bot and its cache start
            for change in core_changes_to_customers(path.read_text("utf-8"), relative):
                allowed = CORE_ALLOWED.get(relative)
                if allowed is not None and change.columns and change.columns <= allowed[0]:
                    allowed_seen.add(relative)
                    continue
                offences.append(f"{relative}:{change.line} sets {sorted(change.columns or [])}")
    assert offences == [], (
        "a Core UPDATE/DELETE of customers goes around bot/db.py's session hooks, so the "
        "customer cache would keep a stale view: use the ORM (an object, or update(Customer) "
        "through a session), or allow-list it in CORE_ALLOWED with the reason"
    )
    assert allowed_seen == set(CORE_ALLOWED), "an allow-list entry that no longer applies"
    for columns, reason in CORE_ALLOWED.values():
        assert not columns & cached, f"the cache holds what is allowed to change: {reason}"


def test_the_check_catches_core_statements_and_lets_orm_ones_pass() -> None:
    sample = """
from sqlalchemy import Table, cast, delete, table, text, update
from care.models import Customer
from care import models

_CUSTOMER = cast(Table, Customer.__table__)
core_on_alias = update(_CUSTOMER).where(_CUSTOMER.c.id == 1).values(language="en")
core_on_table = delete(Customer.__table__)
core_method = models.Customer.__table__.update().values(reachable=False)
core_by_name = update(table("customer")).values(first_name="x")
raw = text("UPDATE customer SET reachable = false")
orm = update(Customer).values(reachable=False)
orm_delete = delete(models.Customer)
other = update(cast(Table, models.Contact.__table__)).values(text=None)
"""
    changes = core_changes_to_customers(sample, "sample.py")
    assert sorted((c.line, c.columns) for c in changes) == [
        (7, frozenset({"language"})),
        (8, frozenset()),
        (9, frozenset({"reachable"})),
        (10, frozenset({"first_name"})),
        (11, None),
    ]
