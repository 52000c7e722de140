"""Registration: language, consent, phone, birthday. Also edits phone and birthday later.

One persistent conversation ("customer_profile") serves both first registration and later
changes from /profile: a step knows which it is doing from whether the customer has
finished registration. Every answer is saved as it is given, so nothing is lost if the
process restarts in between; the conversation state itself survives through persistence.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from zoneinfo import ZoneInfo

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from care import customers
from care.birthdays import BirthdayError, parse_birthday
from care.locales import LOCALES
from handlers import common, texts
from handlers.context import CareContext
from handlers.i18n import gettext as _
from handlers.i18n import gettext_in
from handlers.profile import ask_forget, save_language

LANGUAGE, CONSENT, PHONE, BIRTHDAY = "language", "consent", "phone", "birthday"
END = ConversationHandler.END

PRIVATE = filters.ChatType.PRIVATE
SKIP = filters.Text([gettext_in(locale, texts.SKIP_LABEL) for locale in LOCALES])


async def start(update: Update, context: CareContext) -> str | int:
    """Greet: start registration, or welcome a returning customer back."""
    message, view = update.effective_message, context.customer
    assert message is not None and view is not None and update.effective_user is not None
    services = context.services
    if view.onboarded:
        text = _("Welcome back, {name}! How can we help you today? /help lists what I can do.")
        text = text.format(name=update.effective_user.first_name)
        if not view.consent_care:
            await message.reply_text(
                text + "\n" + _("Care messages are off. Would you like to receive them again?"),
                reply_markup=texts.consent_keyboard(),
            )
        else:
            await message.reply_text(text, reply_markup=texts.file_button())
        return END
    await message.reply_text(
        texts.greeting(update.effective_user.first_name, services.company_name),
        reply_markup=texts.language_keyboard(view.locale),
    )
    return LANGUAGE


async def choose_language(update: Update, context: CareContext) -> str:
    """Save the chosen language and ask for consent, in the same message (one edit)."""
    consent = await save_language(
        update, context, then=lambda: (texts.consent_question(), texts.consent_keyboard())
    )
    return LANGUAGE if consent is None else CONSENT


async def choose_consent(update: Update, context: CareContext) -> str:
    """Save the consent answer and ask for the phone number."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.customer is not None
    consent = query.data == texts.CONSENT_PREFIX + "yes"
    async with context.services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, context.customer.id)
        customers.set_consent(customer, consent, context.services.clock.now())
    await query.answer()
    await common.settle(
        query,
        _("Care messages: yes, thank you!") if consent else _("Care messages: no. Understood."),
    )
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id, texts.phone_question(), reply_markup=texts.phone_keyboard()
    )
    return PHONE


async def take_phone(update: Update, context: CareContext) -> str | int:
    """Accept the customer's own shared contact as their phone number."""
    message = update.effective_message
    assert message is not None and message.contact is not None and context.customer is not None
    user = update.effective_user
    if user is None or message.contact.user_id != user.id:
        await message.reply_text(
            _("Please share your own phone number with the button below, or tap Skip."),
            reply_markup=texts.phone_keyboard(),
        )
        return PHONE
    try:
        phone = customers.normalize_phone(message.contact.phone_number)
    except ValueError:
        await message.reply_text(
            _("That does not look like a phone number. Please use the button below, or Skip."),
            reply_markup=texts.phone_keyboard(),
        )
        return PHONE
    async with context.services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, context.customer.id)
        customers.set_phone(customer, phone)
    return await _after_phone(update, context, _("Thank you, we saved your phone number."))


async def skip_phone(update: Update, context: CareContext) -> str | int:
    """Go on without a phone number."""
    return await _after_phone(update, context, _("No problem, no phone number."))


async def _after_phone(update: Update, context: CareContext, note: str) -> str | int:
    message = update.effective_message
    assert message is not None and context.customer is not None
    if context.customer.onboarded:
        return await _edited(update, note)
    await message.reply_text(
        note + "\n\n" + texts.birthday_question(), reply_markup=texts.skip_keyboard()
    )
    return BIRTHDAY


