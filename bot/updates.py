"""Concurrent update processing that keeps each chat's updates in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's own semaphore is taken before ``do_process_update`` (``process_update`` is final),
# that is before the per-chat lock. Made this wide, it never makes an update wait; the
# processor's own slots do the bounding, after the lock. (PTB reads
# ``max_concurrent_updates`` only to size that semaphore and to see that it is above 1.)
_NEVER_WAITS = 1_000_000


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Process updates of different chats at once, and those of one chat one by one.

    PTB starts a task per update in arrival order; asyncio locks are fair (FIFO), so the
    per-chat lock hands each chat's updates to the handlers in the order they came.
    Dialogues (ConversationHandler) rely on that: two quick answers in one chat must
    not race each other.

    An update takes one of the ``max_concurrent_updates`` slots only once it holds its
    chat's lock, so the updates queued behind one chat's lock hold no slots: a customer
    who sends 300 messages at once uses one slot, and the other chats get the rest.
    """

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        super().__init__(_NEVER_WAITS)
        self._limit = max_concurrent_updates
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        self._busy = 0

    @property
    def limit(self) -> int:
        """At most this many updates are processed at once."""
        return self._limit

    @property
    def current_concurrent_updates(self) -> int:
        """How many updates are being processed now (a snapshot)."""
        return self._busy

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self._key(update)
        if key is None:
            await self._in_slot(coroutine)
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await self._in_slot(coroutine)
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]

    async def _in_slot(self, coroutine: Awaitable[Any]) -> None:
        async with self._slots:
            self._busy += 1
            try:
                await coroutine
            finally:
                self._busy -= 1

    @staticmethod
    def _key(update: object) -> int | None:
        if not isinstance(update, Update):
            return None
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
        return None

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
