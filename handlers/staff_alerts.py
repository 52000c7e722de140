"""Alerts for staff beyond the card: where they go, and delivering them one by one.

An alert is worked out inside a transaction (who gets it, in which words) and owed in
that transaction (``care.owed``): it goes out after the commit, with retries, each
message on its own. One that a chat refuses (a staff member who never opened a private
chat with the bot) goes to its fallback chat if it has one; the others still go.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from care import owed
from care import staff as staff_members
from care.models import StaffRole
from care.owed import Purpose


@dataclass(frozen=True)
class Notice:
    """One message for one chat (the staff group or a staff member's private chat).

    ``fallback_chat_id``: where to send it instead if ``chat_id`` cannot be reached (a
    warning meant for the assignee goes to the staff group rather than nowhere).
    """

    chat_id: int
    text: str
    complaint_id: int
    fallback_chat_id: int | None = None


async def supervisor_chats(session: AsyncSession) -> list[int]:
    """The private chats of the active supervisors (a private chat's id is the user's)."""
    return [
        member.telegram_user_id
        for member in await staff_members.list_staff(session)
        if member.role == StaffRole.SUPERVISOR.value
    ]


def to_group_and_supervisors(
    text: str, complaint_id: int, staff_chat_id: int | None, supervisors: Iterable[int]
) -> list[Notice]:
    """The same words for the staff group and for each supervisor in private."""
    chats = [staff_chat_id] if staff_chat_id is not None else []
    chats += [chat for chat in supervisors if chat not in chats]
    return [Notice(chat, text, complaint_id) for chat in chats]


def owe_notices(session: AsyncSession, notices: Iterable[Notice], now: datetime) -> None:
    """Owe each notice (in the caller's transaction); a chat that refuses one passes it to
    its fallback chat (``bot.owed_jobs``)."""
    for notice in notices:
        owed.owe(
            session, now=now, purpose=Purpose.ALERT, chat_id=notice.chat_id, text=notice.text,
            complaint_id=notice.complaint_id, fallback_chat_id=notice.fallback_chat_id,
        )  # fmt: skip
