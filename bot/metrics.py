"""What ``GET /metrics`` shows (Prometheus text format, prometheus-client).

One registry per application (no process-global state): the inbox counts updates and
times their handlers as they go; the outbox sender's counts and the SLA breaches on
record are read when the page is asked for.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from care.models import ComplaintEvent, ComplaintEventType

# Handler latency buckets (seconds): a reply is expected well within a second.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """carebot's metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.updates_received = Counter(
            "carebot_updates_received", "Updates written to the inbox", registry=registry
        )
        self.updates_handled = Counter(
            "carebot_updates_handled", "Updates handled and marked done", registry=registry
        )
        self.updates_failed = Counter(
            "carebot_updates_failed",
            "Handlings that failed (tried again later, or parked)",
            registry=registry,
        )
        self.handler_seconds = Histogram(
            "carebot_handler_seconds",
            "Time from taking an update from the inbox to its handlers' end",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.outbox_sent = Gauge(
            "carebot_outbox_sent", "Care messages sent by this process's outbox sender",
            registry=registry,
        )  # fmt: skip
        self.outbox_failed = Gauge(
            "carebot_outbox_failed", "Care messages given up by this process's outbox sender",
            registry=registry,
        )  # fmt: skip
        self.outbox_rate_limited = Gauge(
            "carebot_outbox_rate_limited", "429 answers to this process's outbox sender",
            registry=registry,
        )  # fmt: skip
        self.sla_breaches = Gauge(
            "carebot_sla_breaches", "SLA breaches on record (all processes)", registry=registry
        )
        self.last_update_age = Gauge(
            "carebot_last_update_age_seconds",
            "Seconds since this process last received a new update (-1: none yet)",
            registry=registry,
        )

    async def read_database(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """Read what only the database knows (the SLA breaches on record)."""
        async with sessionmaker() as session:
            breaches = await session.scalar(
                select(func.count())
                .select_from(ComplaintEvent)
                .where(ComplaintEvent.type == ComplaintEventType.SLA_BREACH.value)
            )
        self.sla_breaches.set(int(breaches or 0))

    def text(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)
