"""A staff member's own side of carebot: who they are, which language they read, /help.

- Every update (before anything else): is its sender staff? Then their name and
  username are kept as Telegram shows them now, and their private chat speaks the
  language they chose (``handlers.staff_directory``).
- ``/mylanguage zh_CN|en|auto``: the language carebot's staff-side words speak to them
  in their private chat (``auto``: their Telegram app's). The staff group keeps the
  company's default locale: it is read by the whole team.
- ``/help`` in the staff group and in a staff member's private chat: the staff commands
  they may use (by role). Anyone else gets the customer's /help in a private chat and a
  refusal in the staff group.
"""

from __future__ import annotations

from dataclasses import replace

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from care import staff as staff_members
from care.locales import LOCALES, locale_for_language_code
from handlers import profile, staff_menu, texts
from handlers.context import CareContext
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.roster import menu_refreshed
from handlers.staff_access import (
    Reply,
    StaffRequest,
    refuse,
    staff_command,
    staff_locale,
    staff_places,
)
from handlers.staff_directory import choose_language, telegram_name

AUTO = "auto"


async def know_staff(update: Update, context: CareContext) -> None:
    """If a staff member sent this update: keep their names current, speak their language."""
    user = update.effective_user
    if user is None or user.is_bot:
        return
    services = context.services
    directory = services.staff_directory
    known = await directory.get(services.sessionmaker, services.clock.now(), user.id)
    if known is None:
        choose_language(None)
        return
    choose_language(known.language)
    chat = update.effective_chat
    if chat is not None and chat.type == chat.PRIVATE and user.id not in directory.menus_set:
        # Made staff before they ever wrote to the bot (Telegram refused their chat's
        # menu then: "chat not found"): now it has their chat.
        if await staff_menu.set_menu(
            context.bot, user.id, known.role, services.default_locale, known.language
        ):
            directory.menus_set.add(user.id)
    name = telegram_name(user.first_name, user.last_name) or known.telegram_name
    app_locale = (
        locale_for_language_code(user.language_code, "") or None
        if user.language_code
        else known.telegram_locale
    )
    if (name, user.username, app_locale) == (
        known.telegram_name,
        known.username,
        known.telegram_locale,
    ):
        return
    async with services.sessionmaker.begin() as session:
        await staff_members.note_identity(session, user.id, name, user.username, app_locale)
    directory.remember(replace(known, telegram_name=name, username=user.username,
                               telegram_locale=app_locale))  # fmt: skip


def language_usage() -> str:
    return _(
        "Usage: /mylanguage zh_CN · /mylanguage en · /mylanguage auto (your Telegram app's "
        "language). The staff group always speaks the company's language."
    )


def wanted_locale(typed: str) -> str | None:
    """The locale a staff member asked for (``zh``, ``zh_CN``, ``zh-hans``, ``en``…)."""
    if typed.lower() == AUTO:
        return AUTO
    locale = locale_for_language_code(typed, "")
    return locale if locale in LOCALES else None


async def my_language(request: StaffRequest) -> Reply:
    """/mylanguage zh_CN|en|auto: the language carebot speaks to this staff member."""
    typed = request.arguments
    wanted = wanted_locale(typed) if typed else None
    member = request.member
    if wanted is None:
        current = texts.language_label(member.language) if member.language else _("automatic")
        return Reply(
            _("Your language: {language}.").format(language=current) + "\n" + language_usage()
        )
    chosen = None if wanted == AUTO else wanted
    await staff_members.set_language(request.session, member.telegram_user_id, chosen)
    request.services.staff_directory.forget()
    # The answer speaks the language chosen (this update's words follow the choice).
    locale = chosen or locale_for_language_code(
        request.update.effective_user.language_code if request.update.effective_user else None,
        request.services.default_locale,
    )
    chat = request.update.effective_chat
    if chat is not None and chat.type != chat.PRIVATE:
        locale = request.services.default_locale  # the group speaks the company's
    with use_locale(locale):
        if chosen is None:
            text = _("I will speak your Telegram app's language to you.")
        else:
            text = _("I will speak {language} to you.").format(
                language=texts.language_label(chosen)
            )
    return Reply(text, after=menu_refreshed(member.telegram_user_id))


async def staff_help(update: Update, context: CareContext) -> None:
    """/help: the staff commands the reader may use; a customer's /help for others."""
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    services = context.services
    # Read, not the directory: a staff member added a moment ago by another process
    # gets the staff's /help at once.
    async with services.sessionmaker() as session:
        member = await staff_members.find_staff(session, user.id)
        role = member.role if member is not None else None
    if role is None:
        if chat.type == chat.PRIVATE:
            await profile.show_help(update, context)
        else:
            await refuse(update, context, "/help")
        return
    with use_locale(staff_locale(update, services)):
        text = staff_menu.help_text(role)
    await message.reply_text(text)


def staff_self_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """/help and /mylanguage in private chats and the staff group (before the customer's
    /help: staff get theirs)."""
    where = staff_places(staff_chat_id)
    return [
        CommandHandler("help", staff_help, filters=where & filters.UpdateType.MESSAGE),
        staff_command("mylanguage", my_language, where=where),
    ]
