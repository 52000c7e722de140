"""Who the care staff are, as handlers need to know it for every update, cheaply.

Each update is checked against an in-memory directory of the active staff members
(read again at most every ``ttl``, and at once after a change made here), so that:

- a staff member's name and username stay as Telegram shows them: when an update of
  theirs carries others, the record is changed (``care.staff.note_identity``);
- a staff member's private chat speaks the language they chose (``/mylanguage``), which
  :func:`chosen_language` gives to ``handlers.staff.staff_locale`` for this update.

Changes made by another process (``carebot staff add``, another bot process) are seen
within ``ttl``.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from care import staff as staff_members
from care.models import StaffMember

DIRECTORY_TTL = timedelta(seconds=30)

# The language the staff member behind this update chose (None: not staff, or none chosen).
_chosen_language: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "carebot_staff_language", default=None
)


@dataclass(frozen=True)
class KnownStaff:
    """A staff member as the directory holds them."""

    telegram_user_id: int
    telegram_name: str | None
    username: str | None
    language: str | None
    role: str
    telegram_locale: str | None = None


class StaffDirectory:
    """The active staff members by Telegram user id, read at most every ``ttl``."""

    def __init__(self, ttl: timedelta = DIRECTORY_TTL) -> None:
        self.ttl = ttl
        self._members: dict[int, KnownStaff] = {}
        self._read_at: datetime | None = None
        self._lock = asyncio.Lock()
        # Whose private chat this process gave the staff menu (handlers.staff_menu).
        self.menus_set: set[int] = set()

    def forget(self) -> None:
        """Read the directory again at its next use (after a change to the staff)."""
        self._read_at = None

    async def get(
        self, sessionmaker: async_sessionmaker[AsyncSession], now: datetime, user_id: int
    ) -> KnownStaff | None:
        """The staff member with this Telegram user id, if they are active staff."""
        if self._stale(now):
            async with self._lock:
                if self._stale(now):  # another update may have read it meanwhile
                    async with sessionmaker() as session:
                        members = await staff_members.active_staff_by_user(session)
                    self._members = {user: known(m) for user, m in members.items()}
                    self._read_at = now
        return self._members.get(user_id)

    def _stale(self, now: datetime) -> bool:
        read_at = self._read_at
        # A clock that went back (a test's) reads again too.
        return read_at is None or not read_at <= now < read_at + self.ttl

    def remember(self, known: KnownStaff) -> None:
        """Hold what this process just wrote about a staff member."""
        self._members[known.telegram_user_id] = known


def known(member: StaffMember) -> KnownStaff:
    return KnownStaff(
        member.telegram_user_id,
        member.telegram_name,
        member.username,
        member.language,
        member.role,
        member.telegram_locale,
    )


def telegram_name(first_name: str | None, last_name: str | None) -> str | None:
    """A user's name as Telegram shows it: first and last name."""
    return " ".join(part for part in (first_name, last_name) if part) or None


def chosen_language() -> str | None:
    """The language the staff member behind this update chose, if they chose one."""
    return _chosen_language.get()


def choose_language(locale: str | None) -> None:
    """Speak ``locale`` to the staff member behind this update from now on."""
    _chosen_language.set(locale)
