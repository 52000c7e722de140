"""/forget end to end: after it, nothing anywhere names the customer or carries their words.

A customer registers (name, phone, birthday), files a complaint with a photo and a
document, writes more, staff reply and resolve, the customer rates with a comment, files
a second complaint that stays open (upset, so supervisors are alerted in private; late, so
the SLA warning names the customer), has a purchase and a tag and gets a care message.
Then /forget. Every table is dumped generically (reflected, not through the models, so a
new table is scanned too) together with the logs of the whole story, and searched for
every secret. Staff see the open complaint closed, and the staff group's cards and
relayed messages and the supervisors' alerts no longer show the customer's words.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient
from care import owed, purchases
from care.clock import ManualClock
from care.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    Customer,
    CustomerTag,
    Outbox,
    OutboxState,
    OwedMessage,
)
from handlers.buttons import CardAction
from handlers.i18n import gettext_in
from tests.conftest import CareTeam
from tests.helpers import Person, RunningBot, filed_complaint, text_of, wait_until

TELEGRAM_ID = 7_312_468_593
FIRST, LAST, USERNAME = "Quillon", "Brightwater", "quillon_bw"
PHONE = "+8613912345678"
BIRTHDAY = "1987-11-23"

# Everything the customer wrote or that was written about them, in every channel.
WORDS = {
    "description": "My zanzibar kettle hums ominously",
    "photo caption": "marmoset under the lid",
    "document name": "tangerine-receipt.pdf",
    "document caption": "okapi warranty card",
    "reference": "QX-4417-PLOVER",
    "extra message": "the periwinkle lid wobbles",
    "answer to staff": "answered on halibut day",
    "comment": "narwhal sunrise was lovely",
    "second complaint": "flamingo blender sparks!!!",  # upset: supervisors are alerted
    "relayed photo caption": "axolotl in the blender",
    "staff reply": f"Dear {FIRST}, could you check the quasar fuse?",
    "resolution": f"Refunded the {LAST} order with a gryphon voucher",
    "product": "Ochre xylophone teapot",
    "purchase reference": "ORD-PANGOLIN-9",
    "tag": "bluefinvip",
}


# Words of those texts that appear nowhere else: each is searched for on its own too.
DISTINCTIVE = (
    "zanzibar", "marmoset", "tangerine", "okapi", "plover", "periwinkle", "halibut",
    "narwhal", "flamingo", "axolotl", "quasar", "gryphon", "xylophone", "pangolin", "bluefin",
)  # fmt: skip

# The test's own machinery (the sandbox and its client) logs user ids in URLs; carebot
# in production keeps the HTTP clients' chatter to warnings (bot.logs.configure).
NOT_CAREBOTS = ("bot.sandbox", "aiohttp")
WARNINGS_ONLY = ("httpx", "httpcore", "apscheduler")


def zh(message: str) -> str:
    """Words as the staff group (default locale zh_CN) sees them."""
    return gettext_in("zh_CN", message)


def secrets() -> dict[str, str]:
    found = {
        "first name": FIRST,
        "last name": LAST,
        "username": USERNAME,
        "phone": PHONE.removeprefix("+"),
        "national phone number": PHONE.removeprefix("+86"),
        "birthday": BIRTHDAY,
        "telegram id": str(TELEGRAM_ID),
    }
    found.update(WORDS)
    found.update({f"word {word!r}": word for word in DISTINCTIVE})
    return found


def carebot_logs(records: list[logging.LogRecord]) -> str:
    """What carebot logged at its production levels, with tracebacks."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    kept = [
        record
        for record in records
        if not record.name.startswith(NOT_CAREBOTS)
        and (record.levelno >= logging.WARNING or not record.name.startswith(WARNINGS_ONLY))
    ]
    return "\n".join(formatter.format(record) for record in kept)


@pytest.fixture
async def forget_bot(
    sandbox: Sandbox, database_url: str, clock: ManualClock, care_team: CareTeam
) -> AsyncIterator[RunningBot]:
    """carebot with a staff group and a sender that looks for care messages often."""
    running = RunningBot(
        sandbox, database_url, clock, staff_chat_id=care_team.group_id,
        outbox_check_seconds=0.2, sla_check_seconds=0.2,
    )  # fmt: skip
    await running.start()
    yield running
    await running.stop()


async def dump_everything(engine: AsyncEngine) -> list[tuple[str, str, Any]]:
    """Every cell of every table, found by reflection: (table, column, value)."""
    metadata = MetaData()
    async with engine.connect() as connection:
        await connection.run_sync(metadata.reflect)
        cells = []
        for table in metadata.sorted_tables:
            for row in (await connection.execute(select(table))).mappings():
                cells += [(table.name, column, value) for column, value in row.items()]
    return cells


