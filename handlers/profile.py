"""The customer's own record: /profile, /language, /stop, /forget, /help."""

from __future__ import annotations

from collections.abc import Callable

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from care import customers, privacy
from care.locales import LOCALES
from handlers import common, texts
from handlers.buttons import ConsentChoice, ForgetAnswer, LanguageChoice, ProfileField
from handlers.context import CareContext
from handlers.erasure import owe_staff_news
from handlers.i18n import gettext as _
from handlers.i18n import set_locale

PRIVATE = filters.ChatType.PRIVATE


async def show_help(update: Update, context: CareContext) -> None:
    """List the commands."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(texts.help_text(), reply_markup=texts.file_button())


async def show_profile(update: Update, context: CareContext) -> None:
    """Show what we hold about the customer, with buttons to change it."""
    message, view = update.effective_message, context.customer
    assert message is not None and view is not None
    async with context.services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, view.id)
        summary = texts.profile_summary(customer, customers.birthday_of(customer))
        keyboard = texts.profile_keyboard(customer)
    if not view.onboarded:
        summary += "\n\n" + _("You have not finished registering yet: send /start.")
    await message.reply_text(summary, reply_markup=keyboard)


async def ask_language(update: Update, context: CareContext) -> None:
    """Offer the languages."""
    view = context.customer
    assert view is not None and update.effective_chat is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    await context.bot.send_message(
        update.effective_chat.id,
        _("Which language do you prefer?"),
        reply_markup=texts.language_keyboard(view.locale if view.language_chosen else None),
    )


async def save_language(
    update: Update,
    context: CareContext,
    then: Callable[[], tuple[str, InlineKeyboardMarkup]] | None = None,
) -> str | None:
    """Save the language a ``lang:`` button names and confirm it in place.

    Args:
        then: What the pressed message goes on to ask, in the new language (text and
            buttons), below the confirmation; without it the buttons are removed.

    Returns:
        The locale, or None when the button names none of ours (it was answered).
    """
    query = update.callback_query
    assert query is not None and query.data is not None and context.customer is not None
    chosen = LanguageChoice.parse(query.data)
    locale = chosen.code if chosen is not None else ""
    if locale not in LOCALES:
        await query.answer(_("This button is no longer valid. Send /help to see what I can do."))
        return None
    async with context.services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, context.customer.id)
        customers.set_language(customer, locale)
    set_locale(locale)
    await query.answer()
    confirmation = _("Language: {language}").format(language=texts.language_label(locale))
    if then is None:
        await common.settle(query, confirmation)
    else:
        question, keyboard = then()
        await query.edit_message_text(confirmation + "\n\n" + question, reply_markup=keyboard)
    return locale


async def change_language(update: Update, context: CareContext) -> None:
    """Switch the customer's language."""
    await save_language(update, context)


async def stop_care(update: Update, context: CareContext) -> None:
    """Turn care messages off."""
    message = update.effective_message
    assert message is not None and context.customer is not None
    async with context.services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, context.customer.id)
        customers.set_consent(customer, False, context.services.clock.now())
    await message.reply_text(
        _(
            "Care messages are off: no more greetings or follow-ups. We will still answer "
            "when you write to us. Send /start or use /profile to turn them on again."
        )
    )


async def set_consent_button(update: Update, context: CareContext) -> None:
    """Turn care messages on or off from a button (profile, welcome back)."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.customer is not None
    choice = ConsentChoice.parse(query.data)
    if choice is None:
        await query.answer(_("This button is no longer valid. Send /help to see what I can do."))
        return
    consent = choice.answer == "yes"
    async with context.services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, context.customer.id)
        customers.set_consent(customer, consent, context.services.clock.now())
    await query.answer()
    await common.settle(query)
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id,
        _("Care messages are on. Thank you!")
        if consent
        else _("Care messages are off. Send /start or use /profile to turn them on again."),
    )


async def ask_forget(update: Update, context: CareContext) -> None:
    """Ask for confirmation before erasing the customer's personal data."""
    assert update.effective_chat is not None
    await context.bot.send_message(
        update.effective_chat.id,
        _(
            "Do you want us to erase your personal data: name, phone, birthday, the text "
            "of our conversations and of your complaints, photos and documents? Open "
            "complaints will be closed. This cannot be undone."
        ),
        reply_markup=texts.forget_keyboard(),
    )


async def answer_forget(update: Update, context: CareContext) -> None:
    """Erase the customer's personal data, or keep it."""
    query = update.callback_query
    assert query is not None and context.customer is not None
    await query.answer()
    await common.settle(query)
    assert update.effective_chat is not None
    if query.data != ForgetAnswer("yes").pack():
        await context.bot.send_message(
            update.effective_chat.id, _("Nothing was erased. Thank you for staying with us.")
        )
        return
    services = context.services
    async with services.sessionmaker.begin() as session:
        customer = await session.get_one(customers.Customer, context.customer.id)
        erasure = await privacy.forget_customer(session, customer, services.clock.now())
        await owe_staff_news(session, services, erasure)
    persistence = context.application.persistence
    forget_user = getattr(persistence, "forget_user", None)
    if update.effective_user is not None:
        user_id = update.effective_user.id
        if forget_user is not None:
            await forget_user(user_id)
        context.application.drop_user_data(user_id)
        context.application.drop_chat_data(update.effective_chat.id)
    # Sent after erasure, so not even the goodbye is logged against the person.
    await context.bot.send_message(
        update.effective_chat.id,
        _(
            "Your personal data has been erased. If you write to us again, "
            "we will start afresh. Goodbye, and take care!"
        ),
    )


def commands_before_dialogues() -> list[BaseHandler]:
    """Commands that work anywhere, even in the middle of a dialogue (which stays open)."""
    return [
        CommandHandler("help", show_help, filters=PRIVATE),
        CommandHandler("profile", show_profile, filters=PRIVATE),
        CommandHandler("language", ask_language, filters=PRIVATE),
        CommandHandler("stop", stop_care, filters=PRIVATE),
    ]


def handlers_after_dialogues() -> list[BaseHandler]:
    """Buttons and commands outside any dialogue."""
    return [
        CommandHandler("forget", ask_forget, filters=PRIVATE),
        CallbackQueryHandler(change_language, pattern=LanguageChoice.family()),
        CallbackQueryHandler(ask_language, pattern=ProfileField("language").exact()),
        CallbackQueryHandler(set_consent_button, pattern=ConsentChoice.family()),
        CallbackQueryHandler(answer_forget, pattern=ForgetAnswer.pattern()),
    ]
