"""A complaint reopened and resolved again keeps the rating of each resolution, with its
comment, for the reports (issue 9, item 15)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care import complaints, ratings
from care.models import Complaint
from handlers.buttons import Rating
from tests.conftest import CareTeam
from tests.e2e.test_sla_and_survey import has_data, load, resolve, resolved_message, said
from tests.helpers import Person, RunningBot, filed_complaint, text_of


async def rows(
    sessionmaker: async_sessionmaker[AsyncSession], complaint_id: int
) -> list[tuple[int, int, str | None]]:
    async with sessionmaker() as session:
        return [
            (r.resolution, r.score, r.comment)
            for r in await ratings.ratings_of(session, complaint_id)
        ]


async def rate(customer: Person, complaint_id: int, score: int) -> str:
    """Press ``score`` on the newest "resolved" notification; the answer to the press."""
    message = await resolved_message(customer)
    newest = [m for m in await customer.bot_messages() if has_data(m, Rating.PREFIX)][-1]
    assert newest["message_id"] >= message["message_id"]
    answer, _ = await customer.press_data(newest["message_id"], Rating(complaint_id, score).pack())
    return answer


async def test_the_customer_reopens_after_a_low_rating_and_both_ratings_stay_in_chinese(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, user = await filed_complaint(
        complaint_bot, client, language="zh_CN", first_name="小明", text="洗衣机漏水"
    )
    xiaoming = Person(client, user)
    await resolve(complaint_bot, complaint_id, care_team.agent, "已更换密封圈")
    assert await rate(xiaoming, complaint_id, 2) == said("zh_CN", "Thank you!")
    thanks = await xiaoming.say("师傅没修好，还在漏")
    assert text_of(thanks) == said(
        "zh_CN", "Thank you, your comment has been passed on to our team."
    )
    _, told = await xiaoming.press(said("zh_CN", "Reopen my complaint"))
    assert told is not None
    assert (await load(sessionmaker, complaint_id)).status == "reopened"
    assert await rows(sessionmaker, complaint_id) == [(1, 2, "师傅没修好，还在漏")]

    await resolve(complaint_bot, complaint_id, care_team.agent, "换了新的洗衣机")
    assert await rate(xiaoming, complaint_id, 4) == said("zh_CN", "Thank you!")
    await xiaoming.say("这次好了，谢谢")

    assert await rows(sessionmaker, complaint_id) == [
        (1, 2, "师傅没修好，还在漏"),
        (2, 4, "这次好了，谢谢"),
    ]
    complaint = await load(sessionmaker, complaint_id)
    assert (complaint.rating, complaint.rating_comment) == (4, "这次好了，谢谢"), "the latest"


async def test_the_same_score_for_a_second_resolution_is_a_new_rating_in_english(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, user = await filed_complaint(complaint_bot, client, language="en")
    emma = Person(client, user)
    await resolve(complaint_bot, complaint_id, care_team.agent, "New kettle sent")
    assert await rate(emma, complaint_id, 5) == said("en", "Thank you!")
    assert text_of(await emma.say("/skip")) == "All right. Thank you again for your rating!"

    # Staff reopen it (the new kettle leaks too) and resolve it again.
    assert complaint_bot.built is not None
    services = complaint_bot.built.services
    async with services.sessionmaker.begin() as session:
        complaint = await session.get_one(Complaint, complaint_id)
        await complaints.reopen(session, complaint, services.sla, services.clock.now())
    await resolve(complaint_bot, complaint_id, care_team.agent, "Refunded")
    assert await rate(emma, complaint_id, 5) == said("en", "Thank you!"), "not a repeat"
    assert await rows(sessionmaker, complaint_id) == [(1, 5, None), (2, 5, None)]
