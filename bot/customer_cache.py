"""The customer cache: known customers by Telegram user id, so most updates read nothing.

``handlers.common.identify_customer`` asks it first and puts what it finds on the
context as a ``handlers.context.CustomerView``; handlers see the cache only through the
``handlers.context.KnownCustomers`` protocol. It is kept right by being told, after
each commit of the application's sessions, what that commit changed (``bot.db``'s
session hooks build the :class:`CustomerChanges`).

The rule that keeps it right: every change to a customer's record goes through the
application's sessions, as ORM objects or ORM-enabled statements (``update(Customer)``),
which the hooks see. A Core statement on the customer table bypasses them;
``tests/bot/test_customer_cache.py`` fails on one outside its allow-list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from care.clock import Clock
from care.models import Customer
from handlers.context import CustomerView


@dataclass(frozen=True)
class CustomerChanges:
    """What one committed transaction changed of customers and their complaints."""

    customers: set[int] | None
    """Customers whose records changed (None: maybe any)."""
    current: dict[int, Customer]
    """Of those, the ones the session holds, as the transaction left them (not deleted)."""
    complaints_of: set[int] | None
    """Customers whose complaints changed, were added or deleted (None: maybe any)."""
    begun: int
    """What the watcher's ``ticket()`` said when the transaction began."""


class CustomerCache:
    """Known customers by Telegram user id, so that most updates need no database read.

    Kept right by being told, after each commit, what it changed (:meth:`committed`;
    ``bot.db`` does it for every session of the application's sessionmaker): a customer
    that transaction holds is kept as it left them, unless another commit changed them
    while it ran; other changed customers are forgotten. It also knows whether a
    customer has an open complaint, once a handler has looked (:meth:`note_open_complaints`),
    and forgets that whenever their complaints change. Changes made elsewhere (another
    process, such as ``carebot import``) show after ``ttl`` at the latest.

    A reader takes a :meth:`ticket` before it reads the database and hands it to
    :meth:`put`: what it read is not kept if that customer changed in between, since the
    read may have seen the state from before the change.
    """

    def __init__(
        self, clock: Clock, ttl: timedelta = timedelta(seconds=30), max_size: int = 10_000
    ) -> None:
        self._clock = clock
        self._ttl = ttl
        self._max_size = max_size
        self._entries: dict[int, tuple[CustomerView, datetime]] = {}
        self._user_of: dict[int, int] = {}  # customer id -> Telegram user id
        self._generation = 0
        self._changed_at: dict[int, int] = {}  # customer id -> generation of its last change
        self._floor = 0  # tickets older than this are refused (after forgetting everyone)

    def get(self, user_id: int) -> CustomerView | None:
        """The customer with this Telegram user id, if known and not too old."""
        found = self._entries.get(user_id)
        if found is None:
            return None
        known, expires = found
        if self._clock.now() >= expires:
            self._drop(user_id)
            return None
        return known

    def ticket(self) -> int:
        """A mark to take before reading a customer from the database; see :meth:`put`."""
        return self._generation

    def put(self, user_id: int, known: CustomerView, ticket: int) -> None:
        """Keep what was read, unless the customer changed since ``ticket`` was taken."""
        if self._unchanged_since(known.id, ticket):
            self._keep(user_id, known)

    def note_open_complaints(
        self, user_id: int, customer_id: int, open_complaints: bool, ticket: int
    ) -> None:
        """Remember whether the customer has an open complaint, as read after ``ticket``."""
        known = self.get(user_id)
        if known is not None and known.id == customer_id:
            self.put(user_id, replace(known, open_complaints=open_complaints), ticket)

    def committed(self, changes: CustomerChanges) -> None:
        """Take in what a commit changed: keep customers as it left them, or forget them."""
        if changes.customers is None or changes.complaints_of is None:
            self.forget(None)
            return
        # Kept only if no other commit changed them since this transaction began: its
        # objects may hold what it read before that change.
        keep = {
            customer_id: customer
            for customer_id, customer in changes.current.items()
            if customer.telegram_user_id is not None
            and self._unchanged_since(customer_id, changes.begun)
        }
        before = {customer_id: self._entry_of(customer_id) for customer_id in keep}
        self.forget(changes.customers | changes.complaints_of)
        for customer_id, customer in keep.items():
            assert customer.telegram_user_id is not None
            known = CustomerView.of(customer)
            earlier = before[customer_id]
            if earlier is not None and customer_id not in changes.complaints_of:
                known = replace(known, open_complaints=earlier.open_complaints)
            self._keep(customer.telegram_user_id, known)

    def forget(self, customer_ids: Iterable[int] | None) -> None:
        """Drop these customers (None: everyone), whose records just changed."""
        self._generation += 1
        if customer_ids is None:
            self._entries.clear()
            self._user_of.clear()
            self._changed_at.clear()
            self._floor = self._generation
            return
        for customer_id in customer_ids:
            self._changed_at[customer_id] = self._generation
            user_id = self._user_of.get(customer_id)
            if user_id is not None:
                self._drop(user_id)
        if len(self._changed_at) > self._max_size:
            # Forget the oldest changes; in exchange, refuse every read begun before now.
            self._changed_at.clear()
            self._floor = self._generation

    def _unchanged_since(self, customer_id: int, ticket: int) -> bool:
        return ticket >= self._floor and self._changed_at.get(customer_id, -1) <= ticket

    def _entry_of(self, customer_id: int) -> CustomerView | None:
        user_id = self._user_of.get(customer_id)
        return None if user_id is None else self.get(user_id)

    def _keep(self, user_id: int, known: CustomerView) -> None:
        self._drop(user_id)
        while len(self._entries) >= self._max_size:
            self._drop(next(iter(self._entries)))  # the oldest
        self._entries[user_id] = (known, self._clock.now() + self._ttl)
        self._user_of[known.id] = user_id

    def _drop(self, user_id: int) -> None:
        found = self._entries.pop(user_id, None)
        if found is not None:
            self._user_of.pop(found[0].id, None)
