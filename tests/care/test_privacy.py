"""Erasure in the care layer: what goes, what stays for the reports, what staff are owed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from care import complaints, contacts, mentions, owed, privacy, purchases, staff
from care.clock import ManualClock
from care.models import (
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    ComplaintMessage,
    ComplaintRating,
    Contact,
    ContactKind,
    Customer,
    CustomerTag,
    Direction,
    Outbox,
    OwedMessage,
    Purchase,
    StaffRole,
)
from care.sla import SlaPolicy
from care.triage import Triage

STAFF_GROUP = -1001


async def customer_with_complaint(
    session: AsyncSession, clock: ManualClock, telegram_id: int, text: str
) -> tuple[Customer, Complaint]:
    customer = Customer(
        telegram_user_id=telegram_id, chat_id=telegram_id, first_name="Lin", created_at=clock.now()
    )
    session.add(customer)
    await session.flush()
    draft = await complaints.start_draft(session, customer, clock.now())
    complaints.set_category(draft, "product")
    complaints.set_description(draft, text)
    complaints.set_reference(draft, "A-77")
    await complaints.add_attachment(session, draft, "photo", f"file-{telegram_id}", clock.now())
    filed = await complaints.file_complaint(
        session, draft, SlaPolicy(), Triage(), clock.now(), "Asia/Shanghai"
    )
    await complaints.remember_message(
        session, filed.id, STAFF_GROUP, filed.id * 10, "alert", clock.now()
    )
    await complaints.remember_message(
        session, filed.id, STAFF_GROUP, filed.id * 10 + 1, "relay", clock.now()
    )
    await complaints.remember_message(
        session, filed.id, STAFF_GROUP, filed.id * 10 + 2, "reply_prompt", clock.now()
    )
    await complaints.remember_message(
        session, filed.id, telegram_id, filed.id * 10 + 3, "customer", clock.now()
    )
    return customer, filed


async def test_forgetting_strips_complaints_closes_open_ones_and_says_what_to_edit(
    session: AsyncSession, clock: ManualClock
) -> None:
    agent = await staff.add_staff(session, 900, StaffRole.AGENT, clock.now(), name="王丽")
    lin, open_one = await customer_with_complaint(session, clock, 501, "The lid is cracked")
    _other, others = await customer_with_complaint(session, clock, 502, "Not Lin's")
    second = await complaints.start_draft(session, lin, clock.now())
    complaints.set_description(second, "Also the handle")
    resolved = await complaints.file_complaint(
        session, second, SlaPolicy(), Triage(), clock.now(), "Asia/Shanghai"
    )
    await complaints.assign(session, resolved, agent, agent, clock.now())
    await complaints.record_staff_reply(session, resolved, agent, "Dear Lin, sorry", clock.now())
    await complaints.resolve(session, resolved, agent, "New lid sent", clock.now())
    await complaints.rate(session, resolved, 2, clock.now())
    assert await complaints.add_rating_comment(session, resolved, "Slow")
    await complaints.start_draft(session, lin, clock.now())  # unfinished
    await purchases.record_purchase(session, lin.id, clock.now(), "Kettle", "O-1", clock.now())
    session.add(CustomerTag(customer_id=lin.id, tag="vip"))
    session.add_all(
        [
            Outbox(customer_id=lin.id, dedupe_key="birthday:2026", due_at=clock.now(),
                   state="pending", rule="birthday", template="birthday"),
            Outbox(customer_id=lin.id, dedupe_key="birthday:2025", due_at=clock.now(),
                   state="sent", telegram_message_id=77, rule="birthday", template="birthday"),
        ]
    )  # fmt: skip
    owed.owe(
        session, now=clock.now(), purpose=owed.Purpose.RELAY, chat_id=STAFF_GROUP,
        text="💬 Lin: the lid", customer_id=lin.id, complaint_id=open_one.id,
        kind=owed.Kind.COPY, source=(501, 3), remember_as="relay",
    )  # fmt: skip
    owed.owe(
        session, now=clock.now(), purpose=owed.Purpose.CUSTOMER_NOTICE, chat_id=501,
        text="Dear Lin", customer_id=lin.id, complaint_id=open_one.id,
    )  # fmt: skip
    owed.owe_card(session, open_one, STAFF_GROUP, clock.now())
    await session.flush()

    erasure = await privacy.forget_customer(session, lin, clock.now())

    assert [(c.complaint_id, c.number, c.was.value) for c in erasure.closed] == [
        (open_one.id, open_one.number, "new")
    ]
    # The staff group showed Lin's words: the card stays (edited to the erased
    # complaint), the relay is deleted when the erase owed for the group is sent.
    assert erasure.staff_chats == (STAFF_GROUP,)
    copies = await privacy.staff_copies(session, lin.id, STAFF_GROUP)
    assert copies == privacy.StaffCopies(topics=(), message_ids=(open_one.id * 10 + 1,))
    later = clock.now() + timedelta(seconds=1)
    old = await privacy.staff_copies(session, lin.id, STAFF_GROUP, sent_before=later)
    assert old.old_ids == old.message_ids == copies.message_ids, "recorded before: too old"
    privacy.owe_staff_erasure(session, erasure, clock.now())
    [erase] = await owed.unsettled(session, kind=owed.Kind.ERASE.value)
    assert (erase.chat_id, erase.customer_id, erase.text) == (STAFF_GROUP, lin.id, None)
    assert erasure.care_messages_skipped == 1

    rows = (
        await session.scalars(
            select(Complaint).where(Complaint.customer_id == lin.id).order_by(Complaint.id)
        )
    ).all()
    assert [(c.status, c.description, c.reference, c.resolution) for c in rows] == [
        ("closed", None, None, None),
        ("resolved", None, None, None),
    ], "no draft left"
    assert rows[0].resolved_at is None and rows[0].closed_at == clock.now()
    assert (rows[1].rating, rows[1].rating_comment) == (2, None)
    kept_ratings = (
        await session.execute(select(ComplaintRating.score, ComplaintRating.comment))
    ).all()
    assert [tuple(r) for r in kept_ratings] == [(2, None)], "the score stays, not the words"
    notes = (
        await session.execute(
            select(ComplaintEvent.type, ComplaintEvent.note)
            .where(ComplaintEvent.complaint_id.in_([open_one.id, resolved.id]))
            .order_by(ComplaintEvent.id)
        )
    ).all()
    assert [note for _type, note in notes if note is not None] == [str(agent.id), "2"], (
        "only codes stay: the assignee and the rating"
    )
    assert ("erased", None) in notes
    assert (
        await session.scalar(
            select(ComplaintAttachment.id).where(ComplaintAttachment.complaint_id == open_one.id)
        )
        is None
    )
    purposes = (
        await session.scalars(
            select(ComplaintMessage.purpose).where(ComplaintMessage.complaint_id == open_one.id)
        )
    ).all()
    assert sorted(purposes) == ["alert", "relay", "reply_prompt"], "not the private chat's"
    purchase = (await session.execute(select(Purchase.product, Purchase.reference))).one()
    assert tuple(purchase) == (None, None)
    outbox = (await session.execute(select(Outbox.state, Outbox.telegram_message_id))).all()
    assert sorted(outbox) == [("sent", None), ("skipped", None)]
    assert (await session.scalars(select(CustomerTag.tag))).all() == []

    row = OwedMessage
    owed_rows = (
        await session.execute(
            select(row.kind, row.state, row.text, row.source_chat_id)
            .where(OwedMessage.customer_id == lin.id)
            .order_by(OwedMessage.id)
        )
    ).all()
    assert [tuple(row) for row in owed_rows] == [
        ("copy", "dropped", None, None),
        ("card", "pending", None, None),
        ("erase", "pending", None, None),
    ], "the relay is not sent, the card is (from the erased complaint), nothing to their chat"
    assert erasure.complaint_ids == (open_one.id, resolved.id)
    # Once Telegram has deleted them, they are no longer on record.
    await privacy.forget_copies(session, STAFF_GROUP, copies.message_ids)
    assert await privacy.staff_copies(session, lin.id, STAFF_GROUP) == privacy.StaffCopies((), ())

    # The other customer's complaint is untouched.
    await session.refresh(others)
    assert (others.status, others.description) == ("new", "Not Lin's")


async def test_a_forgotten_customers_complaint_cannot_be_reopened(
    session: AsyncSession, clock: ManualClock
) -> None:
    lin, complaint = await customer_with_complaint(session, clock, 503, "The lid is cracked")
    await privacy.forget_customer(session, lin, clock.now())

    with pytest.raises(complaints.Refused) as refused:
        await complaints.reopen(session, complaint, SlaPolicy(), clock.now())

    assert refused.value.reason is complaints.Refusal.FORGOTTEN
    assert complaint.status == "closed"


async def test_a_care_message_sent_during_the_erasure_is_logged_without_its_words(
    session: AsyncSession, clock: ManualClock
) -> None:
    lin, _complaint = await customer_with_complaint(session, clock, 504, "The lid is cracked")
    await privacy.forget_customer(session, lin, clock.now())

    # The outbox sender logs what it sent by customer id, in the transaction that marks
    # the row sent, which may commit just after the erasure.
    await contacts.record_contacts(
        session,
        [
            contacts.ContactEntry(
                Direction.OUTBOUND, ContactKind.TEXT, clock.now(), customer_id=lin.id,
                text="Hi Lin, happy birthday!", telegram_message_id=42,
            )
        ],
    )  # fmt: skip

    logged = (
        await session.execute(
            select(Contact.direction, Contact.text, Contact.telegram_message_id).where(
                Contact.customer_id == lin.id
            )
        )
    ).all()
    assert [tuple(row) for row in logged] == [("out", None, None)]


async def test_staff_messages_and_the_bot_s_answers_about_a_customer_are_copies_to_clear(
    session: AsyncSession, clock: ManualClock
) -> None:
    lin, _complaint = await customer_with_complaint(session, clock, 4242, "Broken lid")
    other, theirs = await customer_with_complaint(session, clock, 4343, "Late parcel")
    supervisor_chat = 777
    # A staff member's reply and a /customer command; the bot's answers (one lists both
    # customers); an alert in a supervisor's private chat.
    await mentions.remember(session, [lin.id], STAFF_GROUP, [501, 502], clock.now(), by_staff=True)
    await mentions.remember(
        session, [lin.id, other.id], STAFF_GROUP, [503], clock.now(), by_staff=False
    )
    await mentions.remember(session, [lin.id], supervisor_chat, [9], clock.now(), by_staff=False)
    # Recorded twice (a /reply is both an answer and a command): one row.
    await mentions.remember(session, [lin.id], STAFF_GROUP, [501], clock.now(), by_staff=True)

    erasure = await privacy.forget_customer(session, lin, clock.now())

    assert erasure.staff_chats == (STAFF_GROUP, supervisor_chat)
    copies = await privacy.staff_copies(session, lin.id, STAFF_GROUP)
    assert copies.staff_ids == (501, 502), "staff's own: deleted, never edited"
    assert 503 in copies.message_ids and 501 not in copies.message_ids
    later = clock.now() + timedelta(seconds=1)
    old = await privacy.staff_copies(session, lin.id, STAFF_GROUP, sent_before=later)
    assert {501, 502, 503} <= set(old.old_ids)
    private = await privacy.staff_copies(session, lin.id, supervisor_chat)
    assert private.message_ids == (9,) and private.staff_ids == ()
    # The listing is gone once deleted, for the other customer too.
    await privacy.forget_copies(session, STAFF_GROUP, [503])
    assert (await privacy.staff_copies(session, other.id, STAFF_GROUP)).message_ids == (
        theirs.id * 10 + 1,
    )
