"""FAQ answers: a customer's question outside any dialogue and outside an open complaint
is matched against the knowledge base (``care.faq``) and answered, met with suggestions,
or handed to a person; staff switch answers off and read the measures with ``/faq``.

Where a question goes when no answer fits (or the customer asks for a person) is one
function, :func:`hand_off`: today the message is handled as any other message outside a
complaint (kept on the customer's record and acknowledged); the conversations with staff
replace its body.
"""

from __future__ import annotations

import logging

from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from care import faq
from care.faq_match import Decision, Match
from care.faq_models import FaqEventKind
from handlers import business, common, complaints, conversations, faq_staff
from handlers.buttons import FaqFeedback, FaqNone, FaqPick, Slug, key
from handlers.context import CareContext
from handlers.faq_words import faq_command
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.staff_access import staff_command, staff_places

log = logging.getLogger(__name__)

# A suggestion button shows the entry's first phrasing, cut to this many characters.
BUTTON_TITLE = 60


def faq_handlers() -> list[BaseHandler]:
    """The customer's questions and the FAQ's buttons (after the dialogues, before the
    messages that belong to an open complaint)."""
    new_text = filters.ChatType.PRIVATE & business.NEW_MESSAGE & filters.TEXT & ~filters.COMMAND
    return [
        MessageHandler(new_text, answer_question),
        # Every data of the family: a stale or forged one is told it is no longer valid.
        CallbackQueryHandler(on_faq_button, pattern=FaqFeedback.family()),
    ]


def faq_staff_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """``/faq`` for staff, in the staff group or their private chat."""
    return [staff_command("faq", faq_command, where=staff_places(staff_chat_id))]


async def answer_question(update: Update, context: CareContext) -> None:
    """Answer a customer's message from the FAQ, offer likely entries, or hand it on."""
    message, view, services = update.effective_message, context.customer, context.services
    if message is None or view is None or not message.text:
        return
    # A message that belongs to an open complaint is the complaint's, never the FAQ's.
    if await complaints.relay_to_open_complaint(update, context):
        return
    now = services.clock.now()
    handled = False
    async with services.sessionmaker.begin() as session:
        book = await services.faq.book(session)
        if not book.enabled or not book.entries:
            match = None
        else:
            match = book.match(message.text)
            if match.decision is Decision.ANSWER and match.entry_id == await faq.last_answer(
                session, view.id
            ):
                # The same answer again did not help the first time: a person answers.
                match = Match(Decision.HANDOFF, match.candidates)
            # A person already handles the customer's conversation: offered to them.
            handled = match.decision is not Decision.HANDOFF and await faq_staff.handled_by_staff(
                session, view.id
            )
            if not handled:
                await faq.record_match(session, match, view.id, now, message.text)
    if handled and match is not None:
        await _offer_to_staff(update, context, book, match)
        return
    if match is None or match.decision is Decision.HANDOFF:
        await hand_off(update, context, message.text, None)
    elif match.decision is Decision.ANSWER:
        assert match.entry_id is not None
        await send_answer(message, book, match.entry_id, view.locale, message.message_id)
    else:
        await message.reply_text(
            _("Is your question one of these?"),
            reply_markup=_suggestions(book, match, view.locale),
            do_quote=True,
        )


async def _offer_to_staff(
    update: Update, context: CareContext, book: faq.FaqBook, match: Match
) -> None:
    """The message goes into the conversation staff handle; an answer the FAQ would send
    is offered to them with "Send it" (``handlers.faq_staff``), not sent."""
    then = (
        faq_staff.offer_to_staff(context, book, match.entry_id)
        if match.decision is Decision.ANSWER and match.entry_id is not None
        else None
    )
    reply = await conversations.take_message(update, context, then=then)
    if reply is not None and update.effective_message is not None:
        await update.effective_message.reply_text(reply)


def _suggestions(book: faq.FaqBook, match: Match, locale: str) -> InlineKeyboardMarkup:
    rows = [
        [key(_title(book, c.entry_id, locale), FaqPick(Slug(c.entry_id)))] for c in match.candidates
    ]
    rows.append([key(_("None of these — ask a person"), FaqNone())])
    return InlineKeyboardMarkup(rows)


def _title(book: faq.FaqBook, entry_id: str, locale: str) -> str:
    title = book.title(entry_id, locale)
    return title if len(title) <= BUTTON_TITLE else title[: BUTTON_TITLE - 1] + "…"


