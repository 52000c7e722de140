"""Registration: language, consent, phone, birthday. Also edits phone and birthday later.

One persistent conversation ("customer_profile") serves both first registration and later
changes from /profile: a step knows which it is doing from whether the customer has
finished registration. Every answer is saved as it is given, so nothing is lost if the
process restarts in between; the conversation state itself survives through persistence.

Registration is never a wall. Any command works at any step: one that starts another
dialogue (/complain, a rating) pauses registration, which /start resumes at the first
question not yet answered; others (/status …) are answered and the step stays. What the
customer writes that is no answer to the step (their problem, a photo) is handled as any
message is (added to their open complaint, else kept on their record), and the step's
question is asked again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from care import customers
from care.birthdays import BirthdayError, BirthdayProblem, looks_like_a_date, parse_birthday
from care.customers import RegistrationStep
from care.locales import LOCALES
from handlers import common, complaints, conversations, texts
from handlers.business import ChatDialogue
from handlers.buttons import ConsentChoice, LanguageChoice, ProfileField
from handlers.context import CareContext
from handlers.i18n import gettext as _
from handlers.i18n import gettext_in
from handlers.profile import ask_forget, save_language

NAME = "customer_profile"
LANGUAGE, CONSENT, PHONE, BIRTHDAY = "language", "consent", "phone", "birthday"
END = ConversationHandler.END
# The profile's fields this dialogue asks for again (the language has its own handler).
EDITED_HERE = re.compile(
    "|".join(ProfileField(field).exact().pattern for field in ("phone", "birthday"))
)
# Buttons of this dialogue: pressed at another step, they belong to an earlier one.
OWN_BUTTONS = re.compile(
    "|".join(kind.family().pattern for kind in (LanguageChoice, ConsentChoice, ProfileField))
)

PRIVATE = filters.ChatType.PRIVATE
ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup
Step = Callable[[Update, CareContext], Coroutine[Any, Any, str | int]]
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
    async with services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, view.id)
        step = customers.registration_resumes_at(customer)
        if step is None:  # every question answered, only the last word missing
            customers.complete_onboarding(customer, services.clock.now())
    if step is None:
        return await _all_set(update, _("Welcome back!"))
    if step is RegistrationStep.LANGUAGE:
        await message.reply_text(
            texts.greeting(update.effective_user.first_name, services.company_name),
            reply_markup=texts.language_keyboard(view.locale),
        )
        return LANGUAGE
    text = _("Welcome back, {name}! Let us finish your registration.").format(
        name=update.effective_user.first_name
    )
    if step is RegistrationStep.PHONE:
        await message.reply_text(
            text + "\n\n" + texts.phone_question(), reply_markup=texts.phone_keyboard()
        )
        return PHONE
    await message.reply_text(
        text + "\n\n" + texts.birthday_question(), reply_markup=texts.skip_keyboard()
    )
    return BIRTHDAY


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
    choice = ConsentChoice.parse(query.data)
    consent = choice is not None and choice.answer == "yes"
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
        phone = customers.shared_phone(message.contact.phone_number)
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


async def take_typed_phone(update: Update, context: CareContext) -> str | int:
    """Accept a phone number the customer wrote; a text that is none is a message."""
    message = update.effective_message
    assert message is not None and message.text is not None and context.customer is not None
    written = customers.typed_phone(message.text)
    if written is None:
        return await _keep_message(update, context, PHONE)
    region = context.services.phone_region
    try:
        phone = customers.normalize_phone(written, region)
    except ValueError:
        await message.reply_text(
            _(
                "{number} does not look like a phone number. Please write it like "
                "{example}, with the country code if it is not a number of ours (+852 …), "
                "or use the button below, or Skip."
            ).format(number=written, example=customers.example_phone(region)),
            reply_markup=texts.phone_keyboard(),
        )
        return PHONE
    async with context.services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, context.customer.id)
        customers.set_phone(customer, phone)
    return await _after_phone(
        update,
        context,
        _("Thank you, we saved your phone number: {phone}.").format(
            phone=customers.format_phone(phone)
        ),
    )


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
        if error.problem is BirthdayProblem.UNREADABLE and not looks_like_a_date(message.text):
            return await _keep_message(update, context, BIRTHDAY)
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
    return await _all_set(update, note)


async def _all_set(update: Update, note: str) -> int:
    """Registration is complete: say so, with what the bot can do."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
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
    if query.data == ProfileField("phone").pack():
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


def _question(context: CareContext, state: str) -> tuple[str, ReplyMarkup]:
    """A step's question, asked again, with its buttons."""
    if state == LANGUAGE:
        locale = context.customer.locale if context.customer else None
        return _("Please choose a language with the buttons."), texts.language_keyboard(locale)
    if state == CONSENT:
        return (
            _("Please answer with the buttons: may we send you care messages?"),
            texts.consent_keyboard(),
        )
    if state == PHONE:
        return (
            _("Please share your phone number with the button below, write it, or tap Skip."),
            texts.phone_keyboard(),
        )
    return (
        _("Please write your birthday, like 1990-05-20 or 农历八月十五, or tap Skip."),
        texts.skip_keyboard(),
    )


