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


async def active_staff_by_user(session: AsyncSession) -> dict[int, StaffMember]:
    """Every active staff member, by Telegram user id."""
    return {member.telegram_user_id: member for member in await list_staff(session)}


async def note_identity(
    session: AsyncSession,
    telegram_user_id: int,
    telegram_name: str | None,
    username: str | None,
    telegram_locale: str | None,
) -> bool:
    """Keep a staff member's name, username and app language as Telegram shows them now
    (a name or language Telegram leaves out keeps the one known).

    Returns:
        Whether anything changed (False also when they are not staff).
    """
    member = await find_staff(session, telegram_user_id)
    if member is None:
        return False
    now = (
        telegram_name or member.telegram_name,
        username,
        telegram_locale or member.telegram_locale,
    )
    if (member.telegram_name, member.username, member.telegram_locale) == now:
        return False
    member.telegram_name, member.username, member.telegram_locale = now
    await session.flush()
    return True


def reading_locale(member: StaffMember, default: str) -> str:
    """The locale a staff member reads in their private chat: the one they chose, else
    their Telegram app's as last seen, else ``default``."""
    return member.language or member.telegram_locale or default


async def set_language(
    session: AsyncSession, telegram_user_id: int, locale: str | None
) -> StaffMember | None:
    """Set the locale a staff member reads carebot in (None: their Telegram app's)."""
    member = await find_staff(session, telegram_user_id)
    if member is not None:
        member.language = locale
        await session.flush()
    return member


def signature(member: StaffMember) -> str | None:
    """How a staff member signs what customers read: the name an admin chose, else the
    one Telegram shows."""
    return member.name or member.telegram_name


async def everyone(session: AsyncSession) -> list[StaffMember]:
    """Every staff member there ever was, former ones too."""
    return list((await session.scalars(select(StaffMember).order_by(StaffMember.id))).all())
