"""A staff member who edits an answer already on its way to the customer is told that
the customer keeps what was first sent: Telegram does not pass the edit on, and a
correction made only in the staff chat would otherwise go silently unseen."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from tests.conftest import CareTeam
from tests.helpers import (
    Customer,
    RunningBot,
    StaffRoom,
    all_owed_delivered,
    filed_complaint,
    text_of,
    wait_until,
    zh,
)

HINT = (
    "✏ The customer keeps the answer as it was first sent: edits do not reach them. "
    "Send the correction as a new answer."
)


async def test_editing_an_answer_tells_staff_the_customer_keeps_the_first_version(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    room: StaffRoom,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group, agent = care_team.group_id, care_team.agent
    anna = Customer(client, await client.create_user("Anna", language_code="en"), timeout=20)
    await anna.say("When do you open tomorrow?")
    relayed = await client.wait_for_bot_message(
        group, lambda m: "open tomorrow" in text_of(m), timeout=20
    )

    # An answer, then its edit: the customer keeps the first version, and staff hear so.
    answer = await room.member(agent).reply_to(relayed, "At nine.")
    await client.wait_for_bot_message(anna.id, lambda m: "At nine." in text_of(m), timeout=20)
    await client.edit_message(group, answer["message_id"], text="At ten.")
    hint = await client.wait_for_bot_message(
        group, lambda m: m.get("reply_to_message_id") == answer["message_id"], timeout=20
    )
    assert text_of(hint) == zh(HINT)
    assert not any("At ten." in text_of(m) for m in await anna.bot_messages())

    # A reply to a complaint's card the same.
    complaint_id, user = await filed_complaint(complaint_bot, client, language="zh_CN")
    card = await room.card(sessionmaker, complaint_id)
    reply = await room.member(agent).reply_to(card, "我们明天换一个新的。")
    await client.wait_for_bot_message(user["id"], lambda m: "换一个新的" in text_of(m), timeout=20)
    await client.edit_message(group, reply["message_id"], text="我们后天换一个新的。")
    hint = await client.wait_for_bot_message(
        group, lambda m: m.get("reply_to_message_id") == reply["message_id"], timeout=20
    )
    assert text_of(hint) == zh(HINT)

    # An edit of a message that reached no customer (a note, a chat among staff): no word.
    note = await room.member(agent).say("#note she asked last week too", reply_to=relayed)
    await all_owed_delivered(complaint_bot, 20)
    await client.edit_message(group, note["message_id"], text="#note she asked twice")
    marker = await room.member(agent).say("/queue")

    async def answered() -> bool:
        return any(
            m.get("reply_to_message_id") == marker["message_id"]
            for m in await client.bot_messages(group)
        )

    await wait_until(answered, 20)
    assert not any(
        m.get("reply_to_message_id") == note["message_id"] and text_of(m) == zh(HINT)
        for m in await client.bot_messages(group)
    )