async def _ask_again(update: Update, context: CareContext, state: str, note: str = "") -> str:
    """Ask the step's question again (below ``note``, in the same message)."""
    assert update.effective_chat is not None
    question, markup = _question(context, state)
    text = f"{note}\n\n{question}" if note else question
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)
    return state


async def _keep_message(update: Update, context: CareContext, state: str) -> str:
    """A message that answers no question: handled as any message is, then the question.

    It is already on the customer's record (every message is logged); with an open
    complaint it is added to it, else to their conversation: staff see it either way.
    """
    message = update.effective_message
    if message is None or not (
        message.text or message.caption or message.photo or message.document
    ):
        return await _ask_again(update, context, state)  # a sticker, a voice message …
    if await complaints.relay_to_open_complaint(update, context):
        return await _ask_again(update, context, state)
    # Anything else reaches a person: it goes into the customer's conversation.
    note = await conversations.take_message(update, context)
    return await _ask_again(update, context, state, note or "")


def _repeat(state: str) -> Step:
    async def repeat(update: Update, context: CareContext) -> str:
        """/start in the middle of registration: go on where we are."""
        return await _ask_again(update, context, state)

    return repeat


def _keep(state: str) -> Step:
    async def keep(update: Update, context: CareContext) -> str:
        """Anything written that is no answer to the step: keep it, ask again."""
        return await _keep_message(update, context, state)

    return keep


def _earlier_button(state: str) -> Step:
    async def earlier_button(update: Update, context: CareContext) -> str:
        """A button of another step of this dialogue (a double tap): ask this one again."""
        assert update.callback_query is not None
        await update.callback_query.answer(_("This button belongs to an earlier step."))
        return await _ask_again(update, context, state)

    return earlier_button


def _elsewhere(state: str) -> Step:
    async def elsewhere(update: Update, context: CareContext) -> str | int:
        """Another command or button: it does what it does anywhere.

        One that starts another dialogue (/complain, a rating) pauses this one: two
        dialogues cannot both wait for the customer's next message. Anything else
        leaves the step as it is.
        """
        taker = common.next_handler(update, context, after=NAME)
        if taker is None:
            if update.callback_query is not None:
                await common.refuse_unknown_button(update, context)
            return state
        handler, check = taker
        paused = isinstance(handler, ConversationHandler)
        if paused:
            await _pause(update, context)
        await handler.handle_update(update, context.application, check, context)
        return END if paused else state

    return elsewhere


async def _pause(update: Update, context: CareContext) -> None:
    """Say that the dialogue waits for /start (or stops, in a change from /profile)."""
    assert update.effective_chat is not None and context.customer is not None
    if context.customer.onboarded:
        text = _("Cancelled. Your details are unchanged.")
    else:
        text = _("Registration paused. Send /start whenever you want to continue.")
    # The step's reply keyboard (Share my phone number, Skip) goes with the step.
    await context.bot.send_message(
        update.effective_chat.id, text, reply_markup=ReplyKeyboardRemove()
    )


def _step(state: str, *handlers: BaseHandler) -> list[BaseHandler]:
    """A step's handlers, then what every step answers: /cancel, /forget, /start, other
    commands and buttons, and anything else written."""
    return [
        *handlers,
        CommandHandler("cancel", cancel, filters=PRIVATE),
        CommandHandler("forget", forget_midway, filters=PRIVATE),
        CommandHandler("start", _repeat(state), filters=PRIVATE),
        MessageHandler(PRIVATE & filters.COMMAND, _elsewhere(state)),
        MessageHandler(PRIVATE, _keep(state)),
        CallbackQueryHandler(_earlier_button(state), pattern=OWN_BUTTONS),
        CallbackQueryHandler(_elsewhere(state)),
    ]


def profile_conversation() -> ConversationHandler:
    """The registration and profile-editing dialogue."""
    return ChatDialogue(
        name=NAME,
        persistent=True,
        allow_reentry=False,
        entry_points=[
            CommandHandler("start", start, filters=PRIVATE),
            CallbackQueryHandler(edit_field, pattern=EDITED_HERE),
        ],
        states={
            LANGUAGE: _step(
                LANGUAGE,
                CallbackQueryHandler(choose_language, pattern=LanguageChoice.family()),
            ),
            CONSENT: _step(
                CONSENT,
                CallbackQueryHandler(choose_consent, pattern=ConsentChoice.pattern()),
            ),
            PHONE: _step(
                PHONE,
                MessageHandler(PRIVATE & filters.CONTACT, take_phone),
                MessageHandler(PRIVATE & SKIP, skip_phone),
                MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, take_typed_phone),
            ),
            BIRTHDAY: _step(
                BIRTHDAY,
                MessageHandler(PRIVATE & SKIP, skip_birthday),
                MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, take_birthday),
            ),
        },
        fallbacks=[],
    )
