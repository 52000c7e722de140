"""Computed segments: who a customer is to us, worked out from what they did.

Four classifications, each rule in docs/segments.md with its thresholds
(:class:`SegmentRules`, settings ``CAREBOT_SEGMENT_*``), over a window of the last
``window_days`` days:

- **customer type** (一次性 / 偶然 / 经常性客户): potential, one-time, occasional, regular;
- **value × relationship quadrant** (客户服务差异化): star, question, cash cow, dog;
- **lifecycle stage** (客户关系周期): breakthrough … harvest, defence, dormant, paused;
- **churn risk**: low, medium, high, with its reasons (quiet for longer than their usual
  rhythm, a low rating, an unresolved complaint).

The signals are gathered in SQL, a batch of customers at a time (a handful of grouped
queries per batch, never one per customer); each customer's classification is a pure
function of their :class:`Signals` (:func:`classify`), and only rows whose segments
changed are written. :func:`refresh` runs from the segments job over everyone and after
a purchase or contact over the customers concerned.

Churn handling by importance (对不同级别客户的流失的态度): :func:`unhandled_risks` lists
customers whose risk is high and not yet handled, with their :class:`Importance`; the
caller alerts about key ones, wins back normal ones and marks each handled
(:func:`mark_handled`), so that each is handled once while their risk stays high.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Interval,
    Table,
    bindparam,
    case,
    distinct,
    exists,
    func,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from care import segment_history
from care.complaints import OPEN_STATUSES
from care.models import (
    Complaint,
    ComplaintRating,
    ComplaintStatus,
    Contact,
    Customer,
    CustomerType,
    Direction,
    LifecycleStage,
    Outbox,
    OutboxState,
    Purchase,
)

__all__ = [
    "ChurnReason",
    "ChurnRisk",
    "SegmentRules",
    "Segments",
    "Signals",
    "ValueSegment",
    "classify",
    "refresh",
    "refresh_after",
]

_CUSTOMER = cast(Table, Customer.__table__)
BATCH_SIZE = 2000


class ValueSegment(enum.StrEnum):
    """客户服务差异化: current or potential volume × strength of the relationship."""

    STAR = "star"  # high value, strong relationship: keep it, high-quality visits
    QUESTION = "question"  # high value, weak relationship: improve it
    CASH_COW = "cash_cow"  # low value, strong relationship: maintain it
    DOG = "dog"  # low value, weak relationship: minimum effort


class ChurnRisk(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ChurnReason(enum.StrEnum):
    QUIET = "quiet"  # quiet for longer than their usual rhythm
    LOW_RATING = "low_rating"  # rated a resolution low, lately
    OPEN_COMPLAINT = "open_complaint"  # a complaint not yet resolved


@dataclass(frozen=True)
class SegmentRules:
    """The thresholds of the rules (docs/segments.md); settings ``CAREBOT_SEGMENT_*``."""

    window_days: int = 365  # purchases, contacts, ratings and care counted over this
    # customer type (a customer who never bought nor complained stays potential)
    regular_purchases: int = 4
    regular_contact_days: int = 12
    occasional_purchases: int = 2
    occasional_contact_days: int = 4
    # value: high when purchases in the window are worth this much, or are this many
    high_value_amount: Decimal = Decimal(1000)
    high_value_purchases: int = 3
    # relationship: strong at this many points (docs/segments.md)
    strong_points: int = 2
    strong_contact_days: int = 4
    long_tenure_days: int = 180
    good_rating: float = 4.0
    poor_rating: float = 2.0
    care_reply_days: int = 3  # a reply this soon after a care message is a response
    # lifecycle
    dormant_days: int = 180
    # churn risk
    quiet_factor: float = 2.0  # quiet for this many times their usual gap between visits
    quiet_min_days: int = 30  # … but at least this long
    quiet_days: int = 60  # quiet this long, for a customer with no usual rhythm yet
    low_rating: int = 2  # a rating at or below this …
    low_rating_days: int = 30  # … in these last days
    # churn handling: tags that make a customer key, besides the star quadrant
    key_tags: tuple[str, ...] = ("key", "vip")


@dataclass(frozen=True)
class Signals:
    """What one customer did, as the rules read it (counts are within the window)."""

    customer_id: int
    created_at: datetime
    last_seen_at: datetime | None
    reachable: bool = True
    purchases: int = 0  # in the window
    purchases_ever: int = 0
    purchase_value: Decimal = Decimal(0)  # amounts recorded in the window
    complaints_ever: int = 0  # filed (drafts do not count)
    open_complaints: int = 0
    contact_days: int = 0  # days with a message from them in the window
    first_contact_at: datetime | None = None  # their first and last message in the window
    last_contact_at: datetime | None = None
    rating_average: float | None = None  # of ratings in the window
    lowest_recent_rating: int | None = None  # in the last ``low_rating_days``
    care_replies: int = 0  # care messages sent in the window they answered soon after


@dataclass(frozen=True)
class Segments:
    customer_type: CustomerType
    value_segment: ValueSegment
    lifecycle_stage: LifecycleStage
    churn_risk: ChurnRisk
    churn_reasons: tuple[ChurnReason, ...] = ()
    relationship_points: int = 0


def _dealt(signals: Signals) -> bool:
    """Bought or complained: more than a potential customer."""
    return signals.purchases_ever > 0 or signals.complaints_ever > 0


def customer_type(signals: Signals, rules: SegmentRules) -> CustomerType:
    """一次性 / 偶然 / 经常性客户, by purchases and days of contact in the window."""
    if not _dealt(signals):
        return CustomerType.POTENTIAL
    if (
        signals.purchases >= rules.regular_purchases
        or signals.contact_days >= rules.regular_contact_days
    ):
        return CustomerType.REGULAR
    if (
        signals.purchases >= rules.occasional_purchases
        or signals.contact_days >= rules.occasional_contact_days
    ):
        return CustomerType.OCCASIONAL
    return CustomerType.ONE_TIME


def relationship_points(signals: Signals, rules: SegmentRules, now: datetime) -> int:
    """Strength of the relationship: a point each for frequent contact, long tenure, good
    ratings and answering care messages; a point off for poor ratings."""
    points = 0
    if signals.contact_days >= rules.strong_contact_days:
        points += 1
    if now - signals.created_at >= timedelta(days=rules.long_tenure_days):
        points += 1
    if signals.rating_average is not None:
        if signals.rating_average >= rules.good_rating:
            points += 1
        elif signals.rating_average <= rules.poor_rating:
            points -= 1
    if signals.care_replies > 0:
        points += 1
    return points


def value_segment(signals: Signals, rules: SegmentRules, now: datetime) -> ValueSegment:
    """The value × relationship quadrant."""
    high = (
        signals.purchase_value >= rules.high_value_amount
        or signals.purchases >= rules.high_value_purchases
    )
    strong = relationship_points(signals, rules, now) >= rules.strong_points
    if high:
        return ValueSegment.STAR if strong else ValueSegment.QUESTION
    return ValueSegment.CASH_COW if strong else ValueSegment.DOG


def usual_gap(signals: Signals) -> timedelta | None:
    """Their usual time between days of contact in the window; None with fewer than two."""
    if signals.contact_days < 2 or not signals.first_contact_at or not signals.last_contact_at:
        return None
    return (signals.last_contact_at - signals.first_contact_at) / (signals.contact_days - 1)


def quiet_limit(signals: Signals, rules: SegmentRules) -> timedelta:
    """How long this customer may be quiet before it is a churn signal."""
    gap = usual_gap(signals)
    if gap is None:
        return timedelta(days=rules.quiet_days)
    return max(gap * rules.quiet_factor, timedelta(days=rules.quiet_min_days))


def churn_reasons(signals: Signals, rules: SegmentRules, now: datetime) -> tuple[ChurnReason, ...]:
    reasons = []
    quiet_since = signals.last_seen_at or signals.created_at
    if now - quiet_since > quiet_limit(signals, rules):
        reasons.append(ChurnReason.QUIET)
    if (
        signals.lowest_recent_rating is not None
        and signals.lowest_recent_rating <= rules.low_rating
    ):
        reasons.append(ChurnReason.LOW_RATING)
    if signals.open_complaints > 0:
        reasons.append(ChurnReason.OPEN_COMPLAINT)
    return tuple(reasons)


def churn_risk(reasons: Sequence[ChurnReason]) -> ChurnRisk:
    """High when quiet or lately rated low; medium with only a complaint open."""
    if ChurnReason.QUIET in reasons or ChurnReason.LOW_RATING in reasons:
        return ChurnRisk.HIGH
    return ChurnRisk.MEDIUM if reasons else ChurnRisk.LOW


def lifecycle_stage(
    signals: Signals, kind: CustomerType, risk: ChurnRisk, rules: SegmentRules, now: datetime
) -> LifecycleStage:
    """客户关系周期: paused (they blocked the bot), dormant (quiet ``dormant_days``),
    defence (churn risk high), else by type: breakthrough, consolidation, growth, harvest."""
    if not signals.reachable:
        return LifecycleStage.PAUSED
    if now - (signals.last_seen_at or signals.created_at) >= timedelta(days=rules.dormant_days):
        return LifecycleStage.DORMANT
    if risk is ChurnRisk.HIGH and kind is not CustomerType.POTENTIAL:
        return LifecycleStage.DEFENCE
    return {
        CustomerType.POTENTIAL: LifecycleStage.BREAKTHROUGH,
        CustomerType.ONE_TIME: LifecycleStage.CONSOLIDATION,
        CustomerType.OCCASIONAL: LifecycleStage.GROWTH,
        CustomerType.REGULAR: LifecycleStage.HARVEST,
    }.get(kind, LifecycleStage.BREAKTHROUGH)


def classify(signals: Signals, rules: SegmentRules, now: datetime) -> Segments:
    """Every classification of one customer (the rules of docs/segments.md)."""
    kind = customer_type(signals, rules)
    reasons = churn_reasons(signals, rules, now)
    risk = churn_risk(reasons)
    return Segments(
        customer_type=kind,
        value_segment=value_segment(signals, rules, now),
        lifecycle_stage=lifecycle_stage(signals, kind, risk, rules, now),
        churn_risk=risk,
        churn_reasons=reasons,
        relationship_points=relationship_points(signals, rules, now),
    )


# ----------------------------------------------------------------------------- signals


def _in_batch(column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """The batch's rows: by the range of its ids when they are (nearly) contiguous, as in
    the job's pass over everyone (the index serves a range, and thousands of bound
    parameters cost more to send than to match); else by the ids themselves."""
    first, last = ids[0], ids[-1]
    if last - first + 1 <= 2 * len(ids):
        return cast(ColumnElement[bool], column.between(first, last))
    return cast(ColumnElement[bool], column.in_(ids))


def _plus_days(column: Any, days: int, dialect: str) -> Any:
    """``column + days`` in the database's own date arithmetic."""
    if dialect == "sqlite":
        # The format SQLAlchemy stores SQLite timestamps in, so that they compare as text.
        return func.strftime("%Y-%m-%d %H:%M:%f", column, f"+{days} days")
    return column + literal(timedelta(days=days), Interval())


