"""The staff commands: which role may use which, the staff ``/help`` text, and the
command menus Telegram shows staff (and only staff).

Telegram picks a chat's menu from the narrowest scope that has one: a chat's own
(``BotCommandScopeChat``) before all private chats, and one member's menu in a chat
(``BotCommandScopeChatMember``) before the chat's. So the staff group gets the menu every
agent may use, each staff member gets their own in the staff group and in their private
chat, with the staff commands their role may use, and every other private chat keeps
the customer's menu (``bot.app``). A menu per
language (``language_code``) and one without, in the default locale; a staff member who
chose a language (``/mylanguage``) gets only the one without, in theirs.

Setting a menu is configuration, not a message owed to someone: it is done directly,
and a refusal (a staff member who never opened a chat with the bot: "chat not found")
is logged and leaves that menu as it was; it is set again at the next start, or when
their language or role changes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeChatMember
from telegram.error import TelegramError

from care import staff as staff_members
from care.locales import LOCALES
from care.models import StaffRole
from handlers.context import Services
from handlers.i18n import N_, gettext_in
from handlers.i18n import gettext as _

log = logging.getLogger(__name__)

RANK = {StaffRole.AGENT: 0, StaffRole.SUPERVISOR: 1, StaffRole.ADMIN: 2}


@dataclass(frozen=True)
class StaffCommand:
    """A staff command: who may use it and how it is described (in the menu and /help)."""

    name: str
    description: str  # N_(): translated when shown
    role: StaffRole = StaffRole.AGENT  # the least role that may use it
    # Said to admins instead, where they may do more (add and remove).
    admin_description: str | None = None

    def allowed(self, role: str) -> bool:
        return rank(role) >= RANK[self.role]

    def described_for(self, role: str) -> str:
        if self.admin_description and role == StaffRole.ADMIN.value:
            return self.admin_description
        return self.description


# In the order /help and the menus list them.
STAFF_COMMANDS: tuple[StaffCommand, ...] = (
    StaffCommand("queue", N_("Open complaints and conversations, the nearest deadline first")),
    StaffCommand("complaint", N_("A complaint's card and history: /complaint C-…")),
    StaffCommand(
        "reply", N_("Write to a customer: /reply <customer id | #conversation | C-…> text")
    ),
    StaffCommand("c", N_("Send a canned answer: /c name in a topic, or replying to a card")),
    StaffCommand("customer", N_("A customer's card: /customer <name | phone | id | @username>")),
    StaffCommand("tag", N_("Tag a customer: /tag <customer> add|remove <tag>")),
    StaffCommand(
        "faq",
        N_("The FAQ: /faq list · show <id> · stats · off|on [id]"),
        admin_description=N_(
            "The FAQ: /faq list · show <id> · stats · off|on [id] · add · save (a reply to "
            "a staff answer) · same <id> (a reply to a customer's question)"
        ),
    ),
    StaffCommand("assign", N_("Give a complaint to a colleague: /assign C-… @username")),
    StaffCommand("resolve", N_("Resolve a complaint: /resolve C-… what was done")),
    StaffCommand("reopen", N_("Open a resolved complaint again: /reopen C-…")),
    StaffCommand("note", N_("An internal note on a complaint: /note C-… text")),
    StaffCommand(
        "canned",
        N_("The canned answers: /canned list"),
        admin_description=N_("Canned answers: /canned list · add <name> <language> text · remove"),
    ),
    StaffCommand(
        "staff",
        N_("Who the care staff are: /staff list"),
        admin_description=N_("The care staff: /staff list · add · remove"),
    ),
    StaffCommand("occasions", N_("Occasions for greetings in the coming year")),
    StaffCommand("birthday", N_("The days a birthday is greeted on: /birthday 1990-05-17")),
    StaffCommand(
        "followups", N_("Follow-ups and greetings due: /followups [days]"), StaffRole.SUPERVISOR
    ),
    StaffCommand(
        "report",
        N_("The period's measures and charts: /report [today|week|month]"),
        StaffRole.SUPERVISOR,
    ),
    StaffCommand(
        "campaign",
        N_("Campaigns: /campaign new|edit|preview|approve|cancel|status"),
        StaffRole.ADMIN,
    ),
    StaffCommand("campaigns", N_("The latest campaigns"), StaffRole.ADMIN),
    StaffCommand("mylanguage", N_("The language carebot speaks to you: /mylanguage en")),
    StaffCommand("help", N_("The staff commands")),
)


def rank(role: str) -> int:
    """How far a role reaches (an unknown one: not at all)."""
    known = {member.value: member for member in StaffRole}
    return RANK[known[role]] if role in known else -1


def commands_for(role: str) -> list[StaffCommand]:
    """The staff commands someone of ``role`` may use."""
    return [command for command in STAFF_COMMANDS if command.allowed(role)]


def help_text(role: str) -> str:
    """The staff /help: the commands the reader may use, in the current locale."""
    lines = [_("Staff commands you can use:")]
    lines += [f"/{c.name} — {_(c.described_for(role))}" for c in commands_for(role)]
    lines.append(
        _(
            "To write to a customer, reply to the card of their complaint or to their "
            "message in the staff group."
        )
    )
    return "\n".join(lines)


def menu(role: str, locale: str) -> list[BotCommand]:
    """The menu of someone of ``role``, in ``locale``."""
    return [
        BotCommand(c.name, gettext_in(locale, c.described_for(role))) for c in commands_for(role)
    ]


def language_code(locale: str) -> str:
    """Telegram's two-letter language code of one of our locales."""
    return locale.split("_")[0]


