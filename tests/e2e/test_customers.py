"""Staff find customers, see their cards and tag them, through the sandbox; the segments
job alerts supervisors of a key customer at risk once.

The staff group speaks zh_CN (the default locale); Sam the supervisor speaks English in
his private chat. Expected words come from the catalogs (``zh``/``en``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from care.clock import ManualClock
from care.models import Complaint, Contact, CustomerTag, Outbox, OwedMessage, Purchase
from care.models import Customer as CustomerRecord
from handlers import segments as segments_job
from tests.conftest import CareTeam
from tests.helpers import (
    Customer,
    RunningBot,
    StaffMember,
    StaffRoom,
    all_owed_delivered,
    callback_data,
    en,
    text_of,
    wait_until,
    zh,
)


async def a_customer(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    first_name: str,
    **values: object,
) -> int:
    async with sessionmaker.begin() as session:
        record = CustomerRecord(
            first_name=first_name, created_at=clock.now() - timedelta(days=400), **values
        )
        session.add(record)
        await session.flush()
        return record.id


async def tags_of(sessionmaker: async_sessionmaker[AsyncSession], customer_id: int) -> set[str]:
    async with sessionmaker() as session:
        found = await session.scalars(
            select(CustomerTag.tag).where(CustomerTag.customer_id == customer_id)
        )
        return set(found.all())


async def test_staff_tag_customers_in_the_group_and_in_private(
    complaint_bot: RunningBot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    agent: StaffMember,
    supervisor: StaffMember,
) -> None:
    ming = await a_customer(
        sessionmaker, clock, "小明", username="xiaoming", phone="+8613800138000"
    )
    async with sessionmaker.begin() as session:
        session.add(
            Complaint(
                customer_id=ming, number="C-2026-000007", status="new", created_at=clock.now(),
                filed_at=clock.now(), updated_at=clock.now(),
            )
        )  # fmt: skip

    # In the group (zh_CN), by complaint number, the tag as typed: kept in lower case.
    answer = await agent.command("/tag C-2026-7 add VIP")
    assert answer.startswith(zh("Tagged {name} {tag}.").format(name="小明", tag="vip"))
    assert zh("Tags now: {tags}").format(tags="vip") in answer
    assert await tags_of(sessionmaker, ming) == {"vip"}
    # By phone number written with spaces; a second time changes nothing and says so.
    answer = await agent.command("/tag +86 138 0013 8000 add vip")
    assert answer.startswith(zh("{name} was already tagged {tag}.").format(name="小明", tag="vip"))

    # In Sam's private chat (English), by @username.
    answer = await supervisor.command_in_private("/tag @XiaoMing add key")
    assert answer.startswith(en("Tagged {name} {tag}.").format(name="小明", tag="key"))
    answer = await supervisor.command_in_private("/tag @xiaoming remove vip")
    assert answer.startswith(en("Took the tag {tag} off {name}.").format(name="小明", tag="vip"))
    assert await tags_of(sessionmaker, ming) == {"key"}
    answer = await supervisor.command_in_private(f"/tag {ming}")
    assert answer == en("{name}'s tags: {tags}").format(name="小明", tags="key")

    # Bad input gets a clear answer, and nothing changes.
    usage = zh(
        "Usage: /tag <customer> add <tag> · /tag <customer> remove <tag> · /tag <customer>\n"
        "The customer: a complaint number, our id, @username or phone number. "
        "E.g. /tag C-2026-000123 add vip"
    )
    assert await agent.command("/tag") == usage
    assert await agent.command("/tag @xiaoming add") == usage
    assert await agent.command("/tag @xiaoming add no/slash") == zh(
        "A tag is one word of letters, digits, “.”, “-” or “_”, at most 32 characters, e.g. vip."
    )
    assert await agent.command("/tag @nobody add vip") == zh(
        "No customer matches “{query}”."
    ).format(query="@nobody")
    assert await tags_of(sessionmaker, ming) == {"key"}


async def test_staff_find_a_customer_and_see_their_card(
    complaint_bot: RunningBot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    room: StaffRoom,
    agent: StaffMember,
    supervisor: StaffMember,
) -> None:
    li = await a_customer(sessionmaker, clock, "Li", last_name="Wei", username="liwei")
    await a_customer(sessionmaker, clock, "Li", last_name="Na")
    async with sessionmaker.begin() as session:
        session.add(CustomerTag(customer_id=li, tag="vip"))
        session.add(Purchase(customer_id=li, purchased_at=clock.now(), created_at=clock.now()))

    # One match: the card, in the group's Chinese.
    card = await agent.command("/customer @liwei")
    assert card.startswith(zh("👤 {name} · id {id}").format(name="Li Wei", id=li))
    assert zh("Tags: {tags}").format(tags="vip") in card
    assert zh("Type: {type}").format(type=zh("potential customer")) in card

    # Several: a list to pick from, in Sam's English; the button shows the card.
    sent = await supervisor.client.send_text(supervisor.id, supervisor.id, "/customer li")
    listing = await supervisor.client.wait_for_bot_message(
        supervisor.id, after_message_id=sent["message_id"], timeout=10
    )
    assert text_of(listing) == en("Several customers match “{query}”; pick one:").format(query="li")
    assert len(callback_data(listing)) == 2
    query = await supervisor.client.press(
        supervisor.id, supervisor.id, listing["message_id"], f"cu:{li}"
    )
    await supervisor.client.wait_for_callback_answer(query, timeout=10)
    shown = await supervisor.client.wait_for_bot_message(
        supervisor.id, after_message_id=listing["message_id"], timeout=10
    )
    assert text_of(shown).startswith(en("👤 {name} · id {id}").format(name="Li Wei", id=li))
    assert en("Tags: {tags}").format(tags="vip") in text_of(shown)

    assert await agent.command("/customer") == zh(
        "Usage: /customer <name, phone, id, @username or complaint number>"
    )
    assert await agent.command("/customer x") == zh("Give at least two letters of the name.")
    assert await agent.command("/customer 999999") == zh("No customer matches “{query}”.").format(
        query="999999"
    )
    assert room  # the group the answers above came in


async def test_customers_are_refused_staff_commands(
    complaint_bot: RunningBot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    client: SandboxClient,
) -> None:
    target = await a_customer(sessionmaker, clock, "Target")
    for language, words in (("zh-hans", zh), ("en", en)):
        user = await client.create_user("Nosy", language_code=language)
        nosy = Customer(client, user)
        assert await nosy.command(f"/tag {target} add vip") == words("Only care staff can do this.")
        assert await nosy.command("/customer Target") == words("Only care staff can do this.")
    assert await tags_of(sessionmaker, target) == set()


async def test_a_key_customer_at_risk_is_told_to_supervisors_once(
    complaint_bot: RunningBot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    care_team: CareTeam,
    client: SandboxClient,
) -> None:
    # Quiet for 100 days (no rhythm: 60 is the limit) and tagged vip: key, risk high.
    key = await a_customer(
        sessionmaker, clock, "Kim", last_seen_at=clock.now() - timedelta(days=100)
    )
    # As quiet, but small (a dog, no key tag): nothing extra.
    small = await a_customer(
        sessionmaker, clock, "Sol", last_seen_at=clock.now() - timedelta(days=100),
        chat_id=5551, consent_care=True,
    )  # fmt: skip
    # Normal (a cash cow: 4 days of contact and a long tenure), quiet for 100 days where
    # her rhythm is 25: the win-back follow-up, now.
    normal = await a_customer(
        sessionmaker, clock, "Nina", last_seen_at=clock.now() - timedelta(days=100),
        chat_id=5552, consent_care=True,
    )  # fmt: skip
    async with sessionmaker.begin() as session:
        session.add(CustomerTag(customer_id=key, tag="vip"))
        for days in (175, 150, 125, 100):
            session.add(
                Contact(
                    customer_id=normal, direction="in", kind="text",
                    created_at=clock.now() - timedelta(days=days),
                )
            )  # fmt: skip
    built = complaint_bot.built
    assert built is not None
    context = type("JobContext", (), {"services": built.services})()

    await segments_job.refresh_segments(context)  # type: ignore[arg-type]
    await all_owed_delivered(complaint_bot)
    supervisor_id = care_team.supervisor["id"]

    async def alerts() -> list[str]:
        return [
            text_of(m)
            for m in await client.transcript(supervisor_id)
            if m["from"]["is_bot"] and text_of(m).startswith("⚠")
        ]

    async def told() -> bool:
        return len(await alerts()) >= 1

    await wait_until(told)
    [alert] = await alerts()
    # The alert speaks the staff group's language, as every alert does.
    assert alert.startswith(
        zh("⚠ A key customer may leave: {name} (id {id})").format(name="Kim", id=key)
    )
    assert zh("Why: {reasons}").format(reasons=zh("quiet for longer than usual")) in alert
    assert zh("Tags: {tags}").format(tags="vip") in alert

    # The next run tells nobody again.
    await segments_job.refresh_segments(context)  # type: ignore[arg-type]
    async with sessionmaker() as session:
        owed = await session.scalar(
            select(func.count()).select_from(OwedMessage).where(OwedMessage.customer_id == key)
        )
    assert owed == 1  # Sam, the one supervisor
    assert len(await alerts()) == 1

    async with sessionmaker() as session:
        rows = (await session.execute(select(Outbox.customer_id, Outbox.rule))).all()
    assert rows == [(normal, "win_back")]  # once, and nothing for the small one
    assert small not in {customer_id for customer_id, _rule in rows}


async def test_a_campaign_to_key_stars_shows_how_many_and_who(
    complaint_bot: RunningBot,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    care_team: CareTeam,
    client: SandboxClient,
) -> None:
    # Segments as the job left them: two stars, one tagged vip; a vip dog.
    ids = {}
    for name, segment, tag in (("Ada", "star", "vip"), ("Bo", "star", None), ("Cy", "dog", "vip")):
        ids[name] = await a_customer(
            sessionmaker, clock, name, chat_id=len(ids) + 7001, consent_care=True,
            value_segment=segment,
        )  # fmt: skip
        if tag:
            async with sessionmaker.begin() as session:
                session.add(CustomerTag(customer_id=ids[name], tag=tag))
    admin = Customer(client, care_team.admin)  # Ada the admin, in her English private chat

    card = text_of(await admin.say("/campaign new text segment:star tag:vip 2026-10-01 Hello!"))

    assert (
        en("Audience: {audience} ({audience_text}), {count} now").format(
            audience=en("customers in the {segment} quadrant").format(
                segment=en("star (high value, strong relationship)")
            )
            + en(" and ")
            + en("customers tagged {tag}").format(tag="vip"),
            audience_text="segment:star tag:vip",
            count=1,
        )
        in card
    )
    assert (
        en("Among them: {names}").format(
            names=en("{name} (id {id})").format(name="Ada", id=ids["Ada"])
        )
        in card
    )
