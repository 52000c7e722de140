"""After filing and resolving: SLA warnings and breaches from the scheduled job, the
satisfaction survey (rating, comment, reopen offer) and closing unanswered surveys.

Complaints are filed and resolved through ``care/`` directly, so that these tests do not
depend on the filing dialogue; everything after that goes through the running bot. The
bot's clock is the test's ``ManualClock``: moving it is how deadlines come due.

Words are compared with what the catalogs say (``gettext_in``), so the assertions hold
before and after a string is translated. Staff read the default locale (zh_CN here).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care import complaints
from care import staff as staff_members
from care.clock import ManualClock
from care.models import Complaint, ComplaintStatus, Customer
from handlers import complaint_words as words
from handlers.buttons import Rating, ReopenRequest
from handlers.i18n import gettext_in
from handlers.notify import owe_announcement
from tests.conftest import CareTeam
from tests.helpers import (
    Message,
    Person,
    RunningBot,
    StaffMember,
    StaffRoom,
    all_owed_delivered,
    filed_complaint,
    text_of,
    wait_until,
)

STAFF = "zh_CN"  # RunningBot's default locale: the words staff read
TIMEZONE = "Asia/Shanghai"  # the default CAREBOT_TIMEZONE
LOW_RATING = "⚠ Low rating {rating}/5 for {number} (customer {name}): please contact them soon and find out what went wrong."  # noqa: E501
NOT_VALID = "This button is no longer valid. Send /help to see what I can do."


def said(locale: str, message: str, **values: Any) -> str:
    """What the bot says in ``locale``: the catalog's words with the values filled in."""
    return gettext_in(locale, message).format(**values)


def has_data(message: Message, prefix: str) -> bool:
    markup = message.get("reply_markup") or {}
    return any(
        str(button.get("callback_data", "")).startswith(prefix)
        for row in markup.get("inline_keyboard", [])
        for button in row
    )


async def texts_in(client: SandboxClient, chat_id: int, *parts: str) -> list[str]:
    """The bot's messages in a chat that contain every one of ``parts``."""
    return [
        text_of(m)
        for m in await client.bot_messages(chat_id)
        if all(part in text_of(m) for part in parts)
    ]


async def wait_for_text(client: SandboxClient, chat_id: int, *parts: str) -> Message:
    return await client.wait_for_bot_message(
        chat_id, predicate=lambda m: all(part in text_of(m) for part in parts), timeout=10
    )


async def load(sessionmaker: async_sessionmaker[AsyncSession], complaint_id: int) -> Complaint:
    async with sessionmaker() as session:
        return await session.get_one(Complaint, complaint_id)


async def customer_id_of(sessionmaker: async_sessionmaker[AsyncSession], user_id: int) -> int:
    async with sessionmaker() as session:
        found = await session.scalar(
            select(Customer.id).where(Customer.telegram_user_id == user_id)
        )
    assert found is not None
    return found


async def deadline_checks_ran(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock, customer_id: int
) -> None:
    """Wait until a whole run of the deadline job has happened at the clock's current time.

    The job drops drafts older than two days, in the transaction that claims SLA alerts,
    and runs never overlap. Three stale drafts dropped one after the other mean that the
    run which dropped the second began after this call and finished, messages and all.
    """
    for _ in range(3):
        async with sessionmaker.begin() as session:
            customer = await session.get_one(Customer, customer_id)
            draft = await complaints.start_draft(session, customer, clock.now() - timedelta(days=3))
            draft_id = draft.id

        async def dropped(draft_id: int = draft_id) -> bool:
            async with sessionmaker() as session:
                return await session.get(Complaint, draft_id) is None

        await wait_until(dropped, within=10)


async def assign(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    complaint_id: int,
    assignee: dict[str, Any],
    by: dict[str, Any],
) -> None:
    async with sessionmaker.begin() as session:
        member = await staff_members.find_staff(session, assignee["id"])
        boss = await staff_members.find_staff(session, by["id"])
        assert member is not None and boss is not None
        complaint = await session.get_one(Complaint, complaint_id)
        await complaints.assign(session, complaint, member, boss, clock.now())