async def gather_signals(
    session: AsyncSession,
    rules: SegmentRules,
    now: datetime,
    customers: Sequence[tuple[int, datetime, datetime | None, bool]],
) -> list[Signals]:
    """The signals of a batch of customers (id, created, last seen, reachable; ordered by
    id), in five grouped queries."""
    if not customers:
        return []
    ids = [row[0] for row in customers]
    since = now - timedelta(days=rules.window_days)
    dialect = session.get_bind().dialect.name
    found: dict[int, dict[str, Any]] = {row[0]: {} for row in customers}

    def keep(rows: Iterable[Any], *names: str) -> None:
        for row in rows:
            if row[0] in found:
                found[row[0]].update(
                    (name, value)
                    for name, value in zip(names, row[1:], strict=True)
                    if value is not None
                )

    in_window = Purchase.purchased_at >= since
    keep(
        await session.execute(
            select(
                Purchase.customer_id,
                func.count(),
                func.sum(case((in_window, 1), else_=0)),
                func.sum(case((in_window, Purchase.amount), else_=None)),
            )
            .where(_in_batch(Purchase.customer_id, ids))
            .group_by(Purchase.customer_id)
        ),
        "purchases_ever",
        "purchases",
        "purchase_value",
    )
    open_values = [status.value for status in OPEN_STATUSES]
    keep(
        await session.execute(
            select(
                Complaint.customer_id,
                func.count(),
                func.sum(case((Complaint.status.in_(open_values), 1), else_=0)),
            )
            .where(
                _in_batch(Complaint.customer_id, ids),
                Complaint.status != ComplaintStatus.DRAFT.value,
            )
            .group_by(Complaint.customer_id)
        ),
        "complaints_ever",
        "open_complaints",
    )
    keep(
        await session.execute(
            select(
                Contact.customer_id,
                func.count(distinct(func.date(Contact.created_at))),
                func.min(Contact.created_at),
                func.max(Contact.created_at),
            )
            .where(
                _in_batch(Contact.customer_id, ids),
                Contact.direction == Direction.INBOUND.value,
                Contact.created_at >= since,
            )
            .group_by(Contact.customer_id)
        ),
        "contact_days",
        "first_contact_at",
        "last_contact_at",
    )
    recent = ComplaintRating.rated_at >= now - timedelta(days=rules.low_rating_days)
    keep(
        await session.execute(
            select(
                Complaint.customer_id,
                func.avg(ComplaintRating.score),
                func.min(case((recent, ComplaintRating.score), else_=None)),
            )
            .join(Complaint, Complaint.id == ComplaintRating.complaint_id)
            .where(
                _in_batch(Complaint.customer_id, ids),
                ComplaintRating.rated_at >= since,
            )
            .group_by(Complaint.customer_id)
        ),
        "rating_average",
        "lowest_recent_rating",
    )
    answered = exists().where(
        Contact.customer_id == Outbox.customer_id,
        Contact.direction == Direction.INBOUND.value,
        Contact.created_at > Outbox.sent_at,
        Contact.created_at <= _plus_days(Outbox.sent_at, rules.care_reply_days, dialect),
    )
    keep(
        await session.execute(
            select(Outbox.customer_id, func.count())
            .where(
                _in_batch(Outbox.customer_id, ids),
                Outbox.state == OutboxState.SENT.value,
                Outbox.sent_at >= since,
                answered,
            )
            .group_by(Outbox.customer_id)
        ),
        "care_replies",
    )
    signals = []
    for customer_id, created_at, last_seen_at, reachable in customers:
        values = found[customer_id]
        value = values.pop("purchase_value", None)
        average = values.pop("rating_average", None)
        signals.append(
            Signals(
                customer_id=customer_id,
                created_at=created_at,
                last_seen_at=last_seen_at,
                reachable=reachable,
                purchase_value=Decimal(str(value)) if value is not None else Decimal(0),
                rating_average=float(average) if average is not None else None,
                **cast(
                    dict[str, Any],
                    {name: v if name.endswith("_at") else int(v) for name, v in values.items()},
                ),
            )
        )
    return signals


