"""A customer's forum topic made twice: find the first, whose creation's answer was lost.

createForumTopic is retried like every owed request (``bot.owed_jobs``); when Telegram
created the topic but its answer never came (a timeout after Telegram acted, a crash in
between), the retry makes a second one and the first stays, empty, unknown to carebot.
The Bot API has no method that lists a forum's topics, and a bot gets no update for its
own messages: not for the ``forum_topic_created`` message of a topic it made either (the
sandbox does the same). So carebot looks for it, right after the retry made the topic it
now uses (:func:`find_lost_topics`):

- Where: a topic's id is the id of its ``forum_topic_created`` message, and message ids
  of a chat grow. While the topic's row was retried nothing else was sent to the chat
  (one chat's owed messages go out in order), so a lost topic has an id between the
  newest message carebot sent there before and the new topic's. The ids in that window
  that carebot does not know (at most :data:`MAX_PROBES`, oldest first) are probed.
- Is it a topic? ``editForumTopic`` with neither name nor icon changes nothing: Telegram
  answers ``TOPIC_NOT_MODIFIED`` for a topic and another error for anything else.
- Is it ours? A message sent into a topic answers with the topic's
  ``forum_topic_created`` message as ``reply_to_message``, whose author is its creator.
  That probe message is deleted at once. A topic a person made in that window is left
  alone.
- Ours: deleted (``deleteForumTopic``, with the right to delete messages). Without it,
  or when the window is larger than the probes, staff are told in General, with the
  words and a link, so that they delete it (docs/staff-guide.md, "A topic twice").
"""

from __future__ import annotations

import logging
from itertools import islice

from telegram import Bot, Message
from telegram.error import BadRequest, TelegramError

from care import conversations, owed
from care.owed import Purpose
from handlers.context import Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.texts import message_link

log = logging.getLogger(__name__)

# At most this many unknown message ids are probed (each one request; a second or two
# between the lost attempt and its retry leaves a handful of staff messages at most).
MAX_PROBES = 20


async def find_lost_topics(
    bot: Bot,
    services: Services,
    chat: int,
    thread: int,
    customer_id: int,
    conversation_id: int,
    read_timeout: float,
) -> None:
    """After a retried createForumTopic made topic ``thread``: delete the topics an
    earlier attempt made, or tell staff about them (see the module docstring)."""
    async with services.sessionmaker() as session:
        floor = await owed.newest_sent_message_id(session, chat)
        known = await conversations.topic_threads(session, chat)
    # Newest first, down to the newest message sent there before (or General's, 1).
    window = (i for i in range(thread - 1, max(floor or 0, 1), -1) if i not in known)
    probed = list(islice(window, MAX_PROBES))
    unsure = next(window, None) is not None  # more ids than probes: not all were seen
    found, undeleted = [], []
    for candidate in probed:
        try:
            if await _is_ours(bot, chat, candidate, read_timeout):
                found.append(candidate)
        except TelegramError as error:  # the probe message failed: not all were seen
            log.warning("topic probe %s of chat %s: %s", candidate, chat, error)
            unsure = True
    for lost in found:
        try:
            await bot.delete_forum_topic(chat, lost, read_timeout=read_timeout)
            log.warning("topic %s of chat %s: made twice (an answer was lost); the first, "
                        "%s, deleted", thread, chat, lost)  # fmt: skip
        except BadRequest as error:
            log.warning("topic %s of chat %s: made twice; the first, %s, not deleted: %s",
                        thread, chat, lost, error)  # fmt: skip
            undeleted.append(lost)
    if not undeleted and not unsure:
        return
    with use_locale(services.default_locale):
        if undeleted:
            lines = [
                _(
                    "⚠ Telegram's answer to creating this topic was lost, so it was created "
                    "again. The bot could not delete the first one, which is empty: please "
                    "delete it."
                )
            ]
            lines += [link for link in (message_link(chat, i) for i in undeleted) if link]
        else:
            lines = [
                _(
                    "⚠ Telegram's answer to creating this topic was lost, so it was created "
                    "again. The bot could not check the whole forum for the first one: if "
                    "you see an empty topic with this topic's name, please delete it."
                )
            ]
    async with services.sessionmaker.begin() as session:
        # Into the topic in use; filed under the conversation, so that /forget finds it.
        owed.owe(
            session, now=services.clock.now(), purpose=Purpose.CONVERSATION, chat_id=chat,
            text="\n".join(lines), customer_id=customer_id, conversation_id=conversation_id,
            to_topic=True, remember_as="notice",
        )  # fmt: skip


async def _is_ours(bot: Bot, chat: int, candidate: int, read_timeout: float) -> bool:
    """Whether message id ``candidate`` of ``chat`` is a topic this bot created."""
    try:
        await bot.edit_forum_topic(chat, candidate, read_timeout=read_timeout)
    except BadRequest as error:
        if "not_modified" not in str(error).lower().replace(" ", "_"):
            return False  # not a topic (TOPIC_ID_INVALID, message thread not found …)
    except TelegramError as error:  # a fault: this one stays unknown
        log.warning("topic probe %s of chat %s: %s", candidate, chat, error)
        return False
    # A topic (an edit that asks for nothing changes nothing): whose?
    return await _created_by_us(bot, chat, candidate, read_timeout)


async def _created_by_us(bot: Bot, chat: int, thread: int, read_timeout: float) -> bool:
    """A message sent into a topic answers with the topic's first message, whose author
    made it; the probe goes again at once."""
    probe: Message = await bot.send_message(
        chat, "·", message_thread_id=thread, read_timeout=read_timeout
    )
    try:
        root = probe.reply_to_message
        created = root.forum_topic_created if root is not None else None
        return (
            created is not None
            and root is not None
            and root.from_user is not None
            and (root.from_user.id == bot.id)
        )
    finally:
        await bot.delete_message(chat, probe.message_id, read_timeout=read_timeout)
