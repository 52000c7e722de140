"""Computed segments in words: customer type, quadrant, lifecycle stage, churn risk.

The seeds' names (docs/segments.md): 潜在 / 一次性 / 偶然 / 经常性客户, 明星 / 问题 /
现金牛 / 瘦狗, 突破期 … 暂停期.
"""

from __future__ import annotations

from care.models import CustomerType, LifecycleStage
from care.segments import ChurnReason, ChurnRisk, ValueSegment
from handlers.i18n import N_
from handlers.i18n import gettext as _

TYPE_LABELS = {
    CustomerType.POTENTIAL.value: N_("potential customer"),
    CustomerType.INTENDING.value: N_("intending customer"),
    CustomerType.SIGNED.value: N_("signed customer"),
    CustomerType.ONE_TIME.value: N_("one-time customer"),
    CustomerType.OCCASIONAL.value: N_("occasional customer"),
    CustomerType.REGULAR.value: N_("regular customer"),
}
SEGMENT_LABELS = {
    ValueSegment.STAR.value: N_("star (high value, strong relationship)"),
    ValueSegment.QUESTION.value: N_("question (high value, weak relationship)"),
    ValueSegment.CASH_COW.value: N_("cash cow (low value, strong relationship)"),
    ValueSegment.DOG.value: N_("dog (low value, weak relationship)"),
}
STAGE_LABELS = {
    LifecycleStage.BREAKTHROUGH.value: N_("breakthrough"),
    LifecycleStage.CONSOLIDATION.value: N_("consolidation"),
    LifecycleStage.GROWTH.value: N_("growth"),
    LifecycleStage.HARVEST.value: N_("harvest"),
    LifecycleStage.DEFENCE.value: N_("defence"),
    LifecycleStage.DORMANT.value: N_("dormant"),
    LifecycleStage.PAUSED.value: N_("paused"),
}
RISK_LABELS = {
    ChurnRisk.LOW.value: N_("low"),
    ChurnRisk.MEDIUM.value: N_("medium"),
    ChurnRisk.HIGH.value: N_("high"),
}
REASON_LABELS = {
    ChurnReason.QUIET.value: N_("quiet for longer than usual"),
    ChurnReason.LOW_RATING.value: N_("a low rating lately"),
    ChurnReason.OPEN_COMPLAINT.value: N_("a complaint not yet resolved"),
}


def label(labels: dict[str, str], value: str | None) -> str:
    """A value in words; one we have no words for as it is stored; none as "–"."""
    if value is None:
        return "–"
    known = labels.get(value)
    return _(known) if known is not None else value


def reasons_words(reasons: tuple[str, ...]) -> str:
    return ", ".join(label(REASON_LABELS, reason) for reason in reasons) or "–"


# A segment column's name, and the labels of its values.
FIELD_WORDS = {
    "customer_type": (N_("type"), TYPE_LABELS),
    "lifecycle_stage": (N_("lifecycle stage"), STAGE_LABELS),
    "value_segment": (N_("value × relationship"), SEGMENT_LABELS),
    "churn_risk": (N_("churn risk"), RISK_LABELS),
}


def change_words(field: str, old: str | None, new: str | None) -> str:
    """One segment change in words: "churn risk: low → high"."""
    name, labels = FIELD_WORDS.get(field, (field, {}))
    return f"{_(name)}: {label(labels, old)} → {label(labels, new)}"
