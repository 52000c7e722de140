"""After /forget: take the customer's words out of the staff chats, and tell staff.

All of it is owed in the erasure's own transaction (``care.owed``: sent after the commit,
with retries, surviving a crash), by :func:`owe_staff_news`: an edit of each of the
customer's complaint cards (rendered from the erased complaint), an alert for each open
complaint the erasure closed, the look of their conversation (its topic renamed with no
name and closed, its card edited), and last an ``erase`` for each chat that showed their
words. The sender turns an erase into requests with :func:`erase_request`:

- Forum mode: the customer's topic is deleted (deleteForumTopic), with every message in
  it. Not just its copies: the topic's first message (``forum_topic_created``, which
  carries the name it was created with, "🟢 王小明 · #17") and every rename can be
  deleted in no other way, and the staff's answers in it quote the customer too. Without
  the right to delete it (``can_delete_messages``) the topic stays, renamed and closed,
  and its copies are deleted one by one like in a plain group.
- Then every recorded copy of their words in the chat (the new-conversation notice in
  General; in a plain group the conversation's card, the relayed messages and edits;
  complaint relays and alerts that name them, also in supervisors' private chats) goes
  with deleteMessages, 100 at a time. A message Telegram no longer lets the bot delete
  (sent 48 hours ago or more) says "(erased at the customer's request)" instead, text or
  caption (those recorded that long ago are tried one by one at once: the Bot API does
  not say whether deleteMessages refuses them or skips them silently); one that can be
  neither deleted nor edited (a sticker) is left, logged by ids.
  The bot's answers to staff about the customer (/customer, /queue, /reply …, alerts on
  them, recorded as ``CustomerMention`` by ``care.mentions``) go the same way.
- Last, staff members' own messages about the customer (their replies to the card or to
  a relayed message, /reply and the commands naming them, notes): deleted where the bot
  is an admin that may delete messages (in a private chat it may delete what the staff
  member sent it). The bot cannot edit them: one Telegram refuses to delete (48 hours
  old, or no right to) is named to staff in a notice that replies to it (with links in a
  supergroup), instead of being passed over.
  Progress is recorded after each call, so a retry after a 5xx, a 429, a timeout or a
  crash deletes only what is left (and what is already gone is skipped); the messages
  left stay on record until the notice naming them is owed, in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.error import BadRequest

from care import conversations, privacy
from care import staff as staff_members
from care.models import Complaint, OwedMessage
from care.owed import Purpose, owe
from care.privacy import Erasure
from handlers.context import Services
from handlers.conversation_desk import owe_state
from handlers.i18n import gettext as _
from handlers.i18n import ngettext, use_locale
from handlers.staff_alerts import Alert, owe_alert
from handlers.staff_card import owe_refresh
from handlers.texts import message_link

log = logging.getLogger(__name__)


async def owe_staff_news(session: AsyncSession, services: Services, erasure: Erasure) -> None:
    """Owe the card edits and the staff's notices of closed complaints, the look of the
    customer's conversation (its topic renamed, no name left in it; its card edited),
    then the clearing of every chat that showed their words, in the erasure's
    transaction."""
    conversation = await conversations.latest_of(session, erasure.customer_id)
    if conversation is not None:
        await owe_state(session, services, conversation)
    for complaint_id in erasure.complaint_ids:
        await owe_refresh(session, await session.get_one(Complaint, complaint_id), services)
    for closed in erasure.closed:
        with use_locale(services.default_locale):
            text = _(
                "🗑 Complaint {number} is closed: the customer asked us to erase their "
                "personal data. It stays in the figures, without any text."
            ).format(number=closed.number)
        await owe_alert(session, services, Alert.CLOSED_AT_ERASURE, text, closed.complaint_id)
    privacy.owe_staff_erasure(session, erasure, services.clock.now())


# deleteMessages takes 1-100 message ids.
BATCH = 100
# "A message can only be deleted if it was sent less than 48 hours ago."
DELETE_WINDOW = timedelta(hours=48)


def _gone(error: BadRequest) -> bool:
    """Telegram says the message (or topic) is not there: it is gone already."""
    words = str(error).lower()
    return "not found" in words or "topic_id_invalid" in words or "topic_deleted" in words


async def erase_request(
    session: AsyncSession, row: OwedMessage, services: Services, bot: Bot, read_timeout: float
) -> Callable[[], Awaitable[None]] | None:
    """What takes a forgotten customer's topics and copies out of ``row.chat_id`` (see the
    module docstring). None: nothing is left there."""
    assert row.customer_id is not None
    # Telegram's clock and ours may differ a little: an hour before its limit, a message
    # is taken as too old to delete in a batch (deleteMessages might skip it silently).
    old = services.clock.now() - DELETE_WINDOW + timedelta(hours=1)
    copies = await privacy.staff_copies(session, row.customer_id, row.chat_id, old)
    if not copies.topics and not copies.message_ids and not copies.staff_ids:
        return None
    chat = row.chat_id
    # In the chat's language: the staff chat's, or a staff member's own (an alert).
    reader = (await staff_members.active_staff_by_user(session)).get(chat)
    locale = services.default_locale
    if reader is not None:
        locale = staff_members.reading_locale(reader, locale)
    with use_locale(locale):
        erased = _("(erased at the customer's request)")
    now = services.clock.now()

    async def clear() -> None:
        for topic_id, thread in copies.topics:
            if thread is not None:
                try:
                    await bot.delete_forum_topic(chat, thread, read_timeout=read_timeout)
                except BadRequest as error:
                    if not _gone(error):
                        # Its name is gone already (owe_staff_news): its copies go below.
                        log.warning("erasure: topic %s of chat %s not deleted: %s",
                                    thread, chat, error)  # fmt: skip
            async with services.sessionmaker.begin() as recording:
                await privacy.forget_topic(recording, topic_id)
        for message_id in [i for i in copies.old_ids if i in copies.message_ids]:
            await _delete_or_blank(bot, chat, message_id, erased, read_timeout)
            async with services.sessionmaker.begin() as recording:
                await privacy.forget_copies(recording, chat, [message_id])
        ids = [i for i in copies.message_ids if i not in copies.old_ids]
        for batch in [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]:
            try:
                await bot.delete_messages(chat, batch, read_timeout=read_timeout)
            except BadRequest:
                # One of them may not be deleted any more; or "not found", which a batch
                # should not say (missing ones are skipped) and cannot mean for all.
                for message_id in batch:
                    await _delete_or_blank(bot, chat, message_id, erased, read_timeout)
            async with services.sessionmaker.begin() as recording:
                await privacy.forget_copies(recording, chat, batch)
        # Staff members' own messages: deleted where the bot may; never edited (it
        # cannot), so those left are kept on record until staff are told below.
        left = [i for i in copies.staff_ids if i in copies.old_ids]
        for message_id in left[:]:
            if await _delete_staff_message(bot, chat, message_id, read_timeout):
                left.remove(message_id)
                async with services.sessionmaker.begin() as recording:
                    await privacy.forget_copies(recording, chat, [message_id])
        ids = [i for i in copies.staff_ids if i not in copies.old_ids]
        for batch in [ids[i : i + BATCH] for i in range(0, len(ids), BATCH)]:
            gone = batch
            try:
                await bot.delete_messages(chat, batch, read_timeout=read_timeout)
            except BadRequest:  # one of them may not be deleted (or is gone): which?
                gone = []
                for message_id in batch:
                    deleted = await _delete_staff_message(bot, chat, message_id, read_timeout)
                    (gone if deleted else left).append(message_id)
            async with services.sessionmaker.begin() as recording:
                await privacy.forget_copies(recording, chat, gone)
        if left:
            with use_locale(locale):
                text = undeleted_notice(chat, sorted(left))
            async with services.sessionmaker.begin() as recording:
                # Told once: the record of what is left goes with the notice owed.
                owe(
                    recording, now=now, purpose=Purpose.STAFF_NOTICE, chat_id=chat, text=text,
                    reply_to_message_id=min(left),
                )  # fmt: skip
                await privacy.forget_copies(recording, chat, left)
            log.warning("erasure: %d staff messages in chat %s could not be deleted; staff told",
                        len(left), chat)  # fmt: skip

    return clear


def undeleted_notice(chat: int, message_ids: list[int]) -> str:
    """Staff told which of their messages about an erased customer the bot could not
    delete, so that they delete them (in the current locale)."""
    count = len(message_ids)
    lines = [
        ngettext(
            "🗑 A customer asked us to erase their personal data. {count} message staff "
            "wrote about them could not be deleted by the bot: it was sent 48 hours ago or "
            "more, or the bot may not delete members' messages here. Please delete it "
            "yourselves; it is the message this one replies to.",
            "🗑 A customer asked us to erase their personal data. {count} messages staff "
            "wrote about them could not be deleted by the bot: they were sent 48 hours ago "
            "or more, or the bot may not delete members' messages here. Please delete them "
            "yourselves; the first is the message this one replies to.",
            count,
        ).format(count=count)
    ]
    links = [message_link(chat, i) for i in message_ids]
    lines += [link for link in links if link is not None]
    return "\n".join(lines)


async def _delete_staff_message(bot: Bot, chat: int, message_id: int, read_timeout: float) -> bool:
    """Delete a staff member's message; False: Telegram refuses (too old, or no right to).
    Only a 400 ends here: a 5xx, a 429 or a timeout is the caller's to retry."""
    try:
        await bot.delete_message(chat, message_id, read_timeout=read_timeout)
    except BadRequest as error:
        if _gone(error):
            return True
        log.info("erasure: staff message %s of chat %s not deleted: %s", message_id, chat,
                 error)  # fmt: skip
        return False
    return True


async def _delete_or_blank(
    bot: Bot, chat: int, message_id: int, erased: str, read_timeout: float
) -> None:
    """Delete one message; one too old to delete says ``erased`` instead. Only a 400
    ends here: a 5xx, a 429 or a timeout is the caller's to retry."""
    try:
        await bot.delete_message(chat, message_id, read_timeout=read_timeout)
        return
    except BadRequest as error:
        if _gone(error):
            return
        log.info("erasure: message %s of chat %s not deleted (%s): edited", message_id, chat,
                 error)  # fmt: skip
    try:
        await bot.edit_message_text(erased, chat, message_id, read_timeout=read_timeout)
        return
    except BadRequest as error:
        words = str(error).lower()
        if "not modified" in words or _gone(error):
            return
        if "no text" not in words:
            log.warning("erasure: message %s of chat %s left as it is: %s", message_id, chat,
                        error)  # fmt: skip
            return
    try:  # a photo, document or voice: its caption
        await bot.edit_message_caption(chat, message_id, caption=erased, read_timeout=read_timeout)
    except BadRequest as error:
        if "not modified" not in str(error).lower() and not _gone(error):
            log.warning("erasure: message %s of chat %s left as it is: %s", message_id, chat,
                        error)  # fmt: skip
