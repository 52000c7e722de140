"""Upset customers are noticed in both languages, and calm ones are not (issue 9, item 16)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import CareTeam
from tests.e2e.conftest import PersonFactory
from tests.e2e.test_complaints import complaints_in_db
from tests.helpers import Person, RunningBot, text_of


async def file_about_service(person: Person, text: str, labels: tuple[str, ...]) -> str:
    """Go through /complain (category "service attitude"); the bot's last words."""
    category, go_on, no_reference, submit = labels
    await person.say("/complain")
    await person.press(category)
    await person.say(text)
    await person.press(go_on)
    await person.press(no_reference)
    _, filed = await person.press(submit)
    assert filed is not None
    return text_of(filed)


async def test_chinese_anger_gets_priority_and_apology_and_calm_words_do_not(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    zh = ("服务态度", "继续", "没有", "提交")
    angry = await person("小红", language_code="zh-hans")
    said = await file_about_service(angry, "门店店员态度恶劣，还骂人，太过分了！", zh)
    assert "抱歉" in said and "理解" in said, said
    calm = await person("小明", language_code="zh-hans")
    said = await file_about_service(calm, "我想投诉一下，买的垃圾袋有几个是破的，能补发吗", zh)
    assert "抱歉" not in said, said

    first, second = await complaints_in_db(sessionmaker)
    assert (first.priority, first.agitated) == ("high", True)
    assert (second.priority, second.agitated) == ("normal", False)


async def test_english_anger_gets_priority_and_an_issue_is_no_alarm(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    person: PersonFactory,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    en = ("Service attitude", "Continue", "No reference", "Submit")
    angry = await person("Emma", language_code="en")
    said = await file_about_service(angry, "The cashier yelled at me. I'm fed up.", en)
    assert "truly sorry" in said, said
    calm = await person("Tom", language_code="en")
    said = await file_about_service(calm, "There is an issue with the tissue box I got.", en)
    assert "truly sorry" not in said, said

    first, second = await complaints_in_db(sessionmaker)
    assert (first.priority, first.agitated) == ("high", True)
    assert (second.priority, second.agitated) == ("normal", False)
