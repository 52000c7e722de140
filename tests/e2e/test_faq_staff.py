"""Staff write the FAQ in Telegram and FAQ answers wait for staff where a person already
handles the conversation, end to end through the sandbox (issue 12): ``/faq add`` in the
staff chat and in an admin's private chat, ``/faq save`` on a staff answer in a forum
topic and in a plain group, "Send it" under an answer the FAQ would have sent; in
Chinese and English; refused for anyone but care staff (and, to write, admins)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care import faq
from care import staff as staff_members
from care.clock import ManualClock
from care.conversation_models import Conversation
from care.faq_files import read_toml
from care.faq_models import FaqEntry, FaqEvent
from care.models import StaffRole
from tests.conftest import CareTeam
from tests.helpers import (
    Customer,
    Message,
    RunningBot,
    all_owed_delivered,
    buttons,
    en,
    text_of,
    wait_until,
    zh,
)

# A small knowledge base written for the tests (a fresh clone has no ../shared).
KB = Path(__file__).resolve().parents[1] / "data" / "faq" / "kb.toml"
TOPICS = {"can_manage_topics": True}
SAVE_PROMPT = (
    "Save this answer as a FAQ entry ({language}). Send the question as customers ask "
    "it (several phrasings: one per line)."
)
QUESTION_PROMPT = (
    "{language}: send the question as customers ask it (several phrasings: one per line)."
)


@dataclass
class Seat:
    """A user writing in one place: a chat, or a topic of a forum."""

    client: SandboxClient
    chat: int
    user: dict[str, Any]
    thread: int | None = None

    def _here(self, message: Message) -> bool:
        return self.thread is None or message.get("message_thread_id") == self.thread

    async def say(self, text: str, reply_to: Message | None = None) -> Message:
        return await self.client.send_text(
            self.chat, self.user["id"], text,
            reply_to_message_id=reply_to["message_id"] if reply_to else None,
            message_thread_id=self.thread,
        )  # fmt: skip

    async def bot_after(self, after: Message, predicate: Any = None) -> Message:
        return await self.client.wait_for_bot_message(
            self.chat,
            lambda m: self._here(m) and (predicate is None or predicate(m)),
            after_message_id=after["message_id"],
            timeout=20,
        )

    async def ask(self, text: str, reply_to: Message | None = None) -> Message:
        """Write, and the bot's answer to it (quoting it, in a group)."""
        sent = await self.say(text, reply_to)
        if self.chat > 0:
            return await self.bot_after(sent)
        return await self.bot_after(
            sent, lambda m: m.get("reply_to_message_id") == sent["message_id"]
        )

    async def press(self, message: Message, label: str) -> str:
        data = next(
            b["callback_data"]
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row
            if b["text"] == label
        )
        return await self.press_data(message, data)

    async def press_data(self, message: Message, data: str) -> str:
        query = await self.client.press(self.chat, self.user["id"], message["message_id"], data)
        answer = await self.client.wait_for_callback_answer(query, timeout=20)
        return str(answer.get("text") or "")


async def entries(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, dict[str, Any]]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(FaqEntry).order_by(FaqEntry.id))
        return {row.id: row.texts for row in rows}


async def last_bot_message(client: SandboxClient, chat: int) -> Message:
    return (await client.bot_messages(chat))[-1]


# --- a forum staff chat with an admin, an agent and someone who is not staff -------------