# ----------------------------------------------------------------------------- refresh


@dataclass(frozen=True)
class RefreshResult:
    customers: int  # how many were classified
    changed: int  # how many rows changed


async def refresh(
    session: AsyncSession,
    rules: SegmentRules,
    now: datetime,
    customer_ids: Iterable[int] | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> RefreshResult:
    """Classify customers again and write the segments that changed.

    Args:
        session: The caller's transaction (flushed, not committed).
        rules: The thresholds.
        now: The moment the rules count back from.
        customer_ids: Only these (after a purchase or contact); None: everyone not
            forgotten (the segments job).
        batch_size: Customers per batch of queries.

    Returns:
        How many customers were classified and how many rows changed.
    """
    classified = changed = 0
    async for rows in _batches(session, customer_ids, batch_size):
        classified += len(rows)
        changed += await _classify_rows(session, rules, now, rows)
    return RefreshResult(classified, changed)


async def refresh_after(
    session: AsyncSession,
    rules: SegmentRules,
    now: datetime,
    after: int,
    *,
    batch_size: int = BATCH_SIZE,
) -> tuple[RefreshResult, int]:
    """One batch of a pass over everyone: the customers whose id follows ``after``.

    The segments job commits each batch on its own, so that a pass over many customers
    never holds their rows locked for long (the contact log moves the same rows).

    Returns:
        What was done, and the id to continue after (``after`` itself once the pass is
        over: nothing was classified).
    """
    query = _CUSTOMER_ROWS.where(Customer.id > after).limit(batch_size)
    rows = (await session.execute(query)).all()
    if not rows:
        return RefreshResult(0, 0), after
    changed = await _classify_rows(session, rules, now, rows)
    return RefreshResult(len(rows), changed), rows[-1][0]


async def _classify_rows(
    session: AsyncSession, rules: SegmentRules, now: datetime, rows: Sequence[Any]
) -> int:
    """Classify a batch (rows of ``_CUSTOMER_ROWS``) and write what changed; how many."""
    signals = await gather_signals(session, rules, now, [tuple(row[:4]) for row in rows])
    updates = []
    changes = []
    for row, signal in zip(rows, signals, strict=True):
        values = _stored(classify(signal, rules, now), declared=row[4])
        before = dict(zip(values, row[4:], strict=True))
        if before != values:
            updates.append({"key": row[0], **values})
            changes.append((row[0], before, values))
    await segment_history.record_changes(session, changes, now)
    return await _write(session, updates, now)


# What a batch reads of each customer: who, since when, last seen, reachable, and the
# segments as stored (to write only what changed).
_CUSTOMER_ROWS = (
    select(
        Customer.id,
        Customer.created_at,
        Customer.last_seen_at,
        Customer.reachable,
        Customer.customer_type,
        Customer.lifecycle_stage,
        Customer.value_segment,
        Customer.churn_risk,
        Customer.churn_reasons,
    )
    .where(Customer.erased_at.is_(None))
    .order_by(Customer.id)
)


async def _batches(
    session: AsyncSession, customer_ids: Iterable[int] | None, batch_size: int
) -> AsyncIterator[Sequence[Any]]:
    """The customers to classify, ``batch_size`` at a time, in the order of their ids:
    the ones named, or everyone not forgotten (by keyset, so no batch is read twice)."""
    query = _CUSTOMER_ROWS
    if customer_ids is not None:
        wanted = sorted(set(customer_ids))
        for start in range(0, len(wanted), batch_size):
            chunk = wanted[start : start + batch_size]
            rows = (await session.execute(query.where(Customer.id.in_(chunk)))).all()
            if rows:
                yield rows
        return
    after = 0
    while rows := (await session.execute(query.where(Customer.id > after).limit(batch_size))).all():
        yield rows
        after = rows[-1][0]


def _stored(segments: Segments, declared: str) -> dict[str, Any]:
    """The columns as stored. A type declared by hand or import that we cannot compute
    (intending, signed) stays while the customer computes as merely potential."""
    kind = segments.customer_type.value
    if segments.customer_type is CustomerType.POTENTIAL and declared not in _COMPUTABLE:
        kind = declared
    return {
        "customer_type": kind,
        "lifecycle_stage": segments.lifecycle_stage.value,
        "value_segment": segments.value_segment.value,
        "churn_risk": segments.churn_risk.value,
        "churn_reasons": ",".join(reason.value for reason in segments.churn_reasons) or None,
    }


_COMPUTABLE = frozenset(
    kind.value
    for kind in (
        CustomerType.POTENTIAL,
        CustomerType.ONE_TIME,
        CustomerType.OCCASIONAL,
        CustomerType.REGULAR,
    )
)


async def _write(session: AsyncSession, updates: list[dict[str, Any]], now: datetime) -> int:
    """One executemany UPDATE for the changed rows. A risk that is no longer high is no
    longer handled: when it turns high again, it is handled again.

    A Core statement: the customer cache (bot/customer_cache.py) holds none of these
    columns (tests/bot/test_customer_cache.py allow-lists them)."""
    if not updates:
        return 0
    for values in updates:
        values["now"] = now
    statement = (
        update(_CUSTOMER)
        .where(_CUSTOMER.c.id == bindparam("key"))
        .values(
            customer_type=bindparam("customer_type"),
            lifecycle_stage=bindparam("lifecycle_stage"),
            value_segment=bindparam("value_segment"),
            churn_risk=bindparam("churn_risk"),
            churn_reasons=bindparam("churn_reasons"),
            segmented_at=bindparam("now"),
            churn_handled_at=case(
                (bindparam("churn_risk") == ChurnRisk.HIGH.value, _CUSTOMER.c.churn_handled_at),
                else_=null(),
            ),
        )
    )
    await session.execute(statement, updates)
    for values in updates:
        keep_loaded_current(
            session,
            values["key"],
            {**{name: values[name] for name in _SEGMENT_COLUMNS}, "segmented_at": now},
            clear_handled=values["churn_risk"] != ChurnRisk.HIGH.value,
        )
    return len(updates)


_SEGMENT_COLUMNS = (
    "customer_type", "lifecycle_stage", "value_segment", "churn_risk", "churn_reasons"
)  # fmt: skip


def keep_loaded_current(
    session: AsyncSession, customer_id: int, values: dict[str, Any], clear_handled: bool = False
) -> None:
    """Give a customer this session already holds the values just written around the ORM,
    as if loaded, so that the caller does not read stale segments (or write them back)."""
    loaded = session.sync_session.identity_map.get(identity_key(Customer, customer_id))
    if loaded is None:
        return
    for name, value in values.items():
        set_committed_value(loaded, name, value)
    if clear_handled:
        set_committed_value(loaded, "churn_handled_at", None)
