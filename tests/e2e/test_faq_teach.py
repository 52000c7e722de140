"""Staff teach the FAQ customers' wording, end to end through the sandbox (issue 12):
``/faq same <id>`` sent as a reply to a customer's question that went to staff (no
match, "none of these", "ask a person" after an answer) makes its words a phrasing of
the entry, in the customer's language, and the next customer who asks that way is
answered; in a forum topic and in a plain group, in Chinese and English; refused for
anyone but admins, without a reply to such a question, for an unknown entry and for a
phrasing the base has already."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.faq_models import FaqEvent
from tests.conftest import CareTeam

# The forum staff chat, its bot and the test knowledge base are test_faq_staff's fixtures.
from tests.e2e.test_faq_staff import (  # noqa: F401
    Seat,
    customer_topic,
    entries,
    forum,
    forum_bot,
    knowledge,
)
from tests.helpers import Customer, RunningBot, all_owed_delivered, en, text_of, zh

USAGE = (
    "Send /faq same <entry id> as a reply to a customer's question that went to staff "
    "(its words become a phrasing of that entry; /faq same <entry id> <words> teaches your "
    "own wording of it instead)."
)
TAUGHT = (
    "✅ FAQ entry {id} now also answers ({language}): {phrasing}\n"
    "Customers who ask this way get its answer from now on."
)
SHOP_ANSWER_ZH = "蓝峰户外只在网上销售"
SHOP_ANSWER_EN = "Bluepeak Outdoor sells online only"


async def questions_kept(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str | None]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(FaqEvent.question).order_by(FaqEvent.id))).all())


async def test_a_chinese_question_nobody_matched_is_taught_in_its_topic(
    forum_bot: RunningBot, knowledge: None, client: SandboxClient, forum: dict[str, Any],  # noqa: F811
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    group = forum["group"]
    ming = Customer(client, await client.create_user("王小明", language_code="zh-hans"), timeout=20)
    # No entry shares a word with it: it goes to a person.
    thread = await customer_topic(client, forum, ming, "能不能先看看实物？")
    await all_owed_delivered(forum_bot)  # carebot has noted where the relay went
    relay = next(
        m for m in await client.transcript(group, thread) if text_of(m) == "能不能先看看实物？"
    )
    ada = Seat(client, group, forum["admin"], thread)
    wang = Seat(client, group, forum["agent"], thread)
    bo = Seat(client, group, forum["outsider"], thread)

    # Only admins teach; only as a reply to a customer's question; only a known entry.
    assert text_of(await bo.ask("/faq same shop-visit", reply_to=relay)) == zh(
        "Only care staff can do this."
    )
    assert text_of(await wang.ask("/faq same shop-visit", reply_to=relay)) == zh(
        "Only admins can write the FAQ."
    )
    assert text_of(await ada.ask("/faq same shop-visit")) == zh(USAGE)
    # Without an id: the likeliest entries, to choose from.
    likeliest = text_of(await ada.ask("/faq same", reply_to=relay))
    assert likeliest.startswith(
        zh("Which entry answers it? The likeliest: {entries}. Send /faq same <entry id>.").split(
            "{entries}"
        )[0]
    )
    assert "repair-service (帐篷杆断了能修吗？)" in likeliest
    own = await ada.say("王先生您好")
    assert text_of(await ada.ask("/faq same shop-visit", reply_to=own)) == zh(USAGE)
    assert text_of(await ada.ask("/faq same no-such-entry", reply_to=relay)) == zh(
        "There is no FAQ entry {id}."
    ).format(id="no-such-entry")
    assert (await entries(sessionmaker))["shop-visit"]["zh_CN"]["questions"] == [
        "你们有线下门店吗？", "可以去店里试穿吗？",
    ]  # fmt: skip

    taught = await ada.ask("/faq same shop-visit", reply_to=relay)
    assert text_of(taught) == zh(TAUGHT).format(
        id="shop-visit", language="中文", phrasing="能不能先看看实物？"
    )
    assert (await entries(sessionmaker))["shop-visit"]["zh_CN"]["questions"][-1] == (
        "能不能先看看实物？"
    )
    # Taught twice (a colleague at the same moment): refused, nothing doubled.
    assert text_of(await ada.ask("/faq same shop-visit", reply_to=relay)) == zh(
        "FAQ entry {id} already has this phrasing."
    ).format(id="shop-visit")
    # The teaching words stay in the staff chat: the customer got none of them.
    assert not any("shop-visit" in text_of(m) for m in await ming.transcript())

    # The next customer who asks that way (without the question mark) is answered.
    mei = Customer(client, await client.create_user("美美", language_code="zh-hans"), timeout=20)
    answer = await mei.say("能不能先看看实物")
    assert SHOP_ANSWER_ZH in text_of(answer)


async def test_none_of_these_and_not_helpful_in_a_plain_group_in_english(
    complaint_bot: RunningBot, knowledge: None, client: SandboxClient, care_team: CareTeam,  # noqa: F811
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    group = care_team.group_id
    ada = Seat(client, group, care_team.admin)
    anna = Customer(client, await client.create_user("Anna", language_code="en"), timeout=20)

    # Suggestions that miss; Anna presses "None of these — ask a person".
    offer = await anna.say("Can I touch the fabric before ordering?")
    assert text_of(offer) == en("Is your question one of these?")
    await anna.press(en("None of these — ask a person"), message=offer)
    relay = await client.wait_for_bot_message(
        group, lambda m: "Can I touch the fabric before ordering?" in text_of(m), timeout=20
    )
    await all_owed_delivered(complaint_bot)
    taught = await ada.ask("/faq same shop-visit", reply_to=relay)
    assert text_of(taught) == zh(TAUGHT).format(
        id="shop-visit", language="English", phrasing="Can I touch the fabric before ordering?"
    )
    en_questions = (await entries(sessionmaker))["shop-visit"]["en"]["questions"]
    assert en_questions[-1] == "Can I touch the fabric before ordering?"

    # Asked again, by someone else, in other case and punctuation: answered at once.
    ben = Customer(client, await client.create_user("Ben", language_code="en"), timeout=20)
    answer = await ben.say("can i touch the fabric before ordering")
    assert SHOP_ANSWER_EN in text_of(answer)

    # "Ask a person" after an answer: the question is a phrasing of refund-timing, and
    # a phrasing belongs to one entry.
    answer = await ben.say("How long does a refund take?")
    await ben.press(en("🙋 Ask a person"), message=answer)
    relay = await client.wait_for_bot_message(
        group,
        lambda m: "🙋" in text_of(m) and "How long does a refund take?" in text_of(m),
        timeout=20,
    )
    await all_owed_delivered(complaint_bot)
    assert text_of(await ada.ask("/faq same order-cancel", reply_to=relay)) == zh(
        "This is already a phrasing of FAQ entry {other}; a phrasing belongs to one entry only."
    ).format(other="refund-timing")
    # Her own wording of it instead: taught as given.
    taught = await ada.ask(
        "/faq same order-cancel Can I get my money back before it ships?", reply_to=relay
    )
    assert text_of(taught) == zh(TAUGHT).format(
        id="order-cancel", language="English",
        phrasing="Can I get my money back before it ships?",
    )  # fmt: skip
    # Kept: the words of the two questions that went to a person, and no others.
    kept = [question for question in await questions_kept(sessionmaker) if question is not None]
    assert kept == ["Can I touch the fabric before ordering?", "How long does a refund take?"]
