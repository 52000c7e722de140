"""Satisfaction after resolution: the 1-5 rating, an optional comment, the reopen offer.

The resolved notification carries the rating buttons (``notify.rating_buttons``). A
press starts the "satisfaction" dialogue, whose one step takes the customer's next text
as a comment on the rating (or /skip). A low rating (1-2) alerts the staff group and the
supervisors and offers the customer to reopen the complaint.

Only the complaint's own customer may rate or reopen it: a button naming someone else's
complaint is answered exactly like one naming a complaint that does not exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from care import complaints, contacts, ratings
from care.complaints import ComplaintFacts, Refusal, Refused
from care.models import ComplaintStatus, Contact, ContactKind, Direction
from handlers import common
from handlers.business import ChatDialogue
from handlers.buttons import Rating, ReopenRequest, key
from handlers.context import CareContext, Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.notify import owe_announcement
from handlers.staff_alerts import Alert, owe_alert
from handlers.staff_card import owe_refresh

log = logging.getLogger(__name__)

NAME = "satisfaction"
COMMENT = "comment"
END = ConversationHandler.END
PRIVATE = filters.ChatType.PRIVATE


# Ratings at or below this are a warning sign: staff are alerted, the customer may reopen.
LOW_RATING = 2
# How far back to look in the contact log for the rating a comment answers.
RECENT_CONTACTS = 20
TEXT_LIMIT = 4096  # Telegram's, for a message's text


@dataclass(frozen=True)
class Rated:
    """What a rating press did, worked out inside the transaction."""

    stored: bool  # False: the same rating again, nothing changed
    staff_alerted: int  # how many chats were owed an alert


def stars(rating: int) -> str:
    return "⭐" * rating


def reopen_keyboard(complaint_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[key(_("Reopen my complaint"), ReopenRequest(complaint_id))]])


async def _own_complaint(
    session: AsyncSession, complaint_id: int, customer_id: int
) -> ComplaintFacts | None:
    """The complaint if it is this customer's and filed; None for anything else."""
    loaded = await complaints.facts(session, complaint_id)
    if (
        loaded is None
        or loaded.complaint.customer_id != customer_id
        or loaded.complaint.status == ComplaintStatus.DRAFT.value
    ):
        return None
    return loaded


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


def _customer_name(loaded: ComplaintFacts) -> str:
    return loaded.customer.display_name or _("id {id}").format(id=loaded.customer.id)


async def rate(update: Update, context: CareContext) -> str | None:
    """Store the customer's 1-5 rating of their resolved complaint and ask for a comment."""
    query, view = update.callback_query, context.customer
    pressed = Rating.parse(query.data if query is not None else None)
    assert query is not None and pressed is not None
    if view is None:  # not a private chat: no customer, so no complaint of theirs
        await common.refuse_unknown_button(update, context)
        return None
    complaint_id, rating = pressed.complaint_id, pressed.stars
    services = context.services
    try:
        rated = await _store_rating(services, complaint_id, view.id, rating)
    except Refused as refusal:
        if refusal.reason is Refusal.NOT_RATEABLE:
            await query.answer(_("You can rate the complaint once it is resolved."))
            return None
        raise
    if rated is None:
        await common.refuse_unknown_button(update, context)
        return None
    await _show_rating(query.message, rating)
    if not rated.stored:
        await query.answer(_("Thank you, we already have your rating."))
        return None
    await query.answer(_("Thank you!"))
    if rating <= LOW_RATING:
        await context.bot.send_message(
            _chat_id(update),
            _(
                "Thank you for telling us, and we are sorry we did not do better. "
                "Write now what went wrong, or send /skip. "
                "If the problem is not solved, you can reopen your complaint."
            ),
            reply_markup=reopen_keyboard(complaint_id),
        )
    else:
        await context.bot.send_message(
            _chat_id(update),
            _("Thank you for your rating! If you like, write a comment now, or send /skip."),
        )
    return COMMENT


async def _store_rating(
    services: Services, complaint_id: int, customer_id: int, rating: int
) -> Rated | None:
    """Rate in one transaction; None when the complaint is not the customer's."""
    async with services.sessionmaker.begin() as session:
        loaded = await _own_complaint(session, complaint_id, customer_id)
        if loaded is None:
            return None
        complaint = loaded.complaint
        in_force = await ratings.rating_in_force(session, complaint)
        before = in_force.score if in_force is not None else None
        event = await complaints.rate(session, complaint, rating, services.clock.now())
        alerted = 0
        # Alert once when a rating turns low, not again for a repeat or a lower low; owed
        # with the rating, like the card's edit.
        if event is not None and rating <= LOW_RATING and (before is None or before > LOW_RATING):

            def text() -> str:  # in each reader's language (the group's: the default)
                return _(
                    "⚠ Low rating {rating}/5 for {number} (customer {name}): "
                    "please contact them soon and find out what went wrong."
                ).format(rating=rating, number=complaint.number, name=_customer_name(loaded))

            alerted = await owe_alert(session, services, Alert.LOW_RATING, text, complaint_id)
        if event is not None:
            await owe_refresh(session, complaint, services)
        return Rated(event is not None, alerted)


async def _show_rating(message: object, rating: int) -> None:
    """Show the chosen stars on the rated message and take its buttons away."""
    if not isinstance(message, Message) or message.reply_markup is None:
        return
    choice = _("Your rating: {stars} ({rating}/5)").format(stars=stars(rating), rating=rating)
    shown = f"{message.text}\n\n{choice}" if message.text else ""
    try:
        if shown and len(shown) <= TEXT_LIMIT:
            await message.edit_text(shown, reply_markup=None)
        else:  # a photo's caption, or no room left: just take the buttons away
            await message.edit_reply_markup(reply_markup=None)
    except BadRequest as error:
        log.info("rating message not edited: %s", error)


