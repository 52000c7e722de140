"""complaint_rating: every rating of every resolution of a complaint, for the reports

Until now a reopening emptied the complaint's rating columns, and the rating survived
only as an event. The table is filled from those events (the last press for each
resolution counts, as it did in the columns) and the comment of the rating in force.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import care.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# The tables as this revision knows them (the models may be newer).
COMPLAINT = sa.table(
    "complaint",
    sa.column("id", sa.Integer),
    sa.column("times_resolved", sa.Integer),
    sa.column("rating", sa.Integer),
    sa.column("rating_comment", sa.Text),
    sa.column("rated_at", care.models.UTCDateTime(timezone=True)),
)
EVENT = sa.table(
    "complaint_event",
    sa.column("id", sa.Integer),
    sa.column("complaint_id", sa.Integer),
    sa.column("type", sa.String),
    sa.column("to_status", sa.String),
    sa.column("note", sa.Text),
    sa.column("at", care.models.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    rating = op.create_table(
        "complaint_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("resolution", sa.Integer(), nullable=False),
        sa.Column("resolved_at", care.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_at", care.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_complaint_rating_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_rating")),
    )
    with op.batch_alter_table("complaint_rating", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaint_rating_complaint_resolution", ["complaint_id", "resolution"], unique=True
        )
        batch_op.create_index("ix_complaint_rating_rated_at", ["rated_at"], unique=False)
    rows = _ratings_so_far(op.get_bind())
    if rows:
        op.bulk_insert(rating, rows)


def _ratings_so_far(connection: sa.Connection) -> list[dict[str, Any]]:
    """One row per rated resolution, from the rating events and the complaint's columns.

    A rating event rates the last resolution at or before it (the customer can rate only
    a resolved or closed complaint); of several presses for one resolution the last
    counts. The comment in the columns belongs to the rating in force, the complaint's
    latest resolution.
    """
    resolutions: dict[int, list[datetime]] = {}
    for complaint_id, at in connection.execute(
        sa.select(EVENT.c.complaint_id, EVENT.c.at)
        .where(EVENT.c.type == "status", EVENT.c.to_status == "resolved")
        .order_by(EVENT.c.complaint_id, EVENT.c.at, EVENT.c.id)
    ):
        resolutions.setdefault(complaint_id, []).append(at)
    rated: dict[tuple[int, int], dict[str, Any]] = {}
    for complaint_id, note, at in connection.execute(
        sa.select(EVENT.c.complaint_id, EVENT.c.note, EVENT.c.at)
        .where(EVENT.c.type == "rating")
        .order_by(EVENT.c.complaint_id, EVENT.c.at, EVENT.c.id)
    ):
        times = resolutions.get(complaint_id, [])
        nth = bisect_right(times, at)
        if not (note or "").strip().isdigit() or not 1 <= int(note) <= 5 or nth == 0:
            continue
        rated[(complaint_id, nth)] = {
            "complaint_id": complaint_id,
            "resolution": nth,
            "resolved_at": times[nth - 1],
            "score": int(note),
            "comment": None,
            "rated_at": at,
        }
    for complaint_id, times_resolved, score, comment, rated_at in connection.execute(
        sa.select(
            COMPLAINT.c.id,
            COMPLAINT.c.times_resolved,
            COMPLAINT.c.rating,
            COMPLAINT.c.rating_comment,
            COMPLAINT.c.rated_at,
        ).where(COMPLAINT.c.rating.is_not(None))
    ):
        nth = max(times_resolved or 0, 1)
        row = rated.get((complaint_id, nth))
        if row is None:  # no event for it (written by hand?): the columns say it all
            times = resolutions.get(complaint_id, [])
            row = rated[(complaint_id, nth)] = {
                "complaint_id": complaint_id,
                "resolution": nth,
                "resolved_at": times[nth - 1] if len(times) >= nth else None,
                "score": score,
                "comment": None,
                "rated_at": rated_at,
            }
        row["comment"] = comment
    return list(rated.values())


def downgrade() -> None:
    # The complaint's columns kept the latest rating all along; earlier ones stay events.
    with op.batch_alter_table("complaint_rating", schema=None) as batch_op:
        batch_op.drop_index("ix_complaint_rating_rated_at")
        batch_op.drop_index("ix_complaint_rating_complaint_resolution")
    op.drop_table("complaint_rating")