@pytest.fixture
async def forum(
    client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> dict[str, Any]:
    admin = await client.create_user("Ada", language_code="en")
    agent = await client.create_user("王丽", language_code="zh-hans")
    outsider = await client.create_user("Bo", language_code="en")
    admin2 = await client.create_user("Kai", language_code="en")
    group = await client.create_group(
        "Care staff", [admin["id"], agent["id"], outsider["id"], admin2["id"]], is_forum=True,
        bot_rights=TOPICS,
    )  # fmt: skip
    async with sessionmaker.begin() as session:
        await staff_members.add_staff(
            session, admin2["id"], StaffRole.ADMIN, clock.now(), name="Kai"
        )
        await staff_members.add_staff(
            session, admin["id"], StaffRole.ADMIN, clock.now(), name="Ada"
        )
        await staff_members.add_staff(
            session, agent["id"], StaffRole.AGENT, clock.now(), name="王丽"
        )
    return {
        "group": group["id"], "admin": admin, "agent": agent, "outsider": outsider,
        "admin2": admin2,
    }  # fmt: skip


@pytest.fixture
async def forum_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, forum: dict[str, Any]
) -> AsyncIterator[RunningBot]:
    running = RunningBot(sandbox, database_url, clock, staff_chat_id=forum["group"])
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def knowledge(sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    async with sessionmaker.begin() as session:
        assert (await faq.import_entries(session, read_toml(KB.read_bytes()), clock.now())).ok


async def customer_topic(
    client: SandboxClient, forum: dict[str, Any], customer: Customer, text: str
) -> int:
    """The customer writes; the thread of their topic once the message is in it."""
    await client.send_text(customer.id, customer.id, text)
    found: list[int] = []

    async def copied() -> bool:
        for topic in await client.topics(forum["group"]):
            thread = topic.get("message_thread_id")
            if thread is None:
                continue
            if any(text in text_of(m) for m in await client.transcript(forum["group"], thread)):
                found.append(thread)
                return True
        return False

    await wait_until(copied, 20)
    return found[0]


# --- /faq add ---------------------------------------------------------------------------


async def test_faq_add_in_the_staff_chat_in_chinese_with_bad_input_and_cancel(
    forum_bot: RunningBot, client: SandboxClient, forum: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    ada = Seat(client, forum["group"], forum["admin"])
    wang = Seat(client, forum["group"], forum["agent"])
    bo = Seat(client, forum["group"], forum["outsider"])

    # Nobody but care staff, and of staff only admins, may write the FAQ.
    assert text_of(await bo.ask("/faq add")) == zh("Only care staff can do this.")
    assert text_of(await wang.ask("/faq add")) == zh("Only admins can write the FAQ.")

    asked = await ada.ask("/faq add")
    assert text_of(asked) == zh(
        "A new FAQ entry. Which language is it in? (/cancel stops at any step.)"
    )
    assert buttons(asked) == ["中文", "English", zh("✖ Cancel")]
    # Typing instead of choosing: asked to use the buttons.
    assert text_of(await ada.ask("中文")) == zh(
        "Please choose the language with the buttons above."
    )
    # The draft is Ada's: her colleague's press does nothing to it.
    assert await wang.press(asked, "中文") == zh("Only admins can write the FAQ.")
    assert await ada.press(asked, "中文") == zh(QUESTION_PROMPT).format(language="中文")
    assert await ada.press(asked, "中文") == zh("Already chosen.")

    # A photo is no question; a 501-character question is too long.
    photo = await client.send_photo(forum["group"], forum["admin"]["id"])
    said = await ada.bot_after(photo, lambda m: m.get("reply_to_message_id") == photo["message_id"])
    assert text_of(said) == zh(
        "Send the question as text, as customers ask it (several phrasings: one per line)."
    )
    too_long = await ada.ask("问" * 501)
    assert text_of(too_long) == zh(
        "A question can be at most {limit} characters. Please send a shorter one."
    ).format(limit=500)

    # Someone else's message in the chat is not part of Ada's draft (a stray message).
    await wang.say("大家好")
    prompt = await ada.ask("发票怎么开？\n可以开发票吗？")
    assert text_of(prompt) == zh("Now send the answer.")
    # Telegram carries no text over 4,096 characters (the answer's limit); a sticker is
    # no answer.
    sticker = await client.send_sticker(forum["group"], forum["admin"]["id"])
    said = await ada.bot_after(
        sticker, lambda m: m.get("reply_to_message_id") == sticker["message_id"]
    )
    assert text_of(said) == zh("Send the answer as text; it cannot be empty.")
    preview = await ada.ask("下单时填写发票抬头，发货后电子发票发到邮箱。")
    assert text_of(preview).startswith(zh("New FAQ entry ({language}):").format(language="中文"))
    assert "? 发票怎么开？\n? 可以开发票吗？" in text_of(preview)
    assert buttons(preview) == [zh("💾 Save"), zh("✖ Cancel")]

    said = await ada.press(preview, zh("💾 Save"))
    assert said == zh("✅ Saved as FAQ entry {id} (/faq show {id}).").format(id="faq-1")
    # Pressed again (a double tap): nothing more is saved.
    assert await ada.press(preview, zh("💾 Save")) == zh(
        "This FAQ draft is no longer open (saved or cancelled, or a colleague's)."
    )
    assert await entries(sessionmaker) == {
        "faq-1": {
            "zh_CN": {
                "questions": ["发票怎么开？", "可以开发票吗？"],
                "answer": "下单时填写发票抬头，发货后电子发票发到邮箱。",
            }
        }
    }

    # /cancel at any step leaves nothing behind; the next message is the chat's again.
    await ada.ask("/faq add")
    cancelled = await ada.ask("/cancel")
    assert text_of(cancelled) == zh("Cancelled; nothing was saved.")
    assert len(await entries(sessionmaker)) == 1

    # Two admins, two drafts in the same chat: each message goes to its writer's draft.
    kai = Seat(client, forum["group"], forum["admin2"])
    ada_asked, kai_asked = await ada.ask("/faq add"), await kai.ask("/faq add")
    assert await kai.press(ada_asked, "中文") == zh(
        "This FAQ draft is no longer open (saved or cancelled, or a colleague's)."
    )
    await ada.press(ada_asked, "中文")
    await kai.press(kai_asked, "English")
    assert text_of(await kai.ask("How long does delivery take?")) == zh("Now send the answer.")
    assert text_of(await ada.ask("多久发货？")) == zh("Now send the answer.")
    preview = await kai.ask("2-3 days.")
    assert "? How long does delivery take?\n\n2-3 days." in text_of(preview)
    await kai.press(preview, zh("💾 Save"))
    saved = await entries(sessionmaker)
    assert saved["how-long-does-delivery-take"] == {
        "en": {"questions": ["How long does delivery take?"], "answer": "2-3 days."}
    }
    assert text_of(await ada.ask("/cancel")) == zh("Cancelled; nothing was saved.")


async def test_faq_add_in_an_admins_private_chat_in_english(
    forum_bot: RunningBot, client: SandboxClient, forum: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    admin = forum["admin"]
    ada = Seat(client, admin["id"], admin)

    asked = await ada.ask("/faq add")
    assert text_of(asked) == en(
        "A new FAQ entry. Which language is it in? (/cancel stops at any step.)"
    )
    prompt = en(QUESTION_PROMPT).format(language="English")
    assert await ada.press(asked, "English") == prompt
    await ada.bot_after(asked, lambda m: text_of(m) == prompt)
    assert text_of(await ada.ask("Do you ship to Macau?")) == en("Now send the answer.")
    preview = await ada.ask("Yes: 3-5 working days, shipping 30 yuan.")
    assert "? Do you ship to Macau?" in text_of(preview)
    done = await ada.press(preview, en("💾 Save"))
    assert done == en("✅ Saved as FAQ entry {id} (/faq show {id}).").format(
        id="do-you-ship-to-macau"
    )
    saved = await entries(sessionmaker)
    assert (
        saved["do-you-ship-to-macau"]["en"]["answer"] == "Yes: 3-5 working days, shipping 30 yuan."
    )

    # The new entry answers customers at once.
    anna = Customer(client, await client.create_user("Anna", language_code="en"), timeout=20)
    answer = await anna.say("Do you ship to Macau?")
    assert "3-5 working days" in text_of(answer)


# --- /faq save --------------------------------------------------------------------------


async def test_faq_save_on_a_staff_answer_in_a_topic_in_chinese_and_english(
    forum_bot: RunningBot, client: SandboxClient, forum: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock,
) -> None:  # fmt: skip
    group = forum["group"]
    ming = Customer(client, await client.create_user("王小明", language_code="zh-hans"), timeout=20)
    thread = await customer_topic(client, forum, ming, "你们的门店周日开门吗？")
    wang = Seat(client, group, forum["agent"], thread)
    ada = Seat(client, group, forum["admin"], thread)
    answer = await wang.say("周日照常营业，10:00-20:00。")
    await client.wait_for_bot_message(ming.id, lambda m: "10:00-20:00" in text_of(m), timeout=20)

    # An agent may not; Ada replies /faq save to 王丽's answer.
    assert text_of(await wang.ask("/faq save", reply_to=answer)) == zh(
        "Only admins can write the FAQ."
    )
    assert text_of(await ada.ask("/faq save")) == zh(
        "Send /faq save as a reply to a staff answer in a conversation."
    )
    asked = await ada.ask("/faq save", reply_to=answer)
    assert text_of(asked).startswith(
        zh(
            "Save this answer as a FAQ entry ({language}). Send the question as customers ask "
            "it (several phrasings: one per line)."
        ).format(language="中文")
    )
    assert "你们的门店周日开门吗？" in text_of(asked)
    said = await ada.press(asked, zh("Use the customer's question"))
    assert said == zh("The customer's question it is.")
    preview = await ada.bot_after(asked, lambda m: zh("💾 Save") in buttons(m))
    assert "? 你们的门店周日开门吗？" in text_of(preview)
    await ada.press(preview, zh("💾 Save"))
    saved = await entries(sessionmaker)
    assert saved["faq-1"] == {
        "zh_CN": {"questions": ["你们的门店周日开门吗？"], "answer": "周日照常营业，10:00-20:00。"}
    }

    # A draft left alone for an hour is forgotten: Ada's next words go to the customer.
    await ada.ask("/faq save", reply_to=answer)
    clock.advance(timedelta(hours=1))
    await ada.say("王小明您好，还有别的问题吗？")
    await client.wait_for_bot_message(ming.id, lambda m: "还有别的问题吗" in text_of(m), timeout=20)

    # English: the admin types the phrasing in the customer's topic: it is the draft's,
    # never sent to the customer.
    anna = Customer(client, await client.create_user("Anna", language_code="en"), timeout=20)
    thread = await customer_topic(client, forum, anna, "Can I pay with Alipay?")
    wang, ada = (
        Seat(client, group, forum["agent"], thread),
        Seat(client, group, forum["admin"], thread),
    )
    answer = await wang.say("Yes, Alipay and WeChat Pay both work.")
    await client.wait_for_bot_message(anna.id, lambda m: "WeChat Pay" in text_of(m), timeout=20)
    asked = await ada.ask("/faq save", reply_to=answer)
    assert text_of(asked).startswith(zh(SAVE_PROMPT).format(language="English"))
    preview = await ada.ask("Do you take Alipay?\nCan I pay by WeChat?")
    assert "? Do you take Alipay?\n? Can I pay by WeChat?" in text_of(preview)
    await ada.press(preview, zh("💾 Save"))
    saved = await entries(sessionmaker)
    assert saved["do-you-take-alipay"] == {
        "en": {
            "questions": ["Do you take Alipay?", "Can I pay by WeChat?"],
            "answer": "Yes, Alipay and WeChat Pay both work.",
        }
    }
    assert not any("Do you take Alipay" in text_of(m) for m in await client.transcript(anna.id))


async def test_faq_save_in_a_plain_group(
    complaint_bot: RunningBot, client: SandboxClient, care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    group = care_team.group_id
    wang = Seat(client, group, care_team.agent)
    ada = Seat(client, group, care_team.admin)
    anna = Customer(client, await client.create_user("Anna", language_code="en"), timeout=20)
    sent = await client.send_text(anna.id, anna.id, "Is the blue kettle back in stock?")
    relayed = await client.wait_for_bot_message(
        group, lambda m: "blue kettle" in text_of(m), timeout=20
    )
    await all_owed_delivered(complaint_bot)  # carebot has noted where the relay went
    assert sent
    answer = await wang.say("It is back from Monday.", reply_to=relayed)
    await client.wait_for_bot_message(anna.id, lambda m: "from Monday" in text_of(m), timeout=20)

    asked = await ada.ask("/faq save", reply_to=answer)
    assert text_of(asked).startswith(zh(SAVE_PROMPT).format(language="English"))
    await ada.press(asked, zh("Use the customer's question"))
    preview = await ada.bot_after(asked, lambda m: zh("💾 Save") in buttons(m))
    await ada.press(preview, zh("💾 Save"))
    assert await entries(sessionmaker) == {
        "is-the-blue-kettle-back-in-stock": {
            "en": {
                "questions": ["Is the blue kettle back in stock?"],
                "answer": "It is back from Monday.",
            }
        }
    }

    # Chinese: a plain-group answer to a Chinese-speaking customer, phrasing typed.
    ming = Customer(client, await client.create_user("王小明", language_code="zh-hans"), timeout=20)
    await client.send_text(ming.id, ming.id, "保修期是多久？")
    relayed = await client.wait_for_bot_message(
        group, lambda m: "保修期是多久" in text_of(m), timeout=20
    )
    await all_owed_delivered(complaint_bot)  # carebot has noted where the relay went
    answer = await wang.say("整机保修一年。", reply_to=relayed)
    await client.wait_for_bot_message(ming.id, lambda m: "整机保修一年" in text_of(m), timeout=20)
    asked = await ada.ask("/faq save", reply_to=answer)
    assert text_of(asked).startswith(zh(SAVE_PROMPT).format(language="中文"))
    preview = await ada.ask("保修多久？")
    await ada.press(preview, zh("💾 Save"))
    saved = await entries(sessionmaker)
    assert saved["faq-1"] == {"zh_CN": {"questions": ["保修多久？"], "answer": "整机保修一年。"}}


# --- FAQ answers offered to staff -------------------------------------------------------


async def suggestions(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> list[tuple[str, str | None]]:
    async with sessionmaker() as session:
        rows = await session.scalars(select(FaqEvent).order_by(FaqEvent.id))
        return [(row.kind, row.entry_id) for row in rows]


async def test_an_answer_in_a_conversation_staff_handle_is_offered_to_them_in_the_topic(
    forum_bot: RunningBot, knowledge: None, client: SandboxClient, forum: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    group = forum["group"]
    anna = Customer(client, await client.create_user("Anna", language_code="en"), timeout=20)
    # A greeting no entry fits: it opens a conversation, and 王丽 answers it.
    thread = await customer_topic(client, forum, anna, "Hello?")
    wang = Seat(client, group, forum["agent"], thread)
    bo = Seat(client, group, forum["outsider"], thread)
    await wang.say("Hello Anna, how can I help?")
    await client.wait_for_bot_message(anna.id, lambda m: "how can I help" in text_of(m), timeout=20)

    async def answer_recorded() -> bool:
        # Recorded once she has it (a moment after Telegram showed it to her).
        async with sessionmaker() as session:
            answered = await session.scalar(select(Conversation.last_staff_answer_at))
            return answered is not None

    await wait_until(answer_recorded, 10)
    before = await suggestions(sessionmaker)

    # The FAQ would answer this one; a person handles Anna now, so it is offered to them.
    await client.send_text(anna.id, anna.id, "How long does a refund take?")
    offer = await client.wait_for_bot_message(
        group, lambda m: "refund-timing" in text_of(m) and m.get("message_thread_id") == thread,
        timeout=20,
    )  # fmt: skip
    assert text_of(offer).startswith(
        zh("💡 FAQ {id} would answer this (not sent to the customer):").format(id="refund-timing")
    )
    assert "original payment method" in text_of(offer)
    assert buttons(offer) == [zh("📤 Send it")]
    assert not any("original payment method" in text_of(m) for m in await anna.bot_messages())

    # Not staff: refused. 王丽 sends it, signed; a second press sends nothing more.
    assert await bo.press(offer, zh("📤 Send it")) == zh("Only care staff can do this.")
    said = await wang.press(offer, zh("📤 Send it"))
    assert said == zh("Sending FAQ {id} to {name}.").format(id="refund-timing", name="Anna")
    got = await client.wait_for_bot_message(
        anna.id, lambda m: "original payment method" in text_of(m), timeout=20
    )
    assert text_of(got).startswith(
        en("{name} (customer care): {text}").split("{text}")[0].format(name="王丽")
    )
    assert await wang.press_data(
        offer, offer["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    ) == zh("Already sent.")
    await wait_until(lambda: _delivered_once(client, anna.id, "original payment method"), 10)
    assert (await suggestions(sessionmaker))[len(before) :] == [("staff_sent", "refund-timing")]


async def _delivered_once(client: SandboxClient, chat: int, words: str) -> bool:
    return sum(words in text_of(m) for m in await client.bot_messages(chat)) == 1


async def test_an_answer_offered_to_staff_in_a_plain_group_in_chinese(
    complaint_bot: RunningBot, knowledge: None, client: SandboxClient, care_team: CareTeam,
) -> None:  # fmt: skip
    group = care_team.group_id
    wang = Seat(client, group, care_team.agent)
    ming = Customer(client, await client.create_user("王小明", language_code="zh-hans"), timeout=20)
    await client.send_text(ming.id, ming.id, "你好")
    card = await client.wait_for_bot_message(group, lambda m: zh("Take") in buttons(m), timeout=20)
    # 王丽 takes the conversation: it is in a person's hands now.
    await wang.press(card, zh("Take"))

    await client.send_text(ming.id, ming.id, "退貨的運費是誰出？")
    offer = await client.wait_for_bot_message(
        group, lambda m: "returns-shipping-fee" in text_of(m), timeout=20
    )
    assert "退货运费由蓝峰户外承担" in text_of(offer)
    assert not any("退货运费由蓝峰户外承担" in text_of(m) for m in await ming.bot_messages())
    await wang.press(offer, zh("📤 Send it"))
    got = await client.wait_for_bot_message(
        ming.id, lambda m: "退货运费由蓝峰户外承担" in text_of(m), timeout=20
    )
    assert text_of(got).startswith("王丽")

    # A customer who blocked the bot meanwhile: staff are told under the offer.
    await client.send_text(ming.id, ming.id, "退款多久到账？")
    offer = await client.wait_for_bot_message(
        group, lambda m: "refund-timing" in text_of(m), timeout=20
    )
    await client.block(ming.id)
    await wang.press(offer, zh("📤 Send it"))
    told = await client.wait_for_bot_message(
        group, lambda m: m.get("reply_to_message_id") == offer["message_id"], timeout=20
    )
    assert text_of(told) == zh(
        "⚠ Not delivered: the customer blocked the bot, so no answer can reach them."
    )