async def send_answer(
    message: Message, book: faq.FaqBook, entry_id: str, locale: str, question_id: int | None
) -> None:
    """Send the entry's answer in the customer's language (with its photo or document),
    with "That helped" and "Ask a person" and the related entries as buttons, as a reply
    to the question (so "Ask a person" knows what was asked)."""
    entry, text = book.entries[entry_id], book.answer(entry_id, locale)
    assert text is not None
    bot = message.get_bot()
    try:
        if entry.photo:
            await bot.send_photo(message.chat_id, entry.photo)
        if entry.document:
            await bot.send_document(message.chat_id, entry.document)
    except BadRequest as error:
        # A photo or document Telegram does not know (a wrong URL or file id in the
        # knowledge base) must not cost the customer the answer itself.
        log.warning("FAQ entry %s: its photo or document was refused: %s", entry_id, error)
    rows = [
        [
            key(_("✅ That helped"), FaqFeedback("ok", Slug(entry_id))),
            key(_("🙋 Ask a person"), FaqFeedback("ask", Slug(entry_id))),
        ]
    ]
    rows += [
        [key(_title(book, related, locale), FaqPick(Slug(related)))]
        for related in entry.related
        if related in book.entries
    ]
    await bot.send_message(
        message.chat_id,
        text.answer,
        reply_markup=InlineKeyboardMarkup(rows),
        reply_to_message_id=question_id,
        allow_sending_without_reply=True,
    )


async def on_faq_button(update: Update, context: CareContext) -> None:
    """Handle "That helped", "Ask a person", a suggestion or "None of these"."""
    query, view, services = update.callback_query, context.customer, context.services
    if query is None or query.data is None or view is None or query.message is None:
        return
    now, message = services.clock.now(), query.message
    assert isinstance(message, Message)
    question = message.reply_to_message
    question_text = question.text if question is not None else None
    match FaqFeedback.parse(query.data) or FaqPick.parse(query.data) or FaqNone.parse(query.data):
        case FaqFeedback("ok", entry_id):
            async with services.sessionmaker.begin() as session:
                await faq.record_event(
                    session, FaqEventKind.HELPFUL, now, entry_id=entry_id, customer_id=view.id
                )
            await query.answer(_("Glad it helped!"))
            await common.settle(query)
        case FaqFeedback("ask", entry_id):
            await _asked_person(update, context, entry_id, question_text)
        case FaqNone():
            await _asked_person(update, context, None, question_text)
        case FaqPick(entry_id):
            await _picked(query, context, entry_id, question)
        case _:
            await common.refuse_unknown_button(update, context)


async def _asked_person(
    update: Update, context: CareContext, entry_id: str | None, question: str | None
) -> None:
    """ "Ask a person" under the answer of ``entry_id``, or "None of these" (None)."""
    query, services, view = update.callback_query, context.services, context.customer
    assert query is not None and view is not None and isinstance(query.message, Message)
    async with services.sessionmaker.begin() as session:
        await faq.record_event(
            session,
            FaqEventKind.ASKED_PERSON,
            services.clock.now(),
            entry_id=entry_id,
            customer_id=view.id,
            question=question,
        )
    await query.answer()
    await common.settle(query)
    given = query.message.text if entry_id is not None else None
    await hand_off(update, context, question or "", given)


async def _picked(
    query: CallbackQuery, context: CareContext, entry_id: str, question: Message | None
) -> None:
    services, view = context.services, context.customer
    assert view is not None and isinstance(query.message, Message)
    async with services.sessionmaker.begin() as session:
        book = await services.faq.book(session)
        if entry_id in book.entries:
            await faq.record_event(
                session,
                FaqEventKind.PICKED,
                services.clock.now(),
                entry_id=entry_id,
                customer_id=view.id,
            )
    if entry_id not in book.entries:  # switched off or removed since
        await query.answer(_("This answer is no longer available."))
        await common.settle(query)
        return
    await query.answer()
    await common.settle(query)
    await send_answer(
        query.message,
        book,
        entry_id,
        view.locale,
        question.message_id if question is not None else None,
    )


async def hand_off(
    update: Update, context: CareContext, question: str, given_answer: str | None
) -> None:
    """Give the customer's question to a person: the seam to the conversations with staff.

    Args:
        update: The customer's message, or their press of "Ask a person" / "None of
            these" (then the question is the message the FAQ's reply answered).
        context: The update's context.
        question: What the customer asked.
        given_answer: The FAQ's answer they got before asking for a person, if any.

    A message goes into the customer's conversation with staff, as any message outside
    a complaint does (``handlers.conversations``). A press of "Ask a person" or "None of
    these" puts the question, and the answer the customer got, into the conversation in
    one step, so that nobody has to ask again; the customer is told a colleague will
    answer (when the conversation is new, by when).
    """
    if update.callback_query is None:
        await conversations.on_customer_message(update, context)
        return
    services = context.services
    with use_locale(services.default_locale):  # staff read the group's language
        if given_answer:
            words = _(
                "🙋 Asked for a person after the FAQ's answer.\nQuestion: {question}\n"
                "Answer given: {answer}"
            ).format(question=question or "—", answer=given_answer)
        else:
            words = _(
                "🙋 Asked for a person: none of the FAQ's suggestions fitted.\nQuestion: {question}"
            ).format(question=question or "—")
    reply = await conversations.take_message(update, context, words)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(
            chat.id, reply or _("A colleague has your question and will answer here.")
        )