def leaks(cells: list[tuple[str, str, Any]], logs: str) -> list[str]:
    found = []
    for table, column, value in cells:
        if value is None:
            continue
        if isinstance(value, int) and value == TELEGRAM_ID:
            found.append(f"{table}.{column} holds the Telegram id")
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        found += [
            f"{table}.{column} holds the {name}: {text[:80]!r}"
            for name, secret in secrets().items()
            if secret.lower() in text.lower()
        ]
    found += [
        f"the logs hold the {name}"
        for name, secret in secrets().items()
        if secret.lower() in logs.lower()
    ]
    return found


async def test_forget_leaves_nothing_that_names_the_customer(
    forget_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # carebot's default level in production
    group, agent = care_team.group_id, care_team.agent["id"]
    user = await client.create_user(
        FIRST, last_name=LAST, username=USERNAME, language_code="en", user_id=TELEGRAM_ID
    )
    quillon = Person(client, user)

    # Registration: name (from Telegram), phone, birthday.
    await quillon.say("/start")
    await quillon.press("English", edited=lambda m: "care messages" in text_of(m))
    await quillon.press("Yes, please")
    await quillon.share_contact(PHONE)
    await quillon.say(BIRTHDAY)

    # A complaint with a photo and a document.
    await quillon.say("/complain")
    await quillon.press("Product")
    await quillon.say(WORDS["description"])
    await quillon.send_photo(caption=WORDS["photo caption"])
    sent = await client.send_document(
        quillon.id, quillon.id, b"%PDF-1.4 receipt", file_name=WORDS["document name"],
        mime_type="application/pdf", caption=WORDS["document caption"],
    )  # fmt: skip
    await quillon.wait_reply(sent["message_id"])
    await quillon.press("Continue")
    await quillon.say(WORDS["reference"])
    _, filed = await quillon.press("Submit")
    assert filed is not None

    async def first_complaint() -> Complaint:
        async with sessionmaker() as session:
            return (await session.scalars(select(Complaint).order_by(Complaint.id))).first()

    async def carded() -> bool:
        return (await first_complaint()).alert_message_id is not None

    await wait_until(carded)
    first = await first_complaint()
    card, cid = first.alert_message_id, first.id
    assert card is not None
    async with sessionmaker() as session:
        file_ids = (await session.scalars(select(ComplaintAttachment.file_id))).all()
    assert len(file_ids) == 2

    # More words from the customer, a staff reply, the customer's answer, the resolution.
    await quillon.say(WORDS["extra message"])
    before = max(m["message_id"] for m in await quillon.transcript())
    await client.send_text(group, agent, WORDS["staff reply"], reply_to_message_id=card)
    await quillon.wait_reply(before)
    await quillon.say(WORDS["answer to staff"])
    group_before = max(m["message_id"] for m in await client.transcript(group))
    query = await client.press(group, agent, card, CardAction("res", cid).pack())
    await client.wait_for_callback_answer(query, timeout=10)
    asks = zh("Resolution note for {number}: reply to this message.").format(number=first.number)
    prompt = await client.wait_for_bot_message(
        group, lambda m: text_of(m) == asks, after_message_id=group_before, timeout=10
    )
    before = max(m["message_id"] for m in await quillon.transcript())
    await client.send_text(
        group, agent, WORDS["resolution"], reply_to_message_id=prompt["message_id"]
    )
    resolved = await quillon.wait_reply(before, lambda m: "resolved" in text_of(m))

    # A rating with a comment, which staff see.
    await quillon.press("⭐⭐⭐⭐", message=resolved)
    passed_on = await quillon.say(WORDS["comment"])
    assert "passed on" in text_of(passed_on)
    await client.wait_for_bot_message(group, lambda m: WORDS["comment"] in text_of(m), timeout=10)

    # A second complaint that stays open, with a photo written afterwards.
    await quillon.say("/complain")
    await quillon.press("Product")
    await quillon.say(WORDS["second complaint"])
    await quillon.press("Continue")
    await quillon.press("No reference")
    _, second_filed = await quillon.press("Submit")
    assert second_filed is not None
    await client.wait_for_bot_message(
        care_team.supervisor["id"], lambda m: "flamingo" in text_of(m), timeout=10
    )
    # Nobody acknowledges it: the SLA warning names the customer in the staff group.
    clock.advance(timedelta(minutes=25))
    await client.wait_for_bot_message(group, lambda m: "⏰" in text_of(m), timeout=10)
    relayed = await client.send_photo(
        quillon.id, quillon.id, caption=WORDS["relayed photo caption"]
    )
    await quillon.wait_reply(relayed["message_id"])
    await client.wait_for_bot_message(
        group, lambda m: WORDS["relayed photo caption"] in text_of(m), timeout=10
    )

    # A purchase, a tag and a care message that greets them by name.
    async with sessionmaker.begin() as session:
        customer = await session.scalar(
            select(Customer).where(Customer.telegram_user_id == TELEGRAM_ID)
        )
        assert customer is not None and customer.phone == PHONE
        customer_id = customer.id
        await purchases.record_purchase(
            session, customer_id, clock.now() - timedelta(days=1), WORDS["product"],
            WORDS["purchase reference"], clock.now(),
        )  # fmt: skip
        session.add(CustomerTag(customer_id=customer_id, tag=WORDS["tag"]))
        session.add(
            Outbox(
                customer_id=customer_id, rule="birthday", template="birthday",
                dedupe_key="birthday:2026", due_at=clock.now(), state=OutboxState.PENDING.value,
            )
        )  # fmt: skip
    care = await quillon.client.wait_for_bot_message(
        quillon.id, lambda m: "happy birthday" in text_of(m), timeout=10
    )
    assert FIRST in text_of(care)

    # Everything owed to staff has been delivered and filed under its complaint (a
    # message in flight at the very moment of the erasure is not edited; see
    # docs/architecture.md, "Data protection").
    async def nothing_owed() -> bool:
        async with sessionmaker() as session:
            return not await owed.unsettled(session, customer_id=customer_id) and not (
                await owed.unsettled(session, chat_id=group)
            )

    await wait_until(nothing_owed)

    def showing(messages: list[dict[str, Any]]) -> set[int]:
        return {
            m["message_id"]
            for m in messages
            if any(secret in json.dumps(m, ensure_ascii=False) for secret in secrets().values())
            or "photo" in m
            or "document" in m
        }

    shown_before = showing(await client.bot_messages(group))
    assert len(shown_before) > 5, "cards, relays, photos, the rating comment, the SLA warning"

    # Forget me.
    question = await quillon.say("/forget")
    _, goodbye = await quillon.press("Yes, erase", message=question)
    assert goodbye is not None and "erased" in text_of(goodbye)

    # Staff are told that the open complaint was closed, and why.
    async with sessionmaker() as session:
        numbers = (await session.scalars(select(Complaint.number).order_by(Complaint.id))).all()
    closed_notice = await client.wait_for_bot_message(
        group, lambda m: numbers[1] in text_of(m) and "🗑" in text_of(m), timeout=10
    )
    assert numbers[0] not in text_of(closed_notice), "the resolved one was not open"

    # The staff group's cards and relayed messages, and the supervisors' alerts, no longer
    # show the customer's words.
    async def group_clean() -> bool:
        shown = " ".join(text_of(m) for m in await client.bot_messages(group))
        return not any(secret in shown for secret in secrets().values())

    await wait_until(group_clean)
    supervisor = care_team.supervisor["id"]

    async def supervisor_clean() -> bool:
        shown = " ".join(text_of(m) for m in await client.bot_messages(supervisor))
        return not any(secret in shown for secret in secrets().values())

    await wait_until(supervisor_clean)
    bot_messages = await client.bot_messages(group)
    assert not [m for m in bot_messages if "photo" in m or "document" in m], (
        "the customer's photos and documents are deleted from the staff group"
    )
    async with sessionmaker() as session:
        card_ids = set((await session.scalars(select(Complaint.alert_message_id))).all())
    left = {m["message_id"] for m in bot_messages} & shown_before
    assert left == card_ids, "every copy of their words is deleted; the cards stay, erased"
    cards = [m for m in bot_messages if m["message_id"] == card]
    assert cards and zh("erased at their request") in text_of(cards[0])

    # The reports keep an anonymous customer and complaints with numbers, no text.
    async with sessionmaker() as session:
        anonymous = await session.get_one(Customer, customer_id)
        assert anonymous.erased_at is not None and anonymous.customer_type
        kept = (await session.scalars(select(Complaint).order_by(Complaint.id))).all()
        assert [c.status for c in kept] == ["resolved", "closed"]
        assert kept[0].rating == 4 and kept[0].resolved_on_time is not None
        assert kept[1].resolved_at is None, "closed at erasure, not solved"
        erased = (
            await session.execute(
                select(ComplaintEvent.from_status, ComplaintEvent.to_status).where(
                    ComplaintEvent.complaint_id == kept[1].id, ComplaintEvent.type == "erased"
                )
            )
        ).all()
        assert erased == [("new", "closed")]
        outbox = (await session.scalars(select(Outbox))).all()
        assert [row.state for row in outbox] == ["sent"]

    logs = carebot_logs(caplog.records)
    found = leaks(await dump_everything(engine), logs)
    file_leaks = [
        f"{table}.{column}"
        for table, column, value in await dump_everything(engine)
        if isinstance(value, str) and any(file_id in value for file_id in file_ids)
    ]
    assert not found + file_leaks, "\n".join(found + file_leaks)


async def test_telegram_refusing_the_edits_does_not_undo_the_erasure(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    group = care_team.group_id
    complaint_id, user = await filed_complaint(complaint_bot, client, text="The quokka mug leaks")
    emma = Person(client, user)
    await emma.say("and the handle wobbles")
    await client.wait_for_bot_message(group, lambda m: "handle wobbles" in text_of(m), timeout=10)

    async def nothing_owed() -> bool:
        async with sessionmaker() as session:
            # The complaint's (the customer's confirmation owes a card edit once sent).
            return not await owed.unsettled(session, complaint_id=complaint_id)

    # Everything owed so far is delivered; then Telegram refuses to edit the card (which
    # is then posted again, erased) and the relay cannot be deleted (sent 48 hours ago,
    # say): it is edited instead, and that is refused too.
    await wait_until(nothing_owed)
    await client.fault(
        kind="error", method="editMessageText", status=400, count=3, chat_id=group,
        description="Bad Request: message can't be edited",
    )  # fmt: skip
    for method in ("deleteMessages", "deleteMessage"):
        await client.fault(
            kind="error", method=method, status=400, count=1, chat_id=group,
            description="Bad Request: message can't be deleted",
        )  # fmt: skip

    question = await emma.say("/forget")
    _, goodbye = await emma.press("Yes, erase", message=question)

    assert goodbye is not None and "erased" in text_of(goodbye)
    notice = await client.wait_for_bot_message(group, lambda m: "🗑" in text_of(m), timeout=10)
    async with sessionmaker() as session:
        complaint = await session.get_one(Complaint, complaint_id)
        customer = await session.get_one(Customer, complaint.customer_id)
    assert complaint.number is not None and complaint.number in text_of(notice)
    assert (complaint.status, complaint.description) == ("closed", None)
    assert (customer.telegram_user_id, customer.first_name) == (None, None)

    async def settled() -> bool:
        async with sessionmaker() as session:
            return not await owed.unsettled(session, chat_id=group)

    await wait_until(settled)
    shown = " ".join(text_of(m) for m in await client.bot_messages(group))
    assert "quokka" in shown, "Telegram refused the edits: the words are still there"
    assert "wobbles" in shown, "nor could the relay be deleted"
    async with sessionmaker() as session:
        erase = await session.scalar(select(OwedMessage).where(OwedMessage.kind == "erase"))
    assert erase is not None and erase.state == "sent", "settled, not retried forever"

    # Nobody is left to answer: staff cannot reopen it.
    sent = await client.send_text(group, care_team.agent["id"], f"/reopen {complaint.number}")
    refused = await client.wait_for_bot_message(group, after_message_id=sent["message_id"])
    assert text_of(refused) == zh(
        "{number} cannot be reopened: the customer asked us to erase their personal data."
    ).format(number=complaint.number)


async def test_a_customer_who_blocked_the_bot_leaves_no_telegram_id_in_the_logs(
    complaint_bot: RunningBot,
    client: SandboxClient,
    care_team: CareTeam,
    sessionmaker: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    group = care_team.group_id
    complaint_id, user = await filed_complaint(complaint_bot, client, text="The mug leaks")
    async with sessionmaker() as session:
        card = (await session.get_one(Complaint, complaint_id)).alert_message_id
    assert card is not None
    await client.block(user["id"])

    await client.send_text(
        group, care_team.agent["id"], "Could you send a photo?", reply_to_message_id=card
    )

    async def marked_unreachable() -> bool:
        async with sessionmaker() as session:
            customer = await session.scalar(
                select(Customer).where(Customer.telegram_user_id == user["id"])
            )
            return customer is not None and not customer.reachable

    async def refusal_logged() -> bool:
        return "refused" in carebot_logs(caplog.records)

    await wait_until(marked_unreachable)
    await wait_until(refusal_logged)  # the sender logs it after the bot marked them
    logs = carebot_logs(caplog.records)
    assert not re.search(rf"\b{user['id']}\b", logs), logs
