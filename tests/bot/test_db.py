"""Engines as bot.db makes them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.pool import QueuePool, StaticPool

from bot.db import SQLITE_POOL_SIZE, make_engine


async def test_a_sqlite_file_keeps_a_connection_per_update_handled_at_once(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'care.db'}")
    try:
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.size() == SQLITE_POOL_SIZE == 64
    finally:
        await engine.dispose()


async def test_an_in_memory_sqlite_keeps_its_single_connection() -> None:
    engine = make_engine("sqlite+aiosqlite://")
    try:
        assert isinstance(engine.pool, StaticPool)
    finally:
        await engine.dispose()