async def resolve(running: RunningBot, complaint_id: int, agent: dict[str, Any], note: str) -> None:
    """An agent resolves the complaint; the customer is told and gets the rating buttons."""
    assert running.built is not None
    services = running.built.services
    async with services.sessionmaker.begin() as session:
        member = await staff_members.find_staff(session, agent["id"])
        assert member is not None
        complaint = await session.get_one(Complaint, complaint_id)
        change = await complaints.resolve(session, complaint, member, note, services.clock.now())
        await owe_announcement(session, services, change)
    await all_owed_delivered(running)


async def resolved_message(customer: Person) -> Message:
    """The customer's "resolved" notification with its 1-5 rating buttons."""
    return await customer.wait_reply(0, lambda m: has_data(m, Rating.PREFIX))


# --- SLA ---------------------------------------------------------------------------


async def test_sla_warning_and_breach_are_given_once_even_across_a_restart(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    sandbox: Sandbox,
    database_url: str,
) -> None:
    group, agent, supervisor = care_team.group_id, care_team.agent["id"], care_team.supervisor["id"]
    assigned, customer = await filed_complaint(
        complaint_bot, client, language="zh_CN", text="快递三天还没到"
    )
    unassigned, _other = await filed_complaint(
        complaint_bot, client, text="The invoice shows the wrong address."
    )
    await assign(sessionmaker, clock, assigned, care_team.agent, care_team.supervisor)
    first = (await load(sessionmaker, assigned)).number or ""
    second = (await load(sessionmaker, unassigned)).number or ""

    # Normal priority: acknowledge within 2 h, warn with a quarter of it left (after 90 min).
    clock.advance(timedelta(minutes=91))
    await wait_for_text(client, agent, "⏰", first)  # the assignee, in private
    await wait_for_text(client, group, "⏰", second)  # nobody has it: the group

    clock.advance(timedelta(minutes=30))  # past the 2 h deadline
    for number in (first, second):
        await wait_for_text(client, group, "🚨", number)
        await wait_for_text(client, supervisor, "🚨", number)

    customer_id = await customer_id_of(sessionmaker, customer["id"])

    async def given_once() -> None:
        assert len(await texts_in(client, agent, "⏰", first)) == 1
        assert await texts_in(client, group, "⏰", first) == []
        assert len(await texts_in(client, group, "⏰", second)) == 1
        for number in (first, second):
            assert len(await texts_in(client, group, "🚨", number)) == 1
            assert len(await texts_in(client, supervisor, "🚨", number)) == 1
        assert await texts_in(client, agent, "🚨") == [], "breaches go to group and supervisors"

    await deadline_checks_ran(sessionmaker, clock, customer_id)
    await given_once()

    # A restart: a new carebot on the same database. The marks are in the database.
    await complaint_bot.stop()
    restarted = RunningBot(sandbox, database_url, clock, staff_chat_id=group, sla_check_seconds=0.2)
    await restarted.start()
    try:
        clock.advance(timedelta(hours=1))
        await deadline_checks_ran(sessionmaker, clock, customer_id)
        await given_once()
    finally:
        await restarted.stop()

    async with sessionmaker() as session:
        events = await complaints.history(session, assigned, internal=True)
        sla = [(e.type, e.note) for e in events if e.type.startswith("sla_")]
        assert sla == [("sla_warning", "acknowledge_warning"), ("sla_breach", "acknowledge_breach")]
        for_customer = await complaints.history(session, assigned)
        assert not [e for e in for_customer if e.type.startswith("sla_")], "staff only"
    assert (await load(sessionmaker, assigned)).acknowledged_on_time is False


