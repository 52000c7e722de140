"""A message in the staff group that reaches nobody: say how to reach a customer.

Staff write to a customer by replying to a card or to the customer's relayed message,
in the customer's topic, or with /reply; a plain message in the group goes to no
customer. ``handlers.conversation_staff`` gives the hint for every staff-chat message
that reaches nobody. Staff also talk among
themselves there, so the hint is given at most once per staff member per ``every``
(in memory: after a restart one more hint is harmless).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import Update

from handlers.context import CareContext
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.staff_access import staff_locale

HINT_EVERY = timedelta(minutes=30)


class StrayHint:
    """Answers plain staff-group messages with how to reach a customer, rate-limited."""

    def __init__(self, every: timedelta = HINT_EVERY) -> None:
        self.every = every
        self._last: dict[int, datetime] = {}

    def due(self, user_id: int, now: datetime) -> bool:
        """Whether this member gets the hint now (and note that they got it)."""
        last = self._last.get(user_id)
        if last is not None and now - last < self.every:
            return False
        # Forget hints older than the interval, so the map stays as small as the team.
        self._last = {u: at for u, at in self._last.items() if now - at < self.every}
        self._last[user_id] = now
        return True

    async def __call__(self, update: Update, context: CareContext) -> None:
        """Tell a staff member that their message reached no customer, and how to."""
        message, user = update.effective_message, update.effective_user
        if message is None or user is None or user.is_bot:
            return
        services = context.services
        if not self.due(user.id, services.clock.now()):
            return
        with use_locale(staff_locale(update, services)):
            text = _(
                "This message reaches no customer. To write to a customer, reply to the card "
                "of their complaint (Reply button) or conversation, or to their message here, "
                "or send /reply <customer id or #conversation> and your answer."
            )
        await message.reply_text(text)