async def _edited(update: Update, note: str) -> int:
    """End a change made from /profile."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        note + " " + _("Send /profile to see your details."), reply_markup=ReplyKeyboardRemove()
    )
    return END


async def take_birthday(update: Update, context: CareContext) -> str | int:
    """Parse and save the birthday, or explain what is wrong with it."""
    message = update.effective_message
    assert message is not None and message.text is not None and context.customer is not None
    services = context.services
    today = services.clock.now().astimezone(ZoneInfo(services.timezone)).date()
    try:
        birthday = parse_birthday(message.text[:64], today)
    except BirthdayError as error:
        await message.reply_text(
            texts.birthday_problem(error.problem), reply_markup=texts.skip_keyboard()
        )
        return BIRTHDAY
    async with services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, context.customer.id)
        customers.set_birthday(customer, birthday)
    note = _("Thank you! Birthday: {birthday}.").format(birthday=texts.format_birthday(birthday))
    return await _finish(update, context, note)


async def skip_birthday(update: Update, context: CareContext) -> str | int:
    """Go on without a birthday."""
    return await _finish(update, context, _("No problem, no birthday."))


async def _finish(update: Update, context: CareContext, note: str) -> int:
    message = update.effective_message
    assert message is not None and context.customer is not None
    if context.customer.onboarded:
        return await _edited(update, note)
    async with context.services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, context.customer.id)
        customers.complete_onboarding(customer, context.services.clock.now())
    await message.reply_text(
        note
        + "\n\n"
        + _("You are all set. Write to us whenever you need us.")
        + "\n\n"
        + texts.help_text(),
        reply_markup=ReplyKeyboardRemove(),
    )
    return END


async def edit_field(update: Update, context: CareContext) -> str:
    """From /profile: ask for a new phone number or birthday (the button says which)."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    if query.data == texts.PROFILE_PREFIX + "phone":
        question, keyboard, step = texts.phone_question(), texts.phone_keyboard(), PHONE
    else:
        question, keyboard, step = texts.birthday_question(), texts.skip_keyboard(), BIRTHDAY
    await context.bot.send_message(update.effective_chat.id, question, reply_markup=keyboard)
    return step


async def cancel(update: Update, context: CareContext) -> int:
    """Leave the dialogue; what was answered so far is kept."""
    message = update.effective_message
    assert message is not None and context.customer is not None
    if context.customer.onboarded:
        text = _("Cancelled. Your details are unchanged.")
    else:
        text = _("Registration paused. Send /start whenever you want to continue.")
    await message.reply_text(text, reply_markup=ReplyKeyboardRemove())
    return END


async def forget_midway(update: Update, context: CareContext) -> int:
    """/forget in the middle of a dialogue: leave it and ask for confirmation."""
    await ask_forget(update, context)
    return END


def _reprompt(state: str) -> Callable[[Update, CareContext], Coroutine[Any, Any, str]]:
    async def reprompt(update: Update, context: CareContext) -> str:
        """Answer anything unexpected in a step and repeat the step's question."""
        message = update.effective_message
        query = update.callback_query
        if query is not None:
            await query.answer(_("This button belongs to an earlier step."))
        elif message is not None and message.text and message.text.startswith("/"):
            await message.reply_text(
                _("Let us finish this step first, or send /cancel to stop here.")
            )
        if update.effective_chat is None:
            return state
        chat_id = update.effective_chat.id
        if state == LANGUAGE:
            await context.bot.send_message(
                chat_id,
                _("Please choose a language with the buttons."),
                reply_markup=texts.language_keyboard(
                    context.customer.locale if context.customer else None
                ),
            )
        elif state == CONSENT:
            await context.bot.send_message(
                chat_id,
                _("Please answer with the buttons: may we send you care messages?"),
                reply_markup=texts.consent_keyboard(),
            )
        elif state == PHONE:
            await context.bot.send_message(
                chat_id,
                _("Please share your phone number with the button below, or tap Skip."),
                reply_markup=texts.phone_keyboard(),
            )
        else:
            await context.bot.send_message(
                chat_id,
                _("Please write your birthday, like 1990-05-20 or 农历八月十五, or tap Skip."),
                reply_markup=texts.skip_keyboard(),
            )
        return state

    return reprompt


def _step(state: str, *handlers: BaseHandler) -> list[BaseHandler]:
    """A step's handlers, then what every step answers: /cancel, /forget, anything else."""
    reprompt = _reprompt(state)
    return [
        *handlers,
        CommandHandler("cancel", cancel, filters=PRIVATE),
        CommandHandler("forget", forget_midway, filters=PRIVATE),
        MessageHandler(PRIVATE, reprompt),
        CallbackQueryHandler(reprompt),
    ]


def profile_conversation() -> ConversationHandler:
    """The registration and profile-editing dialogue."""
    return ConversationHandler(
        name="customer_profile",
        persistent=True,
        allow_reentry=False,
        entry_points=[
            CommandHandler("start", start, filters=PRIVATE),
            CallbackQueryHandler(edit_field, pattern=f"^{texts.PROFILE_PREFIX}(phone|birthday)$"),
        ],
        states={
            LANGUAGE: _step(
                LANGUAGE,
                CallbackQueryHandler(choose_language, pattern=f"^{texts.LANGUAGE_PREFIX}"),
            ),
            CONSENT: _step(
                CONSENT,
                CallbackQueryHandler(choose_consent, pattern=f"^{texts.CONSENT_PREFIX}(yes|no)$"),
            ),
            PHONE: _step(
                PHONE,
                MessageHandler(PRIVATE & filters.CONTACT, take_phone),
                MessageHandler(PRIVATE & SKIP, skip_phone),
            ),
            BIRTHDAY: _step(
                BIRTHDAY,
                MessageHandler(PRIVATE & SKIP, skip_birthday),
                MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, take_birthday),
            ),
        },
        fallbacks=[],
    )
