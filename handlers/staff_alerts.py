"""Alerts for staff beyond the card: where they go, and delivering them one by one.

An alert is worked out inside a transaction (who gets it, in which words) and sent after
the commit, so that a slow or failing Telegram never holds a database lock. Each message
is sent on its own: one that fails (a staff member who never opened a private chat with
the bot, a network error after the bot's own retries) is logged and the others still go.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.error import TelegramError

from care import staff as staff_members
from care.models import StaffRole

log = logging.getLogger(__name__)


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


async def deliver(bot: Bot, notices: Iterable[Notice]) -> int:
    """Send each notice; a failure is logged and the rest are still sent.

    Returns:
        How many notices reached someone.
    """
    delivered = 0
    for notice in notices:
        if await _send(bot, notice.chat_id, notice):
            delivered += 1
        elif notice.fallback_chat_id is not None and await _send(
            bot, notice.fallback_chat_id, notice
        ):
            delivered += 1
    return delivered


async def _send(bot: Bot, chat_id: int, notice: Notice) -> bool:
    try:
        await bot.send_message(chat_id, notice.text)
    except TelegramError as error:
        log.warning(
            "complaint %s: alert to chat %s not delivered: %s", notice.complaint_id, chat_id, error
        )
        return False
    return True
