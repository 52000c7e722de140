"""Rate limits and planned faults: how the sandbox answers 429s, errors and delays.

:class:`RateLimiter` keeps Telegram's token buckets (over all chats, per chat, per group);
:class:`FaultPlan` holds what the control API planned (blocked users, errors, delays,
late answers, retry_after). Both belong to one :class:`~bot.sandbox.state.World`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.sandbox.spec import ApiError

Clock = Callable[[], float]


# -- rate limits ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateLimits:
    """How fast the bot may send; over a limit a call answers 429 with ``retry_after``.

    ``None`` for a rate lifts that one limit; ``enabled=False`` lifts them all.
    """

    global_per_second: float | None = 30.0
    per_chat_per_second: float | None = 1.0
    per_chat_burst: int = 3
    per_group_per_minute: float | None = 20.0
    enabled: bool = True

    @classmethod
    def telegram(cls) -> RateLimits:
        """Telegram's documented limits: 30/s overall, 1/s per chat (burst 3), 20/min per group."""
        return cls()

    @classmethod
    def off(cls) -> RateLimits:
        """No limits at all, like paid broadcasts (and what benchmarks want)."""
        return cls(enabled=False)

    def as_dict(self) -> dict[str, Any]:
        """Return the limits as the control API shows them."""
        return {
            "global_per_second": self.global_per_second,
            "per_chat_per_second": self.per_chat_per_second,
            "per_chat_burst": self.per_chat_burst,
            "per_group_per_minute": self.per_group_per_minute,
            "enabled": self.enabled,
        }

    def updated(self, changes: dict[str, Any]) -> RateLimits:
        """Return a copy with the control API's ``changes`` applied (unknown keys rejected)."""
        unknown = set(changes) - set(self.as_dict())
        if unknown:
            raise ValueError(f"unknown limit fields: {sorted(unknown)}")
        return replace(self, **changes)


@dataclass(slots=True)
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second."""

    capacity: float
    rate: float
    tokens: float
    stamp: float

    def wait_time(self, now: float) -> float:
        """Refill, then return how long until one token is there (0 when one is)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


