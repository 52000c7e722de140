"""Ratings (满意度): the customer's 1-5 for each resolution of a complaint, kept for reports.

A complaint reopened and resolved again is rated again; each resolution's rating is a
row of its own (``ComplaintRating``) that a reopening never erases. The complaint's own
``rating``, ``rating_comment`` and ``rated_at`` repeat its latest rating, for the card.
``care.complaints.rate`` checks that a complaint may be rated and records the event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import Complaint, ComplaintRating

# Telegram's limit for a message: a comment is kept whole.
MAX_COMMENT = 4096


def is_kept_comment(complaint: Complaint, text: str) -> bool:
    """Whether ``text`` is the comment already kept on the complaint's rating: the same
    message handled a second time (its update comes again when the process died before
    marking it handled), whose alert staff have had."""
    kept = complaint.rating_comment
    return kept is not None and kept == text.strip()[:MAX_COMMENT]


def _resolution(complaint: Complaint) -> int:
    """Which resolution a rating now rates: the latest (1 for one never counted)."""
    return max(complaint.times_resolved, 1)


async def rating_in_force(session: AsyncSession, complaint: Complaint) -> ComplaintRating | None:
    """The rating of the complaint's latest resolution, if the customer gave one."""
    return await session.scalar(
        select(ComplaintRating).where(
            ComplaintRating.complaint_id == complaint.id,
            ComplaintRating.resolution == _resolution(complaint),
        )
    )


async def record_rating(
    session: AsyncSession, complaint: Complaint, score: int, now: datetime
) -> bool:
    """Keep ``score`` as the rating of the complaint's latest resolution.

    A new score for a resolution already rated replaces it (its comment stays); the
    ratings of earlier resolutions are left alone.

    Returns:
        Whether anything changed (False: that resolution already has this score).
    """
    rating = await rating_in_force(session, complaint)
    if rating is not None and rating.score == score:
        return False
    if rating is None:
        rating = ComplaintRating(
            complaint_id=complaint.id,
            resolution=_resolution(complaint),
            resolved_at=complaint.resolved_at,
            score=score,
            rated_at=now,
        )
        session.add(rating)
    else:
        rating.score = score
        rating.rated_at = now
    complaint.rating = score
    complaint.rated_at = now
    complaint.rating_comment = rating.comment
    await session.flush()
    return True


async def add_comment(session: AsyncSession, complaint: Complaint, text: str) -> bool:
    """Keep the customer's comment on the rating of the latest resolution.

    Returns:
        False when that resolution has no rating (nothing was kept).
    """
    rating = await rating_in_force(session, complaint)
    if rating is None:
        return False
    rating.comment = complaint.rating_comment = text.strip()[:MAX_COMMENT] or None
    await session.flush()
    return True


async def ratings_of(session: AsyncSession, complaint_id: int) -> list[ComplaintRating]:
    """Every rating of one complaint, first resolution first."""
    rows = await session.scalars(
        select(ComplaintRating)
        .where(ComplaintRating.complaint_id == complaint_id)
        .order_by(ComplaintRating.resolution)
    )
    return list(rows.all())


async def ratings(
    session: AsyncSession, since: datetime | None = None, until: datetime | None = None
) -> list[ComplaintRating]:
    """Every rating given in ``[since, until)`` (either end open), oldest first: what
    satisfaction reports count."""
    query = select(ComplaintRating).order_by(ComplaintRating.rated_at, ComplaintRating.id)
    if since is not None:
        query = query.where(ComplaintRating.rated_at >= since)
    if until is not None:
        query = query.where(ComplaintRating.rated_at < until)
    return list((await session.scalars(query)).all())
