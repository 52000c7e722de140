"""complaint.times_resolved: how many times a complaint was resolved, so that each
resolution gets a follow-up of its own (``followup:resolution:<id>:<n>`` from the second)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 10:00:00.000000
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Every resolution is a status event to "resolved"; events are never deleted.
COUNT_RESOLUTIONS = """
UPDATE complaint SET times_resolved = (
    SELECT count(*) FROM complaint_event
    WHERE complaint_event.complaint_id = complaint.id
      AND complaint_event.type = 'status' AND complaint_event.to_status = 'resolved'
)
WHERE id IN (
    SELECT complaint_id FROM complaint_event WHERE type = 'status' AND to_status = 'resolved'
)
"""

# The tables as this revision knows them (the models may be newer).
COMPLAINT = sa.table(
    "complaint",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("resolved_at", care.models.UTCDateTime(timezone=True)),
    sa.column("times_resolved", sa.Integer),
)
EVENT = sa.table(
    "complaint_event",
    sa.column("complaint_id", sa.Integer),
    sa.column("type", sa.String),
    sa.column("to_status", sa.String),
    sa.column("at", care.models.UTCDateTime(timezone=True)),
)
OUTBOX = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("rule", sa.String),
    sa.column("dedupe_key", sa.String),
    sa.column("event_at", care.models.UTCDateTime(timezone=True)),
    sa.column("due_at", care.models.UTCDateTime(timezone=True)),
)
KEY = "followup:resolution:{complaint_id}"
FOLLOWED_UP = ("resolved", "closed")


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("times_resolved", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(COUNT_RESOLUTIONS)
    _number_later_resolutions(op.get_bind())


def _number_later_resolutions(connection: sa.Connection) -> None:
    """Give the rows planned before this revision the key the planner gives them now.

    Those rows have the complaint's key, whichever of its resolutions they follow up:
    until now a complaint had one follow-up in its life, for the first resolution that
    stayed resolved until the planner came. The first resolution keeps that key; a row
    that followed up the n-th (n ≥ 2) gets ``:<n>``, or the planner would plan that
    resolution again. A row's event is its resolution's time (``event_at``; for rows
    planned before 0005 kept it, when it was due). A row whose event is at or after the
    resolution in force follows that one up (its number is ``times_resolved``, whatever
    the events say); an earlier row, the last resolution at or before its event.
    """
    current: dict[str, tuple[datetime | None, int]] = {}
    for complaint_id, status, resolved_at, times_resolved in connection.execute(
        sa.select(
            COMPLAINT.c.id, COMPLAINT.c.status, COMPLAINT.c.resolved_at, COMPLAINT.c.times_resolved
        ).where(COMPLAINT.c.times_resolved >= 2)
    ):
        in_force = resolved_at if status in FOLLOWED_UP else None
        current[KEY.format(complaint_id=complaint_id)] = (in_force, times_resolved)
    if not current:
        return
    resolutions: dict[str, list[datetime]] = {}
    for complaint_id, at in connection.execute(
        sa.select(EVENT.c.complaint_id, EVENT.c.at)
        .where(
            EVENT.c.type == "status",
            EVENT.c.to_status == "resolved",
            EVENT.c.complaint_id.in_(
                sa.select(COMPLAINT.c.id).where(COMPLAINT.c.times_resolved >= 2)
            ),
        )
        .order_by(EVENT.c.complaint_id, EVENT.c.at)
    ):
        resolutions.setdefault(KEY.format(complaint_id=complaint_id), []).append(at)
    renamed = []
    for row_id, key, event_at, due_at in connection.execute(
        sa.select(OUTBOX.c.id, OUTBOX.c.dedupe_key, OUTBOX.c.event_at, OUTBOX.c.due_at).where(
            OUTBOX.c.rule == "after_resolution"
        )
    ):
        if key not in current:
            continue
        event = event_at or due_at
        in_force, times_resolved = current[key]
        if in_force is not None and event >= in_force:
            nth = times_resolved
        else:
            nth = bisect_right(resolutions.get(key, []), event)
        if nth >= 2:
            renamed.append({"b_id": row_id, "b_key": f"{key}:{nth}"})
    if renamed:
        connection.execute(
            sa.update(OUTBOX)
            .where(OUTBOX.c.id == sa.bindparam("b_id"))
            .values(dedupe_key=sa.bindparam("b_key")),
            renamed,
        )


def downgrade() -> None:
    # Renamed rows keep their keys: the code before this revision does not read a
    # complaint from them, and sends them as planned.
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("times_resolved")