async def take_comment(update: Update, context: CareContext) -> int:
    """Keep the customer's next message after a rating as their comment on it."""
    message, view = update.effective_message, context.customer
    assert message is not None and message.text is not None and view is not None
    services = context.services
    async with services.sessionmaker.begin() as session:
        history = await contacts.contact_history(session, view.id, limit=RECENT_CONTACTS)
        complaint_id = rated_just_before(history, message.message_id)
        loaded = (
            await _own_complaint(session, complaint_id, view.id)
            if complaint_id is not None
            else None
        )
        again = loaded is not None and ratings.is_kept_comment(loaded.complaint, message.text)
        if loaded is None or not await complaints.add_rating_comment(
            session, loaded.complaint, message.text
        ):
            loaded = None
        elif not again:
            with use_locale(services.default_locale):
                staff_text = _(
                    "💬 Comment on rating {rating}/5 for {number} (customer {name}): {comment}"
                ).format(
                    rating=loaded.complaint.rating,
                    number=loaded.complaint.number,
                    name=_customer_name(loaded),
                    comment=message.text,
                )
            await owe_alert(
                session, services, Alert.RATING_COMMENT, staff_text, loaded.complaint.id
            )
    if loaded is None:
        # Something else happened since the rating (a command handled elsewhere, a
        # photo, another button): this text is not a comment on it.
        await pass_on(update, context)
        return END
    await message.reply_text(_("Thank you, your comment has been passed on to our team."))
    return END


def rated_just_before(history: list[Contact], current_message_id: int) -> int | None:
    """The complaint the customer rated with their previous message, if that was a rating.

    ``history`` may end with the message being handled (``current_message_id``) or not:
    the inbox logs an update's message when it is done (``bot.contact_log``).
    """
    inbound = [
        c
        for c in history
        if c.direction == Direction.INBOUND.value and c.telegram_message_id != current_message_id
    ]
    if not inbound:
        return None
    previous = inbound[-1]
    if previous.kind != ContactKind.BUTTON.value or not previous.text:
        return None
    rating = Rating.parse(previous.text)
    return rating.complaint_id if rating is not None else None


async def skip_comment(update: Update, context: CareContext) -> int:
    """Go on without a comment."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(_("All right. Thank you again for your rating!"))
    return END


async def leave_for_command(update: Update, context: CareContext) -> int:
    """Another command ends the wait for a comment and does what it always does."""
    await pass_on(update, context)
    return END


async def pass_on(update: Update, context: CareContext) -> None:
    """Let the handlers after this dialogue handle the update, as if it had not been here.

    PTB gives an update to one handler per group; a dialogue that declines an update
    after looking into the database can only hand it on itself.
    """
    await common.hand_on(
        update,
        context,
        lambda handler: isinstance(handler, ConversationHandler) and handler.name == NAME,
    )


async def reopen(update: Update, context: CareContext) -> int | None:
    """Reopen the customer's complaint from the offer after a low rating."""
    query, view = update.callback_query, context.customer
    pressed = ReopenRequest.parse(query.data if query is not None else None)
    assert query is not None and pressed is not None
    if view is None:
        await common.refuse_unknown_button(update, context)
        return None
    complaint_id = pressed.complaint_id
    services = context.services
    async with services.sessionmaker.begin() as session:
        loaded = await _own_complaint(session, complaint_id, view.id)
        change, number, staff_text = None, None, ""
        if loaded is not None:
            number = loaded.complaint.number
            try:
                change = await complaints.reopen(
                    session, loaded.complaint, services.sla, services.clock.now(), by_customer=True
                )
            except Refused:  # open already (staff reopened it, or it was never resolved)
                change = None
            with use_locale(services.default_locale):
                staff_text = _("🔁 The customer reopened complaint {number}.").format(number=number)
            if change is not None:
                # The customer is told, the card shows it, staff hear of it: all owed here.
                await owe_announcement(session, services, change)
                await owe_alert(
                    session, services, Alert.REOPENED_BY_CUSTOMER, staff_text, complaint_id
                )
    if number is None:
        await common.refuse_unknown_button(update, context)
        return None
    if change is None:
        await query.answer(
            _("Your complaint {number} is open: we are on it.").format(number=number)
        )
        return END
    await query.answer()
    if isinstance(query.message, Message):
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramError as error:
            log.info("reopen offer not edited: %s", error)
    return END


def satisfaction_conversation() -> ConversationHandler:
    """The rating and, after it, the wait for an optional comment."""
    return ChatDialogue(
        name=NAME,
        persistent=True,
        # A second rating (another complaint) starts over from its own press.
        allow_reentry=True,
        entry_points=[CallbackQueryHandler(rate, pattern=Rating.pattern())],
        states={
            COMMENT: [
                CommandHandler(["skip", "cancel"], skip_comment, filters=PRIVATE),
                MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, take_comment),
            ]
        },
        fallbacks=[
            CallbackQueryHandler(reopen, pattern=ReopenRequest.pattern()),
            MessageHandler(PRIVATE & filters.COMMAND, leave_for_command),
        ],
    )


def survey_handlers() -> list[BaseHandler]:
    """Handlers for rating buttons, the optional comment and the reopen offer."""
    return [
        satisfaction_conversation(),
        # The reopen offer outlives the dialogue (pressed after /skip or a day later).
        CallbackQueryHandler(reopen, pattern=ReopenRequest.pattern()),
    ]
