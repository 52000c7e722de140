"""Audiences: who a campaign reaches, as people type it and as a query.

``all``, ``tag:vip``, ``type:regular``, ``stage:dormant``, ``quiet:90`` (has not written
to us for 90 days: ``care.planning.QUIET_SINCE``), ``segment:star`` (the value ×
relationship quadrant), ``risk:high`` (churn risk), both computed by ``care.segments``;
several separated by spaces must all hold (``segment:star tag:vip``). Only customers
who may receive care at all (``care.planning.may_receive_care``) are ever in an audience.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import Campaign, Customer, CustomerTag, CustomerType, LifecycleStage
from care.planning import may_receive_care, quiet_since_before
from care.problems import CampaignError, CampaignProblem
from care.segments import ChurnRisk, ValueSegment

MAX_QUIET_DAYS = 3650
_TAG = re.compile(r"^[\w.-]{1,32}$")

# How people type an audience: all, tag:vip, type:regular, stage:dormant, quiet:90.
AUDIENCE_WORDS = {
    "all": "all",
    "tag": "tag",
    "type": "customer_type",
    "customer_type": "customer_type",
    "stage": "lifecycle",
    "lifecycle": "lifecycle",
    "quiet": "quiet",
    "segment": "segment",
    "risk": "risk",
}
# The computed classifications an audience may select by, and their values.
_CHOICES: dict[str, type[enum.StrEnum]] = {
    "customer_type": CustomerType,
    "lifecycle": LifecycleStage,
    "segment": ValueSegment,
    "risk": ChurnRisk,
}
_COLUMNS = {
    "customer_type": Customer.customer_type,
    "lifecycle": Customer.lifecycle_stage,
    "segment": Customer.value_segment,
    "risk": Customer.churn_risk,
}
_TYPED = {"customer_type": "type", "lifecycle": "stage", "segment": "segment", "risk": "risk"}
MAX_PARTS = 4


def parse_audience(text: str) -> dict[str, Any]:
    """Read an audience as people type it: ``all``, ``tag:vip``, ``type:regular``,
    ``stage:dormant``, ``quiet:90`` (has not written to us for 90 days: see
    ``QUIET_SINCE``).

    Several parts separated by spaces must all hold: ``segment:star tag:vip``.

    Raises:
        CampaignError: UNKNOWN_AUDIENCE or BAD_AUDIENCE_VALUE.
    """
    parts = text.split()
    if len(parts) > 1:
        if any(":" not in part for part in parts[1:]):
            # "tag:two words": a value with a space, not a second part.
            raise CampaignError(CampaignProblem.BAD_AUDIENCE_VALUE)
        return validate_audience({"kind": "all_of", "parts": [_parse_one(p) for p in parts]})
    return _parse_one(text)


def _parse_one(text: str) -> dict[str, Any]:
    word, _sep, value = text.strip().partition(":")
    kind = AUDIENCE_WORDS.get(word.strip().lower())
    if kind is None:
        raise CampaignError(CampaignProblem.UNKNOWN_AUDIENCE)
    value = value.strip()
    if kind == "all":
        audience: dict[str, Any] = {"kind": "all"}
        if value:
            raise CampaignError(CampaignProblem.BAD_AUDIENCE_VALUE)
    elif kind == "tag":
        audience = {"kind": "tag", "tag": value}
    elif kind == "quiet":
        if not value.isdigit():
            raise CampaignError(CampaignProblem.BAD_AUDIENCE_VALUE)
        audience = {"kind": "quiet", "days": int(value)}
    else:
        audience = {"kind": kind, "value": value.lower()}
    return validate_audience(audience)


def validate_audience(audience: Mapping[str, Any]) -> dict[str, Any]:
    """The audience, checked and in its stored shape (see ``Campaign.audience``).

    Raises:
        CampaignError: UNKNOWN_AUDIENCE or BAD_AUDIENCE_VALUE.
    """
    kind = audience.get("kind")
    if kind == "all_of":
        parts = audience.get("parts")
        if not isinstance(parts, list) or not 2 <= len(parts) <= MAX_PARTS:
            raise CampaignError(CampaignProblem.BAD_AUDIENCE_VALUE)
        checked = [validate_audience(part) for part in parts if isinstance(part, Mapping)]
        if len(checked) != len(parts) or any(p["kind"] in ("all", "all_of") for p in checked):
            raise CampaignError(CampaignProblem.BAD_AUDIENCE_VALUE)
        return {"kind": "all_of", "parts": checked}
    if kind == "all":
        return {"kind": "all"}
    if kind == "tag":
        tag = audience.get("tag")
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise CampaignError(CampaignProblem.BAD_AUDIENCE_VALUE)
        return {"kind": "tag", "tag": tag}
    if kind in _CHOICES:
        allowed = _CHOICES[kind]
        value = audience.get("value")
        if value not in {member.value for member in allowed}:
            raise CampaignError(CampaignProblem.BAD_AUDIENCE_VALUE)
        return {"kind": kind, "value": value}
    if kind == "quiet":
        days = audience.get("days")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_QUIET_DAYS:
            raise CampaignError(CampaignProblem.BAD_AUDIENCE_VALUE)
        return {"kind": "quiet", "days": days}
    raise CampaignError(CampaignProblem.UNKNOWN_AUDIENCE)


def audience_text(audience: Mapping[str, Any]) -> str:
    """An audience as it is typed (``tag:vip``); the inverse of ``parse_audience``."""
    kind = audience.get("kind")
    if kind == "all_of":
        return " ".join(audience_text(part) for part in audience["parts"])
    if kind == "tag":
        return f"tag:{audience['tag']}"
    if kind in _TYPED:
        return f"{_TYPED[kind]}:{audience['value']}"
    if kind == "quiet":
        return f"quiet:{audience['days']}"
    return "all"


def audience_conditions(audience: Mapping[str, Any], now: datetime) -> list[ColumnElement[bool]]:
    """The conditions on ``Customer`` of the customers ``audience`` reaches now."""
    return may_receive_care() + _conditions(validate_audience(audience), now)


def _conditions(audience: Mapping[str, Any], now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    kind = audience["kind"]
    if kind == "all_of":
        for part in audience["parts"]:
            conditions += _conditions(part, now)
    elif kind == "tag":
        conditions.append(
            exists().where(
                CustomerTag.customer_id == Customer.id, CustomerTag.tag == audience["tag"]
            )
        )
    elif kind in _COLUMNS:
        conditions.append(_COLUMNS[kind] == audience["value"])
    elif kind == "quiet":
        conditions.append(quiet_since_before(now - timedelta(days=audience["days"])))
    return conditions


def audience_query(audience: Mapping[str, Any], now: datetime) -> Select[int]:
    """The ids of the customers a campaign for ``audience`` reaches now.

    Args:
        audience: e.g. ``{"kind": "tag", "tag": "vip"}`` (see ``Campaign.audience``).
        now: the moment ``quiet`` audiences count back from.
    """
    return select(Customer.id).where(*audience_conditions(audience, now))


async def audience_size(session: AsyncSession, audience: Mapping[str, Any], now: datetime) -> int:
    """How many customers the audience reaches now."""
    query = select(func.count()).select_from(Customer).where(*audience_conditions(audience, now))
    return int(await session.scalar(query) or 0)


async def in_audience(
    session: AsyncSession, campaign: Campaign, customer_id: int, now: datetime
) -> bool:
    """Whether the campaign would reach this customer if it were planned now."""
    query = audience_query(campaign.audience, now).where(Customer.id == customer_id)
    return await session.scalar(query) is not None


# How many of an audience its preview names.
PREVIEW_NAMES = 10


async def audience_sample(
    session: AsyncSession, audience: Mapping[str, Any], now: datetime, limit: int = PREVIEW_NAMES
) -> list[tuple[int, str]]:
    """Some of the customers the audience reaches now (id and name, by id), so that staff
    see who, not only how many."""
    query = (
        select(Customer.id, Customer.first_name, Customer.last_name)
        .where(*audience_conditions(audience, now))
        .order_by(Customer.id)
        .limit(limit)
    )
    return [
        (customer_id, " ".join(part for part in (first, last) if part))
        for customer_id, first, last in await session.execute(query)
    ]
