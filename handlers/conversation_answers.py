"""A staff answer to a conversation's customer: owed to them, and what becomes of it.

Whatever staff send reaches the customer signed with their name ("王丽（客户关怀）：…"):
a text as words; a photo, document, voice message, audio, video or animation with the
signature as its caption, copied from the staff chat, or, for a customer who writes to
the company's Business account, sent by its file id (copyMessage knows no Business
connection; the bot may send any file it received). Telegram takes no caption with a
sticker or a round video message, and an unsigned sticker from the company would leave
the customer guessing who sent it, so these go by their file id after a short signed
line ("王丽（客户关怀）"), owed just before them: one chat's owed messages go out in
order, so the line always comes first. The answer itself (the file) is what is recorded
and what staff hear about if it fails; the line settles silently.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from care import business, conversations, owed
from care.conversations import Conversation
from care.models import ContactKind, Customer, OwedMessage, OwedState, StaffMember
from care.owed import Kind, Purpose
from handlers.context import Services
from handlers.conversation_desk import owe_state
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.owed_parts import owe_whole


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis showing the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# How the contact log names an answer of each kind.
_CONTACT_KINDS = {
    Kind.TEXT.value: ContactKind.TEXT,
    Kind.PHOTO.value: ContactKind.PHOTO,
    Kind.DOCUMENT.value: ContactKind.DOCUMENT,
    Kind.VOICE.value: ContactKind.VOICE,
    Kind.VIDEO.value: ContactKind.VIDEO,
    Kind.VIDEO_NOTE.value: ContactKind.VIDEO,
    Kind.STICKER.value: ContactKind.STICKER,
}


def owe_answer(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    customer: Customer,
    staff: StaffMember,
    signed: str,
    *,
    source: tuple[int, int] | None,
    staff_message: tuple[int, int],
    note: str,
    file: tuple[Kind, str] | None = None,
) -> None:
    """Owe the customer a staff answer, ``signed`` with the staff member's name.

    Args:
        session: The transaction of the staff member's message.
        services: The bot's services.
        conversation: The conversation it answers.
        customer: Its customer (reachable: they have a chat).
        staff: Who answers.
        signed: The words as the customer reads them, signature included.
        source: ``(chat id, message id)`` of media to copy, with ``signed`` as caption.
        staff_message: The staff member's message, where a failure is told.
        note: What the conversation's record keeps of the answer.
        file: Or media by its file id (:data:`care.owed.FILE_KINDS`): with ``signed``
            as caption, or, a sticker or round video message, after ``signed`` alone.
    """
    assert customer.chat_id is not None
    now, through = services.clock.now(), business.route_of(customer)
    media = source is not None or file is not None
    kind = file[0] if file is not None else Kind.COPY if source else Kind.TEXT
    # All of the words, in as many messages as they need (handlers.owed_parts).
    text: str | None = signed
    if kind in owed.CAPTIONLESS:
        owe_whole(
            session, now=now, purpose=Purpose.STAFF_REPLY, chat_id=customer.chat_id,
            text=text, customer_id=customer.id, conversation_id=conversation.id,
            business_connection_id=through,
        )  # fmt: skip
        text = None
    owe_whole(
        session, now=now, purpose=Purpose.STAFF_REPLY,
        kind=kind, chat_id=customer.chat_id, file_id=file[1] if file is not None else None,
        text=text, media=media, source=source if file is None else None,
        customer_id=customer.id, conversation_id=conversation.id,
        staff_message=staff_message, staff_reply=(staff.id, note),
        business_connection_id=through,
    )  # fmt: skip


async def after_answer_settled(session: AsyncSession, row: OwedMessage, services: Services) -> None:
    """A staff answer settled: on the record (and the topic renamed) once the customer
    has it; else the staff member told why under their message, and a blocked customer
    shown on the topic."""
    assert row.conversation_id is not None
    if row.staff_member_id is None:
        return  # the signed line before a sticker: the sticker settles for both
    conversation = await session.get(Conversation, row.conversation_id)
    if conversation is None:
        return
    now = services.clock.now()
    if row.state == OwedState.SENT.value:
        member = await session.get(StaffMember, row.staff_member_id)
        if member is None:
            return
        kind = _CONTACT_KINDS.get(row.kind, ContactKind.OTHER)
        change = await conversations.record_staff_answer(
            session, conversation, member, kind.value, row.note or "", now
        )
        if change.status_changed:
            await owe_state(session, services, conversation)
        return
    if row.state != OwedState.FAILED.value:
        return
    customer = await session.get(Customer, row.customer_id) if row.customer_id else None
    blocked = customer is not None and not customer.reachable
    with use_locale(services.default_locale):
        if blocked:
            text = _("⚠ Not delivered: the customer blocked the bot, so no answer can reach them.")
        else:
            text = _("⚠ Not delivered to the customer: {reason}").format(
                reason=(row.last_error or "")[:300]
            )
    if blocked:
        await conversations.record_unreachable(session, conversation, now)
        await owe_state(session, services, conversation)
    if row.staff_chat_id is not None:
        owed.owe(
            session, now=now, purpose=Purpose.STAFF_NOTICE, chat_id=row.staff_chat_id,
            text=text, reply_to_message_id=row.staff_message_id,
            customer_id=row.customer_id, conversation_id=conversation.id,
            to_topic=services.staff_forum and row.staff_chat_id == services.staff_chat_id,
        )  # fmt: skip


__all__ = ["after_answer_settled", "owe_answer"]
