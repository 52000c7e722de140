"""FAQ deflection: how many customers the FAQ's answers served without a person.

Counted from the FAQ's events (``care.faq_models.FaqEvent``) of the period, in the
database (the same rules as ``care.faq.faq_stats``, which the FAQ's own commands use):

- **Answers**: the FAQ sent an entry's answer (directly, or the customer pressed a
  suggested entry).
- **Deflected**: an answer not followed, within ``quiet_after`` (``CAREBOT_FAQ_QUIET_MINUTES``),
  by the same customer's "ask a person" under that entry or by another message or
  command from them (a button press is not one).
- **Helpful**: "✅ That helped" pressed in the period.
- **Hand-offs**: messages no entry fitted (they went to a person at once) and "ask a
  person" presses, of the messages the FAQ saw (answered, handed off, or answered with
  suggestions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from care.faq_models import FaqEvent, FaqEventKind
from care.models import Contact, ContactKind, Direction
from care.reports.period import Period
from care.reports.sql import dialect_of, plus_seconds, ratio

__all__ = ["FaqFigures", "faq_figures"]

K = FaqEventKind
ANSWERS = (K.ANSWERED.value, K.PICKED.value)


@dataclass(frozen=True)
class FaqFigures:
    answers: int
    deflected: int
    helpful: int
    asked_person: int
    handed_off: int
    suggested_messages: int

    @property
    def seen(self) -> int:
        """The customers' messages the FAQ saw."""
        return self.answers + self.handed_off + self.suggested_messages

    @property
    def deflection_rate(self) -> float | None:
        return ratio(self.deflected, self.answers)

    @property
    def helpful_rate(self) -> float | None:
        return ratio(self.helpful, self.answers)

    @property
    def handoff_rate(self) -> float | None:
        return ratio(self.handed_off + self.asked_person, self.seen)

    def as_dict(self) -> dict[str, Any]:
        return {
            "faq_answers": self.answers,
            "faq_deflected": self.deflected,
            "faq_deflection_rate": self.deflection_rate,
            "faq_helpful": self.helpful,
            "faq_helpful_rate": self.helpful_rate,
            "faq_asked_person": self.asked_person,
            "faq_handed_off": self.handed_off,
            "faq_handoff_rate": self.handoff_rate,
        }


def _in(column: Any, period: Period) -> Any:
    return and_(column >= period.start, column < period.end)


async def faq_figures(
    session: AsyncSession, period: Period, quiet_after: timedelta = timedelta(minutes=10)
) -> FaqFigures:
    """The FAQ figures of ``period`` (counts; the rates are None when nothing was
    measured)."""
    dialect = dialect_of(session)
    seconds = int(quiet_after.total_seconds())
    until = plus_seconds(dialect, FaqEvent.at, seconds)
    asked = aliased(FaqEvent)
    asked_soon = exists().where(
        asked.kind == K.ASKED_PERSON.value,
        asked.customer_id == FaqEvent.customer_id,
        asked.entry_id == FaqEvent.entry_id,
        asked.at >= FaqEvent.at,
        asked.at <= until,
    )
    wrote_soon = exists().where(
        Contact.customer_id == FaqEvent.customer_id,
        Contact.direction == Direction.INBOUND.value,
        Contact.kind != ContactKind.BUTTON.value,
        Contact.created_at > FaqEvent.at,
        Contact.created_at <= until,
    )
    answers, deflected = (
        await session.execute(
            select(func.count(), func.count().filter(~asked_soon & ~wrote_soon)).where(
                FaqEvent.kind.in_(ANSWERS), FaqEvent.entry_id.is_not(None), _in(FaqEvent.at, period)
            )
        )
    ).one()
    kinds = dict(
        (
            await session.execute(
                select(FaqEvent.kind, func.count())
                .where(
                    FaqEvent.kind.in_((K.HELPFUL.value, K.ASKED_PERSON.value, K.HANDED_OFF.value)),
                    _in(FaqEvent.at, period),
                )
                .group_by(FaqEvent.kind)
            )
        ).all()
    )
    # One message answered with suggestions gives one event per suggestion, at once.
    suggested = (
        select(FaqEvent.customer_id, FaqEvent.at)
        .where(FaqEvent.kind == K.SUGGESTED.value, _in(FaqEvent.at, period))
        .group_by(FaqEvent.customer_id, FaqEvent.at)
        .subquery()
    )
    suggested_messages = await session.scalar(select(func.count()).select_from(suggested))
    return FaqFigures(
        answers=int(answers or 0),
        deflected=int(deflected or 0),
        helpful=int(kinds.get(K.HELPFUL.value, 0)),
        asked_person=int(kinds.get(K.ASKED_PERSON.value, 0)),
        handed_off=int(kinds.get(K.HANDED_OFF.value, 0)),
        suggested_messages=int(suggested_messages or 0),
    )
