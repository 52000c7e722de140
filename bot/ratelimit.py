"""Telegram's sending limits, all kept at once, for the outbox sender.

- **Overall**: at most ``global_per_second`` messages in any second (``paid_per_second``
  in paid-broadcast mode), as evenly spaced slots rather than bursts: a burst that
  leaves on time can still arrive bunched, and a steady pace leaves Telegram's own
  bucket full enough to absorb that.
- **Per chat**: a burst of ``per_chat_burst`` messages, then one per
  ``1/per_chat_per_second`` s (group chats: no burst). PTB's ``AIORateLimiter`` does
  not keep this one.
- **Per group** (negative chat ids): at most ``per_group_per_minute`` in any minute.
- **Pause**: after a 429 every send waits until ``retry_after`` has passed.

A request leaves when its slot comes but reaches Telegram a little later, and the
previous message to the same chat may have arrived later still. So the sender tells
the limiter when each answer came (:meth:`Limiter.answered`), and a chat's next message
is spaced from that moment; the per-chat and per-group spacings also get a small
``margin`` on top.

Slots are booked, not polled: :meth:`Limiter.acquire` books the next free overall slot
as soon as the chat's own limits allow, then sleeps until it. Many waiting senders
therefore wake in step with the pace, with no busy loop, at 30/s or 1,000/s alike. A
sender that wakes late (the event loop was busy) is also checked against the times the
last messages really left, so a stall is never followed by more than the overall
limit in one second.

The time source is injectable (``time`` and ``sleep``; by default the event loop's
clock), so tests can check the limits on a virtual clock.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable

from care.engine import DeliveryLimits

# Extra spacing for per-chat and per-group limits (seconds), see the module docstring.
DEFAULT_MARGIN = 0.05
# Forget chats idle for a while once this many are remembered.
_PRUNE_AT = 10_000
_GROUP_WINDOW = 60.0
# Waits shorter than this are rounding, not waits.
_EPSILON = 1e-6


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class Limiter:
    """Keeps every Telegram limit for the messages it lets through (see the module doc).

    Args:
        limits: The rates to keep.
        time: Monotonic seconds (default: the running event loop's clock).
        sleep: Waits that many seconds on the same clock (default ``asyncio.sleep``).
        margin: Extra seconds on each per-chat and per-group spacing.
    """

    def __init__(
        self,
        limits: DeliveryLimits,
        *,
        time: Callable[[], float] = _loop_time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        self.limits = limits
        self._time = time
        self._sleep = sleep
        per_second = limits.paid_per_second if limits.paid_broadcast else limits.global_per_second
        self._global_interval = 1.0 / per_second
        self._chat_interval = 1.0 / limits.per_chat_per_second + margin
        self._group_window = _GROUP_WINDOW + margin
        self._next_slot = float("-inf")  # the earliest free overall slot
        # When the last ``per_second`` messages left (acquire returned).
        self._left: deque[float] = deque(maxlen=max(1, math.floor(per_second)))
        self._paused_until = float("-inf")
        # GCRA per chat: the "theoretical arrival time" of the chat's next message.
        self._chat_due: dict[int, float] = {}
        # The times of each group's last ``per_group_per_minute`` messages.
        self._group_sent: dict[int, deque[float]] = {}
        self._prune_at = _PRUNE_AT

    @property
    def paid_broadcast(self) -> bool:
        """Whether sends go at the paid rate (and must say ``allow_paid_broadcast``)."""
        return self.limits.paid_broadcast

    @property
    def per_second(self) -> float:
        """The overall rate this limiter keeps."""
        return 1.0 / self._global_interval

    @property
    def paused_until(self) -> float:
        """Until when (on the limiter's clock) every send waits; in the past if none."""
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """Hold every send for ``seconds`` from now (Telegram answered 429 retry_after)."""
        until = self._time() + seconds
        if until > self._paused_until:
            self._paused_until = until
            self._next_slot = max(self._next_slot, until)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` keeps every limit, and count it as sent.

        Callers send one message per call, right after it returns, and call
        :meth:`answered` when Telegram answers. Messages to one chat should be sent one
        after another, each after the previous one's answer: the limiter spaces them, it
        does not order them.
        """
        while True:
            now = self._time()
            ready = self._ready_at(chat_id, now)
            if ready > now:
                await self._sleep(ready - now)
                continue
            slot = self._book(chat_id, now)
            if slot > now:
                await self._sleep(slot - now)
            if self._time() < self._paused_until:
                # A 429 came while this one waited: its slot is void (the chat's share
                # stays spent, which only errs on the slow side).
                continue
            await self._keep_the_second()
            return

    async def _keep_the_second(self) -> None:
        """Hold back a message that would be one too many in the last second.

        Slots are spaced evenly, but a sender woken late (the event loop was busy)
        would go out together with the next one on time: after a stall, several
        messages would leave at once. The times messages really leave are kept too.
        """
        while True:
            now = self._time()
            left = self._left
            wait = left[0] + 1.0 - now if len(left) == left.maxlen else 0.0
            if wait > _EPSILON:
                await self._sleep(wait)
                continue
            left.append(now)
            return

    def answered(self, chat_id: int) -> None:
        """Telegram answered the message just sent to ``chat_id``: count it as sent now.

        A request leaves at its slot but may reach Telegram any time until its answer
        comes. Counting the chat's last message at the latest moment it can have arrived
        keeps the chat's next one far enough behind it, however late this one was.
        (Moving a message later can only make the chat's earlier messages look farther
        apart, never closer.)
        """
        now = self._time()
        due = self._chat_due.get(chat_id)
        if due is not None:
            self._chat_due[chat_id] = max(due, now + self._chat_interval)
        sent = self._group_sent.get(chat_id)
        if sent:
            sent[-1] = max(sent[-1], now)

    # ------------------------------------------------------------------------ booking

    def _ready_at(self, chat_id: int, now: float) -> float:
        """The earliest time the pause and the chat's own limits allow a message."""
        ready = max(now, self._paused_until)
        due = self._chat_due.get(chat_id)
        if due is not None:
            burst = 1 if chat_id < 0 else max(1, self.limits.per_chat_burst)
            ready = max(ready, due - (burst - 1) * self._chat_interval)
        if chat_id < 0:
            sent = self._group_sent.get(chat_id)
            if sent is not None and len(sent) >= self.limits.per_group_per_minute:
                ready = max(ready, sent[0] + self._group_window)
        return ready

    def _book(self, chat_id: int, now: float) -> float:
        """Take the next overall slot for a chat that may send now; return its time."""
        slot = max(now, self._next_slot)
        self._next_slot = slot + self._global_interval
        self._chat_due[chat_id] = max(self._chat_due.get(chat_id, slot), slot) + (
            self._chat_interval
        )
        if chat_id < 0:
            sent = self._group_sent.setdefault(
                chat_id, deque(maxlen=self.limits.per_group_per_minute)
            )
            sent.append(slot)
        if len(self._chat_due) > self._prune_at:
            self._prune(now)
        return slot

    def _prune(self, now: float) -> None:
        """Forget chats whose limits no longer hold anything back."""
        self._chat_due = {chat: due for chat, due in self._chat_due.items() if due > now}
        self._group_sent = {
            group: sent
            for group, sent in self._group_sent.items()
            if sent and sent[-1] + self._group_window > now
        }
        # Chats still held back stay; do not scan them again at every booking.
        self._prune_at = max(_PRUNE_AT, 2 * len(self._chat_due))
