"""Commands that work in the middle of a dialogue (/language, /profile) offer buttons;
those buttons work there too, and the dialogue goes on where it was."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.models import Customer as CustomerRecord
from tests.e2e.conftest import PersonFactory
from tests.helpers import RunningBot, en, text_of, zh


async def language_of(sessionmaker: async_sessionmaker[AsyncSession], user_id: int) -> str | None:
    async with sessionmaker() as session:
        return await session.scalar(
            select(CustomerRecord.language).where(CustomerRecord.telegram_user_id == user_id)
        )


async def test_language_changed_while_filing_a_complaint_and_filing_goes_on(
    bot: RunningBot,
    person: PersonFactory,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    lin = await person("林", language_code="zh-hans")
    await lin.say("/complain")
    _, describe = await lin.press(zh("Delivery"))
    assert describe is not None and text_of(describe) == zh(
        "Please describe what happened, in your own words. You can also send photos or "
        "documents (up to 10)."
    )

    offer = await lin.say("/language")
    assert "English" in str(offer["reply_markup"])
    answer, changed = await lin.press(
        "English", message=offer, edited=lambda m: "reply_markup" not in m
    )
    assert answer != zh("This button belongs to an earlier step.")
    assert changed is not None and text_of(changed) == en("Language: {language}").format(
        language="English"
    )
    assert await language_of(sessionmaker, lin.id) == "en"

    # The complaint's description step is still waiting, now in English.
    more = await lin.say("The box came crushed.")
    assert text_of(more) == en(
        "Thank you. You can add photos or documents now (up to 10), or tap Continue."
    )
