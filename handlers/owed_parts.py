"""Owed messages whose words may not fit in one Telegram message.

A staff answer signed with the staff member's name, or a customer's message under its
header in the staff group, can be longer than Telegram takes (4,096 characters, a
caption 1,024) although the words themselves fit: they go in as many messages as they
need, marked "…(1/2)", never cut off.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from care import owed
from handlers.texts import MESSAGE_LIMIT, numbered_parts

CAPTION_LIMIT = 1024

# What the parts after the first keep of the first's: where they go, whom they are
# about (for /forget and ordering), and who is told if one cannot be delivered. The
# media, the source and what is recorded on delivery stay with the first.
_CONTINUED = frozenset(
    {
        "now",
        "purpose",
        "chat_id",
        "customer_id",
        "complaint_id",
        "conversation_id",
        "to_topic",
        "business_connection_id",
        "fallback_chat_id",
        "staff_message",
        "remember_as",
        "reply_to_card",
    }
)


def owe_whole(
    session: AsyncSession, *, text: str | None, media: bool = False, **fields: Any
) -> None:
    """Owe a message (``care.owed.owe``'s ``fields``) with all of ``text``: the first
    part with everything ``fields`` say but the buttons, then the rest as texts to the
    same place (one chat's owed messages go out in order), the buttons under the last.

    ``media``: the text is the caption of a photo, document or copy.
    """
    if text is None:
        owed.owe(session, **fields)
        return
    first_limit = CAPTION_LIMIT if media else MESSAGE_LIMIT
    first, *rest = numbered_parts(text, MESSAGE_LIMIT, first_limit)
    if not rest:
        owed.owe(session, text=first, **fields)
        return
    # Buttons answer the words: they go under the last part.
    buttons = fields.pop("buttons", None)
    owed.owe(session, text=first, **fields)
    continued = {name: value for name, value in fields.items() if name in _CONTINUED}
    for number, part in enumerate(rest, start=2):
        owed.owe(session, text=part, buttons=buttons if number == len(rest) + 1 else None,
                 **continued)  # fmt: skip
