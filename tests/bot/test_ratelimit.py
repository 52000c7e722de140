"""The sender's rate limiter on a virtual clock: every Telegram limit at once."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest

from bot.ratelimit import Limiter
from care.engine import DeliveryLimits

EPSILON = 1e-9


@dataclass
class VirtualTime:
    """A clock that jumps to the next sleeper's wake-up once every task is waiting."""

    now: float = 0.0
    # Every n-th sleep wakes this much late, as when the event loop was busy.
    late_every: int = 0
    late_by: float = 0.0
    _sleepers: list[tuple[float, int, asyncio.Future[None]]] = field(default_factory=list)
    _order: itertools.count[int] = field(default_factory=itertools.count)

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        order = next(self._order)
        late = self.late_by if self.late_every and order % self.late_every == 0 else 0.0
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds) + late, order, future))
        await future

    async def run(self, *work: Awaitable[None], until: float = 10_000.0) -> None:
        """Run ``work`` to the end, moving the clock whenever everyone sleeps."""
        tasks = [asyncio.ensure_future(w) for w in work]
        while not all(task.done() for task in tasks):
            for _ in range(20):  # let every runnable task run until it sleeps again
                await asyncio.sleep(0)
            if not self._sleepers:
                continue
            wake = self._sleepers[0][0]
            assert wake <= until, "virtual time ran away"
            self.now = max(self.now, wake)
            while self._sleepers and self._sleepers[0][0] <= self.now:
                heapq.heappop(self._sleepers)[2].set_result(None)
        for task in tasks:
            task.result()


def most_in_any_window(times: Sequence[float], window: float) -> int:
    """The largest number of ``times`` within any half-open window ``[t, t + window)``."""
    ordered = sorted(times)
    most = start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - window + EPSILON:
            start += 1
        most = max(most, end - start + 1)
    return most


def keeps_chat_rate(times: Sequence[float], burst: int, interval: float) -> bool:
    """Whether ``times`` keep a token bucket of ``burst`` refilled every ``interval``:
    any ``burst + 1`` messages in a row span at least one interval, and no window of
    ``w`` seconds holds more than ``burst + w / interval``."""
    spans = [b - a for a, b in zip(times, times[burst:], strict=False)]
    windows = (interval, 2 * interval, 5 * interval, 10 * interval)
    return all(span >= interval - EPSILON for span in spans) and all(
        most_in_any_window(times, w) <= burst + w / interval for w in windows
    )


def limiter_on(clock: VirtualTime, limits: DeliveryLimits, margin: float = 0.0) -> Limiter:
    return Limiter(limits, time=clock.time, sleep=clock.sleep, margin=margin)


def sender(
    limiter: Limiter, clock: VirtualTime, chat_id: int, count: int, log: list[tuple[float, int]]
) -> Callable[[], Awaitable[None]]:
    """Send ``count`` messages to one chat, one after another (as the outbox does)."""

    async def send() -> None:
        for _ in range(count):
            await limiter.acquire(chat_id)
            log.append((clock.now, chat_id))

    return send


async def test_never_more_than_the_overall_rate_in_any_second_and_no_slower() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock, DeliveryLimits(global_per_second=30))
    log: list[tuple[float, int]] = []
    await clock.run(*(sender(limiter, clock, 1000 + n, 1, log)() for n in range(300)))
    times = [t for t, _ in log]
    assert len(times) == 300
    assert most_in_any_window(times, 1.0) == 30
    # Evenly spaced, and nothing left on the table: 300 messages take 10 s.
    assert max(times) == pytest.approx(299 / 30)


async def test_senders_woken_late_do_not_go_out_together_with_those_on_time() -> None:
    clock = VirtualTime(late_every=7, late_by=0.3)
    limiter = limiter_on(clock, DeliveryLimits(global_per_second=30))
    log: list[tuple[float, int]] = []
    await clock.run(*(sender(limiter, clock, 1000 + n, 1, log)() for n in range(300)))
    times = [t for t, _ in log]
    assert len(times) == 300
    assert most_in_any_window(times, 1.0) <= 30
    assert max(times) < 300 / 30 + 1.0  # and hardly slower


async def test_one_chat_gets_its_burst_then_one_message_per_interval() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock, DeliveryLimits(per_chat_per_second=1, per_chat_burst=3))
    log: list[tuple[float, int]] = []
    await clock.run(sender(limiter, clock, 42, 12, log)())
    times = [t for t, _ in log]
    assert times[:3] == pytest.approx([0.0, 1 / 30, 2 / 30])  # the burst, at the global pace
    assert times[3] == pytest.approx(1.0)  # the first token back
    assert all(b - a >= 1.0 - EPSILON for a, b in itertools.pairwise(times[3:]))
    assert keeps_chat_rate(times, 3, 1.0)


