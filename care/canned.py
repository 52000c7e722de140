"""Canned answers: short saved answers staff send with ``/c <name>``.

An answer has a name (``refund_policy``) and one text per language; it is sent in the
customer's language, else in the company's default one, with ``{name}`` filled in with
the customer's name. Names are lower case, so ``/c Refund`` finds ``refund``; a prefix
finds every answer it starts (``/c ref`` → ``refund``, ``refund_policy``).
"""

from __future__ import annotations

import enum
import re
import string
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import CannedAnswer, StaffMember

NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")
# The one placeholder a canned text may hold.
PLACEHOLDERS = frozenset({"name"})
TEXT_LIMIT = 3500  # leaves room for the signature under Telegram's 4096


class CannedProblem(enum.StrEnum):
    """Why a canned answer cannot be saved as given."""

    BAD_NAME = "bad_name"  # not 1-32 of a-z, 0-9 and _, starting with a letter or digit
    EMPTY = "empty"
    TOO_LONG = "too_long"
    BAD_PLACEHOLDER = "bad_placeholder"  # a {field} other than {name}, or a lone brace


class CannedError(Exception):
    """The canned answer cannot be saved; nothing was changed."""

    def __init__(self, problem: CannedProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class Saved:
    answer: CannedAnswer
    replaced: bool  # there was a text in this language before


def normalized_name(name: str) -> str | None:
    """The name as stored (lower case), or None if it cannot be one."""
    name = name.strip().lower()
    return name if NAME.match(name) else None


def check_text(text: str) -> None:
    """Raise :class:`CannedError` unless ``text`` can be a canned answer's text."""
    if not text.strip():
        raise CannedError(CannedProblem.EMPTY)
    if len(text) > TEXT_LIMIT:
        raise CannedError(CannedProblem.TOO_LONG)
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:  # "{" or "}" alone
        raise CannedError(CannedProblem.BAD_PLACEHOLDER) from None
    for _literal, field, spec, conversion in parsed:
        # {name} as it is: no other field, no "!r" nor ":>10" (format's own language).
        if field is not None and (field not in PLACEHOLDERS or spec or conversion):
            raise CannedError(CannedProblem.BAD_PLACEHOLDER)


def filled(text: str, customer_name: str) -> str:
    """The text with ``{name}`` filled in (``{{`` and ``}}`` become braces)."""
    return text.format(name=customer_name)


async def save(
    session: AsyncSession,
    name: str,
    language: str,
    text: str,
    staff: StaffMember | None,
    now: datetime,
) -> Saved:
    """Save the text of a canned answer in one language, replacing the one there was.

    Raises:
        CannedError: The name or the text cannot be used.
    """
    stored_name = normalized_name(name)
    if stored_name is None:
        raise CannedError(CannedProblem.BAD_NAME)
    text = text.strip()
    check_text(text)
    answer = await find(session, stored_name, language)
    replaced = answer is not None
    if answer is None:
        answer = CannedAnswer(name=stored_name, language=language)
        session.add(answer)
    answer.text = text
    answer.staff_member_id = staff.id if staff is not None else None
    answer.updated_at = now
    await session.flush()
    return Saved(answer, replaced)


async def find(session: AsyncSession, name: str, language: str) -> CannedAnswer | None:
    """The text of the canned answer ``name`` in ``language``, if there is one."""
    return await session.scalar(
        select(CannedAnswer).where(CannedAnswer.name == name, CannedAnswer.language == language)
    )


async def all_answers(session: AsyncSession) -> list[CannedAnswer]:
    """Every canned answer's text, by name and language."""
    return list(
        (
            await session.scalars(
                select(CannedAnswer).order_by(CannedAnswer.name, CannedAnswer.language)
            )
        ).all()
    )


async def remove(session: AsyncSession, name: str, language: str | None = None) -> int:
    """Remove a canned answer (in one language, or in all); how many texts went."""
    stored_name = normalized_name(name)
    if stored_name is None:
        return 0
    statement = delete(CannedAnswer).where(CannedAnswer.name == stored_name)
    if language is not None:
        statement = statement.where(CannedAnswer.language == language)
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


async def matching_names(session: AsyncSession, typed: str) -> list[str]:
    """The names ``typed`` means: itself if it is one, else every name it starts."""
    wanted = typed.strip().lower()
    if not wanted:
        return []
    names = sorted(set((await session.scalars(select(CannedAnswer.name))).all()))
    if wanted in names:
        return [wanted]
    return [name for name in names if name.startswith(wanted)]


async def text_for(
    session: AsyncSession, name: str, locale: str, fallback_locale: str
) -> CannedAnswer | None:
    """The canned answer ``name`` in ``locale``, else in ``fallback_locale``."""
    return await find(session, name, locale) or await find(session, name, fallback_locale)