def _scope(chat_id: int, user_id: int | None) -> BotCommandScopeChat | BotCommandScopeChatMember:
    if user_id is None:
        return BotCommandScopeChat(chat_id)
    return BotCommandScopeChatMember(chat_id, user_id)


async def set_menu(
    bot: Bot,
    chat_id: int,
    role: str,
    default_locale: str,
    chosen: str | None,
    user_id: int | None = None,
) -> bool:
    """Give the chat ``chat_id`` the staff menu of ``role`` (``user_id``: only that member
    of the chat sees it).

    Returns:
        Whether Telegram took it (False: refused, logged).
    """
    scope = _scope(chat_id, user_id)
    try:
        if chosen is not None:
            # Their choice, whatever their app's language: no per-language menus.
            for locale in LOCALES:
                await bot.delete_my_commands(scope=scope, language_code=language_code(locale))
            await bot.set_my_commands(menu(role, chosen), scope=scope)
            return True
        for locale in LOCALES:
            await bot.set_my_commands(
                menu(role, locale), scope=scope, language_code=language_code(locale)
            )
        await bot.set_my_commands(menu(role, default_locale), scope=scope)
    except TelegramError as error:
        log.warning("the staff menu of chat %s (member %s) was not set: %s",
                    chat_id, user_id, error)  # fmt: skip
        return False
    return True


async def clear_menu(bot: Bot, chat_id: int, user_id: int | None = None) -> bool:
    """Take the staff menu away from a private chat (they are no longer staff): the
    customer's menu shows again; ``user_id``: that member's own in the chat ``chat_id``
    (the chat's menu shows again)."""
    scope = _scope(chat_id, user_id)
    try:
        for locale in LOCALES:
            await bot.delete_my_commands(scope=scope, language_code=language_code(locale))
        await bot.delete_my_commands(scope=scope)
    except TelegramError as error:
        log.warning("the staff menu of chat %s (member %s) was not taken away: %s",
                    chat_id, user_id, error)  # fmt: skip
        return False
    return True


async def set_staff_menus(bot: Bot, services: Services) -> None:
    """At start-up: the staff group's menu (what every staff member may use), and each
    staff member's own, in the staff group and in their private chat (what their role
    may use, in their language)."""
    if services.staff_chat_id is not None:
        await set_menu(
            bot, services.staff_chat_id, StaffRole.AGENT.value, services.default_locale, None
        )
    async with services.sessionmaker() as session:
        members = await staff_members.list_staff(session)
    for member in members:
        if await set_menu(
            bot, member.telegram_user_id, member.role, services.default_locale, member.language
        ):
            services.staff_directory.menus_set.add(member.telegram_user_id)
        if services.staff_chat_id is not None:
            await set_menu(
                bot, services.staff_chat_id, member.role, services.default_locale,
                member.language, user_id=member.telegram_user_id,
            )  # fmt: skip


async def refresh_member_menu(bot: Bot, services: Services, telegram_user_id: int) -> None:
    """After someone's role, language or membership changed: their private chat's menu
    and their own in the staff group."""
    services.staff_directory.forget()
    async with services.sessionmaker() as session:
        member = await staff_members.find_staff(session, telegram_user_id)
        role, language = (member.role, member.language) if member is not None else (None, None)
    menus_set = services.staff_directory.menus_set
    group = services.staff_chat_id
    if group is not None:
        if role is None:
            await clear_menu(bot, group, telegram_user_id)
        else:
            await set_menu(
                bot, group, role, services.default_locale, language, user_id=telegram_user_id
            )
    if role is None:
        await clear_menu(bot, telegram_user_id)
        menus_set.discard(telegram_user_id)
    elif await set_menu(bot, telegram_user_id, role, services.default_locale, language):
        menus_set.add(telegram_user_id)
    else:
        menus_set.discard(telegram_user_id)