@pytest.mark.parametrize("burst", [1, 5])
async def test_a_chat_gets_a_burst_of_the_configured_size_and_the_next_one_waits(
    burst: int,
) -> None:
    clock = VirtualTime()
    limits = DeliveryLimits(global_per_second=30, per_chat_per_second=1, per_chat_burst=burst)
    limiter = limiter_on(clock, limits)
    log: list[tuple[float, int]] = []
    await clock.run(sender(limiter, clock, 42, burst + 2, log)())
    times = [t for t, _ in log]
    # The burst goes at the overall pace; the message after it waits for a token.
    assert times[:burst] == pytest.approx([n / 30 for n in range(burst)])
    assert times[burst] == pytest.approx(1.0)
    assert times[burst + 1] == pytest.approx(2.0)
    assert keeps_chat_rate(times, burst, 1.0)


async def test_the_margin_spaces_a_chats_messages_a_little_more() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock, DeliveryLimits(per_chat_burst=1), margin=0.1)
    log: list[tuple[float, int]] = []
    await clock.run(sender(limiter, clock, 42, 4, log)())
    assert [t for t, _ in log] == pytest.approx([0.0, 1.1, 2.2, 3.3])


async def test_a_chats_next_message_is_spaced_from_when_the_last_was_answered() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock, DeliveryLimits(per_chat_burst=1))
    log: list[tuple[float, int]] = []

    async def slow_answers() -> None:
        for _ in range(3):
            await limiter.acquire(42)
            log.append((clock.now, 42))
            await clock.sleep(0.4)  # the request is on its way this long
            limiter.answered(42)

    await clock.run(slow_answers())
    assert [t for t, _ in log] == pytest.approx([0.0, 1.4, 2.8])


async def test_a_group_gets_at_most_twenty_a_minute_and_one_a_second() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock, DeliveryLimits(per_group_per_minute=20))
    log: list[tuple[float, int]] = []
    await clock.run(sender(limiter, clock, -100123, 50, log)())
    times = [t for t, _ in log]
    assert most_in_any_window(times, 60.0) == 20
    assert most_in_any_window(times, 1.0) == 1
    assert times[20] == pytest.approx(60.0)  # the 21st waits for the first to age out


async def test_busy_chats_keep_their_limits_while_the_rest_use_the_overall_rate() -> None:
    clock = VirtualTime()
    limits = DeliveryLimits(global_per_second=30, per_chat_burst=3)
    limiter = limiter_on(clock, limits)
    log: list[tuple[float, int]] = []
    work = [sender(limiter, clock, 7, 20, log)(), sender(limiter, clock, -5, 25, log)()]
    work += [sender(limiter, clock, 2000 + n, 2, log)() for n in range(200)]
    await clock.run(*work)
    times = [t for t, _ in log]
    assert len(times) == 20 + 25 + 400
    assert most_in_any_window(times, 1.0) <= 30
    busy = [t for t, chat in log if chat == 7]
    assert keeps_chat_rate(busy, 3, 1.0)
    group = [t for t, chat in log if chat == -5]
    assert most_in_any_window(group, 60.0) <= 20
    # The single-message chats are not held up behind the busy ones.
    assert max(t for t, chat in log if chat >= 2000) < 420 / 30 + 1


async def test_a_pause_holds_everyone_until_it_ends() -> None:
    clock = VirtualTime()
    limiter = limiter_on(clock, DeliveryLimits(global_per_second=30))
    log: list[tuple[float, int]] = []

    async def telegram_says_429_at_one_second() -> None:
        await clock.sleep(1.0)
        limiter.pause(5.0)

    work = [sender(limiter, clock, 3000 + n, 1, log)() for n in range(120)]
    await clock.run(telegram_says_429_at_one_second(), *work)
    times = [t for t, _ in log]
    assert len(times) == 120
    assert not [t for t in times if 1.0 < t < 6.0]
    assert len([t for t in times if t <= 1.0]) == 31  # 0, 1/30 … 30/30
    assert min(t for t in times if t > 1.0) == pytest.approx(6.0)
    assert most_in_any_window(times, 1.0) <= 30


async def test_a_longer_pause_wins_and_a_shorter_one_changes_nothing() -> None:
    clock = VirtualTime(now=100.0)
    limiter = limiter_on(clock, DeliveryLimits())
    limiter.pause(10)
    limiter.pause(3)
    assert limiter.paused_until == 110.0
    log: list[tuple[float, int]] = []
    await clock.run(sender(limiter, clock, 1, 1, log)())
    assert log == [(110.0, 1)]


async def test_paid_broadcast_goes_at_the_paid_rate() -> None:
    clock = VirtualTime()
    limits = DeliveryLimits(paid_broadcast=True, paid_per_second=1000)
    limiter = limiter_on(clock, limits)
    assert limiter.paid_broadcast and limiter.per_second == 1000
    log: list[tuple[float, int]] = []
    await clock.run(*(sender(limiter, clock, 5000 + n, 1, log)() for n in range(3000)))
    times = [t for t, _ in log]
    assert most_in_any_window(times, 1.0) == 1000
    assert max(times) == pytest.approx(2.999)


async def test_the_default_clock_is_the_event_loops() -> None:
    limiter = Limiter(DeliveryLimits(global_per_second=100, per_chat_burst=1), margin=0.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(3):
        await limiter.acquire(1)
    assert loop.time() - start >= 2.0 - 0.01