async def test_a_warning_the_assignee_cannot_get_goes_to_the_group_and_the_rest_still_go(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group, agent = care_team.group_id, care_team.agent["id"]
    assigned, _customer = await filed_complaint(complaint_bot, client, text="Parcel is late.")
    unassigned, _other = await filed_complaint(complaint_bot, client, text="Wrong colour sent.")
    await assign(sessionmaker, clock, assigned, care_team.agent, care_team.supervisor)
    first, second = await load(sessionmaker, assigned), await load(sessionmaker, unassigned)
    assert first.number and second.number
    await client.block(agent)  # 王丽 never opened a private chat with the bot, say

    clock.advance(timedelta(minutes=91))
    await wait_for_text(client, group, "⏰", first.number)
    await wait_for_text(client, group, "⏰", second.number)
    assert await client.bot_messages(agent) == []


# --- the satisfaction survey -------------------------------------------------------


async def test_a_low_rating_alerts_staff_and_the_customer_can_reopen(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    room: StaffRoom,
) -> None:
    complaint_id, user = await filed_complaint(
        complaint_bot, client, language="zh_CN", first_name="小明", text="洗衣机漏水"
    )
    xiaoming = Person(client, user)
    number = (await load(sessionmaker, complaint_id)).number
    assert number is not None
    await resolve(complaint_bot, complaint_id, care_team.agent, "已更换密封圈")
    rating = await resolved_message(xiaoming)

    answer, offer = await xiaoming.press_data(
        rating["message_id"],
        Rating(complaint_id, 2).pack(),
        lambda m: has_data(m, ReopenRequest.PREFIX),
    )
    assert answer == said("zh_CN", "Thank you!")
    assert offer is not None
    assert text_of(offer) == said(
        "zh_CN",
        "Thank you for telling us, and we are sorry we did not do better. "
        "Write now what went wrong, or send /skip. "
        "If the problem is not solved, you can reopen your complaint.",
    )
    [edited] = [m for m in await xiaoming.bot_messages() if m["message_id"] == rating["message_id"]]
    assert said("zh_CN", "Your rating: {stars} ({rating}/5)", stars="⭐⭐", rating=2) in text_of(
        edited
    )
    assert not edited.get("reply_markup"), "the stars are chosen: no more buttons"

    alert = said(STAFF, LOW_RATING, rating=2, number=number, name="小明")
    await wait_for_text(client, care_team.group_id, alert)
    await wait_for_text(client, care_team.supervisor["id"], alert)
    card_id = await room.card(sessionmaker, complaint_id)
    rated = said(STAFF, "Rating: {rating}/5", rating=2)
    await room.wait_card(card_id, lambda m: rated in text_of(m))

    # Pressing the same rating again (a double tap, or a forged press) changes nothing.
    query = await client.press(
        xiaoming.id, xiaoming.id, rating["message_id"], Rating(complaint_id, 2).pack()
    )
    repeat = await client.wait_for_callback_answer(query, timeout=10)
    assert repeat.get("text") == said("zh_CN", "Thank you, we already have your rating.")
    assert await texts_in(client, care_team.group_id, alert) == [alert]
    assert await texts_in(client, care_team.supervisor["id"], alert) == [alert]

    # The customer reopens it instead of writing a comment.
    _answer, told = await xiaoming.press_data(
        offer["message_id"], ReopenRequest(complaint_id).pack(), lambda m: number in text_of(m)
    )
    # A reopened complaint awaits acknowledgement: that is the deadline the customer is told.
    due = words.local_time((await load(sessionmaker, complaint_id)).acknowledge_due_at, TIMEZONE)
    assert told is not None
    assert text_of(told) == said(
        "zh_CN",
        "Your complaint {number} is open again. We are on it and will get back to you by {due}.",
        number=number,
        due=due,
    )
    complaint = await load(sessionmaker, complaint_id)
    assert complaint.status == ComplaintStatus.REOPENED.value
    assert complaint.rating == 2, "a reopening erases no rating (the next one is its own)"
    async with sessionmaker() as session:
        events = await complaints.history(session, complaint_id)
        last = events[-1]
    assert [e.note for e in events if e.type == "rating"] == ["2"], "the rating stays on record"
    assert (last.to_status, last.by_customer) == ("reopened", True)
    await wait_for_text(client, care_team.group_id, "🔁", number)

    # The wait for a comment ended with the reopening: the next text is about the complaint.
    await xiaoming.say("师傅还是没来")
    assert (await load(sessionmaker, complaint_id)).rating_comment is None


async def test_a_top_rating_with_a_comment(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    room: StaffRoom,
) -> None:
    complaint_id, user = await filed_complaint(complaint_bot, client, first_name="Anna")
    anna = Person(client, user)
    number = (await load(sessionmaker, complaint_id)).number
    assert number is not None
    await resolve(complaint_bot, complaint_id, care_team.agent, "We sent a new kettle.")
    rating = await resolved_message(anna)

    answer, invite = await anna.press_data(rating["message_id"], Rating(complaint_id, 5).pack())
    assert answer == "Thank you!"
    assert invite is not None
    assert text_of(invite) == (
        "Thank you for your rating! If you like, write a comment now, or send /skip."
    )
    assert not invite.get("reply_markup"), "no reopen offer for a good rating"
    reply = await anna.say("Quick and friendly, thank you!")
    assert text_of(reply) == "Thank you, your comment has been passed on to our team."

    complaint = await load(sessionmaker, complaint_id)
    assert (complaint.rating, complaint.rating_comment) == (5, "Quick and friendly, thank you!")
    assert complaint.status == ComplaintStatus.RESOLVED.value
    await wait_for_text(client, care_team.group_id, number, "Quick and friendly, thank you!")
    assert await texts_in(client, care_team.group_id, "⚠", number) == [], "no low-rating alert"
    assert await client.bot_messages(care_team.supervisor["id"]) == []
    rated = said(STAFF, "Rating: {rating}/5", rating=5)
    await room.wait_card(await room.card(sessionmaker, complaint_id), lambda m: rated in text_of(m))

    # The comment was the one next message: later ones are not comments.
    reply = await anna.say("One more thing")
    assert text_of(reply) != "Thank you, your comment has been passed on to our team."
    assert (
        await load(sessionmaker, complaint_id)
    ).rating_comment == "Quick and friendly, thank you!"


async def file_another(running: RunningBot, customer_id: int, text: str) -> int:
    """One more complaint of an existing customer (no card: staff do not matter here)."""
    assert running.built is not None
    services = running.built.services
    async with services.sessionmaker.begin() as session:
        customer = await session.get_one(Customer, customer_id)
        draft = await complaints.start_draft(session, customer, services.clock.now())
        complaints.set_category(draft, "delivery")
        complaints.set_description(draft, text)
        filed = await complaints.file_complaint(
            session, draft, services.sla, services.triage, services.clock.now(), TIMEZONE
        )
        return filed.id


async def test_skip_or_any_other_step_ends_the_wait_for_a_comment(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, user = await filed_complaint(complaint_bot, client, first_name="Anna")
    anna = Person(client, user)
    customer_id = (await load(sessionmaker, first)).customer_id
    others = [
        await file_another(complaint_bot, customer_id, text)
        for text in ("The second parcel is late too.", "The lid is cracked.")
    ]
    thanks = "Thank you, your comment has been passed on to our team."

    async def resolve_and_rate(complaint_id: int, rating: int) -> None:
        await resolve(complaint_bot, complaint_id, care_team.agent, "Sorted.")
        message = await anna.wait_reply(
            0, lambda m: has_data(m, f"{Rating.PREFIX}:{complaint_id}:")
        )
        await anna.press_data(message["message_id"], Rating(complaint_id, rating).pack())

    # /skip: no comment, and the next text is not one.
    await resolve_and_rate(first, 4)
    assert text_of(await anna.say("/skip")) == "All right. Thank you again for your rating!"
    assert text_of(await anna.say("Hello again")) != thanks

    # A command the dialogue does not know: it does what it always does, the wait is over.
    await resolve_and_rate(others[0], 3)
    reply = await anna.say("/nonsense")
    assert text_of(reply) == "I do not know that command. Send /help to see what I can do."
    assert text_of(await anna.say("Whatever")) != thanks

    # A command answered before the dialogue sees it (/help): the text after it is not a
    # comment on a rating it no longer follows.
    await resolve_and_rate(others[1], 5)
    await anna.say("/help")
    assert text_of(await anna.say("Whatever")) != thanks

    for complaint_id, rating in zip([first, *others], (4, 3, 5), strict=True):
        complaint = await load(sessionmaker, complaint_id)
        assert (complaint.rating, complaint.rating_comment) == (rating, None)


async def test_the_wait_for_a_comment_survives_a_restart(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    sandbox: Sandbox,
    database_url: str,
) -> None:
    complaint_id, user = await filed_complaint(complaint_bot, client, first_name="Anna")
    anna = Person(client, user)
    await resolve(complaint_bot, complaint_id, care_team.agent, "We sent a new kettle.")
    rating = await resolved_message(anna)
    await anna.press_data(rating["message_id"], Rating(complaint_id, 4).pack())

    await complaint_bot.stop()
    restarted = RunningBot(
        sandbox, database_url, clock, staff_chat_id=care_team.group_id, sla_check_seconds=0.2
    )
    await restarted.start()
    try:
        reply = await anna.say("The new one works.")
        assert text_of(reply) == "Thank you, your comment has been passed on to our team."
    finally:
        await restarted.stop()
    assert (await load(sessionmaker, complaint_id)).rating_comment == "The new one works."


async def test_another_customers_rating_button_is_no_longer_valid(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, _owner = await filed_complaint(complaint_bot, client, first_name="Anna")
    await resolve(complaint_bot, complaint_id, care_team.agent, "Refunded.")
    mallory = Person(client, await client.create_user("Mallory", language_code="en"))
    hello = await mallory.say("/help")
    group_before = await client.bot_messages(care_team.group_id)

    answers = []
    for data in (
        Rating(complaint_id, 1).pack(),  # someone else's complaint
        Rating(complaint_id + 1000, 1).pack(),  # no such complaint
        ReopenRequest(complaint_id).pack(),
        ReopenRequest(complaint_id + 1000).pack(),
    ):
        query = await client.press(mallory.id, mallory.id, hello["message_id"], data)
        answers.append((await client.wait_for_callback_answer(query, timeout=10)).get("text"))
    assert answers == [NOT_VALID] * 4

    complaint = await load(sessionmaker, complaint_id)
    assert (complaint.rating, complaint.status) == (None, ComplaintStatus.RESOLVED.value)
    # Everything before it has been handled (a command: a text would reach staff as a
    # conversation, whose card may or may not be out by the check below).
    reply = await mallory.say("/help")
    assert "Thank you, your comment" not in text_of(reply)
    assert await client.bot_messages(care_team.group_id) == group_before


async def test_an_unanswered_resolved_complaint_closes_and_the_customer_is_told(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    complaint_id, user = await filed_complaint(
        complaint_bot, client, language="zh_CN", first_name="小红", text="空调不制冷"
    )
    xiaohong = Person(client, user)
    number = (await load(sessionmaker, complaint_id)).number
    await resolve(complaint_bot, complaint_id, care_team.agent, "已上门维修")
    rating = await resolved_message(xiaohong)

    assert complaint_bot.built is not None
    clock.advance(complaint_bot.built.services.survey_close_after - timedelta(minutes=1))
    await deadline_checks_ran(sessionmaker, clock, await customer_id_of(sessionmaker, user["id"]))
    assert (await load(sessionmaker, complaint_id)).status == ComplaintStatus.RESOLVED.value

    clock.advance(timedelta(minutes=2))
    closed = said(
        "zh_CN", "Your complaint {number} is now closed. Thank you for your patience.",
        number=number,
    )  # fmt: skip
    told = await xiaohong.wait_reply(rating["message_id"], lambda m: text_of(m) == closed)
    assert told is not None
    complaint = await load(sessionmaker, complaint_id)
    assert complaint.status == ComplaintStatus.CLOSED.value
    assert complaint.closed_at == clock.now()
    async with sessionmaker() as session:
        last = (await complaints.history(session, complaint_id))[-1]
    assert (last.to_status, last.note) == ("closed", "no answer")


async def test_the_card_and_the_queue_show_a_missed_deadline_by_their_dot(
    complaint_bot: RunningBot,
    care_team: CareTeam,
    client: SandboxClient,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
    agent: StaffMember,
) -> None:
    complaint_id, _customer = await filed_complaint(complaint_bot, client, text="Parcel is late.")
    complaint = await load(sessionmaker, complaint_id)
    assert complaint.number is not None and complaint.alert_message_id is not None

    async def card() -> str:
        for message in await client.transcript(care_team.group_id):
            if message["message_id"] == complaint.alert_message_id:
                return str(message.get("text"))
        raise AssertionError("no card")

    assert (await card()).startswith("🟢"), "normal priority, on time"
    clock.advance(timedelta(minutes=121))  # past the 2 h acknowledgement deadline
    await wait_for_text(client, care_team.group_id, "🚨", complaint.number)

    async def dot_shows_breach() -> bool:
        return (await card()).startswith("🟥")

    await wait_until(dot_shows_breach)
    queue = await agent.command("/queue")
    assert f"🟥 {complaint.number}" in queue