class RateLimiter:
    """Token buckets over all chats, per chat and per group."""

    def __init__(self, limits: RateLimits, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self.limits = limits

    @property
    def limits(self) -> RateLimits:
        """The limits in force; setting them starts every bucket full."""
        return self._limits

    @limits.setter
    def limits(self, limits: RateLimits) -> None:
        self._limits = limits
        now = self._clock()
        self._global = (
            _full_bucket(limits.global_per_second, limits.global_per_second, now)
            if limits.global_per_second
            else None
        )
        self._per_chat: dict[int, TokenBucket] = {}
        self._per_group: dict[int, TokenBucket] = {}

    def acquire(self, chat_id: int, is_group: bool) -> int | None:
        """Take one send for ``chat_id``; return ``retry_after`` seconds if over a limit."""
        limits = self._limits
        if not limits.enabled:
            return None
        now = self._clock()
        buckets: list[TokenBucket] = []
        if self._global is not None:
            buckets.append(self._global)
        if limits.per_chat_per_second:
            bucket = self._per_chat.get(chat_id)
            if bucket is None:
                bucket = _full_bucket(limits.per_chat_burst, limits.per_chat_per_second, now)
                self._per_chat[chat_id] = bucket
            buckets.append(bucket)
        if is_group and limits.per_group_per_minute:
            bucket = self._per_group.get(chat_id)
            if bucket is None:
                per_minute = limits.per_group_per_minute
                bucket = _full_bucket(per_minute, per_minute / 60, now)
                self._per_group[chat_id] = bucket
            buckets.append(bucket)
        wait = max((bucket.wait_time(now) for bucket in buckets), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1
        return None


def _full_bucket(capacity: float, rate: float, now: float) -> TokenBucket:
    return TokenBucket(capacity=max(1.0, capacity), rate=rate, tokens=max(1.0, capacity), stamp=now)


# -- faults ---------------------------------------------------------------------------


@dataclass(slots=True)
class Fault:
    """One planned failure: it hits the next ``remaining`` calls that match it."""

    kind: Literal["error", "delay", "retry_after", "late_answer"]
    remaining: int
    method: str | None = None
    chat_id: int | None = None
    status: int = 400
    description: str | None = None
    seconds: float = 0.0

    def matches(self, method: str, chat_id: int | None) -> bool:
        """Say whether a call of ``method`` to ``chat_id`` is hit by this fault."""
        if self.method is None:
            # The polling loop calls getUpdates all the time; a fault that names no
            # method is meant for what the bot does, not for its heartbeat.
            if method == "getUpdates":
                return False
        elif self.method.lower() != method.lower():
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def as_error(self) -> ApiError:
        """Return the error this fault answers with."""
        if self.kind == "retry_after":
            seconds = max(1, math.ceil(self.seconds))
            return ApiError(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
        return ApiError(self.status, self.description or _default_description(self.status))


def _default_description(status: int) -> str:
    return {
        400: "Bad Request: chat not found",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request",
        429: "Too Many Requests: retry after 1",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }.get(status, f"Error {status}")


class FaultPlan:
    """Blocked users and the queue of planned errors, delays and 429s."""

    def __init__(self) -> None:
        self.blocked: set[int] = set()
        self.faults: list[Fault] = []

    def add(self, spec: dict[str, Any]) -> None:
        """Add a fault from its control API form; raise ``ValueError`` if malformed."""
        kind = spec.get("kind")
        if kind in ("blocked", "unblocked"):
            user_id = spec.get("user_id")
            if not isinstance(user_id, int):
                raise ValueError(f"{kind} needs an integer user_id")
            if kind == "blocked":
                self.blocked.add(user_id)
            else:
                self.blocked.discard(user_id)
            return
        if kind not in ("error", "delay", "retry_after", "late_answer"):
            raise ValueError(f"unknown fault kind {kind!r}")
        count = spec.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        chat_id = spec.get("chat_id")
        if chat_id is not None and not isinstance(chat_id, int):
            raise ValueError("chat_id must be an integer")
        fault = Fault(
            kind=kind,
            remaining=count,
            method=spec.get("method"),
            chat_id=chat_id,
            status=int(spec.get("status", 400)),
            description=spec.get("description"),
            seconds=float(spec.get("seconds", 1 if kind == "retry_after" else 0)),
        )
        if kind == "error" and not 400 <= fault.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if kind in ("delay", "late_answer") and fault.seconds <= 0:
            raise ValueError(f"{kind} needs seconds > 0")
        self.faults.append(fault)

    def clear(self) -> None:
        """Forget every fault, blocked users included."""
        self.blocked.clear()
        self.faults.clear()

    def take(self, method: str, chat_id: int | None) -> tuple[float, ApiError | None]:
        """Consume the faults that hit this call: ``(delay seconds, error or None)``."""
        if not self.faults:
            return 0.0, None
        delay, error = 0.0, None
        for fault in self.faults:
            if fault.kind == "late_answer":
                continue  # taken by take_late, once the call has taken effect
            if fault.remaining <= 0 or not fault.matches(method, chat_id):
                continue
            if fault.kind == "delay":
                if delay:
                    continue
                delay = fault.seconds
            elif error is None:
                error = fault.as_error()
            else:
                continue
            fault.remaining -= 1
        self.faults = [fault for fault in self.faults if fault.remaining > 0]
        return delay, error

    def take_late(self, method: str, chat_id: int | None) -> float:
        """Consume a ``late_answer`` fault that hits this call, which has taken effect:
        the seconds to wait before answering (the client may have given up by then)."""
        for fault in self.faults:
            if (
                fault.kind == "late_answer"
                and fault.remaining > 0
                and fault.matches(method, chat_id)
            ):
                fault.remaining -= 1
                self.faults = [f for f in self.faults if f.remaining > 0]
                return fault.seconds
        return 0.0
