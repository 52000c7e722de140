"""Staff members (内客户): who may act on complaints and run campaigns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care.models import StaffMember, StaffRole


async def find_staff(session: AsyncSession, telegram_user_id: int) -> StaffMember | None:
    """The active staff member with this Telegram user id, if any."""
    return await session.scalar(
        select(StaffMember).where(
            StaffMember.telegram_user_id == telegram_user_id, StaffMember.active.is_(True)
        )
    )


async def add_staff(
    session: AsyncSession,
    telegram_user_id: int,
    role: StaffRole,
    now: datetime,
    name: str | None = None,
) -> StaffMember:
    """Add a staff member, or reactivate and change the role of an existing one."""
    member = await session.scalar(
        select(StaffMember).where(StaffMember.telegram_user_id == telegram_user_id)
    )
    if member is None:
        member = StaffMember(telegram_user_id=telegram_user_id, created_at=now)
        session.add(member)
    member.role = role.value
    member.active = True
    if name:
        member.name = name
    await session.flush()
    return member


async def remove_staff(session: AsyncSession, telegram_user_id: int) -> bool:
    member = await find_staff(session, telegram_user_id)
    if member is None:
        return False
    member.active = False
    await session.flush()
    return True


async def list_staff(session: AsyncSession) -> list[StaffMember]:
    return list(
        (
            await session.scalars(
                select(StaffMember)
                .where(StaffMember.active.is_(True))
                .order_by(StaffMember.role, StaffMember.id)
            )
        ).all()
    )


async def ensure_admins(
    session: AsyncSession, telegram_user_ids: Iterable[int], now: datetime
) -> None:
    """Make the configured admins (CAREBOT_ADMINS) admin staff members."""
    for user_id in telegram_user_ids:
        member = await find_staff(session, user_id)
        if member is None or member.role != StaffRole.ADMIN.value:
            await add_staff(session, user_id, StaffRole.ADMIN, now)
