"""One way to write a staff command or a staff button.

A staff command is declared with the least role it needs::

    staff_command("queue", show_queue)
    staff_command("campaign", on_campaign, least=StaffRole.ADMIN,
                  refusal=N_("Only admins can run campaigns."))

and its action is a plain coroutine ``async def show_queue(request: StaffRequest) ->
Reply``. The declaration does the rest, the same way for every command and button: it
opens the one transaction, finds the staff member (anyone else is refused, in their own
language, and the attempt logged), checks the role, hands the action a
:class:`StaffRequest` in the reader's language, owes the complaint changes the reply
announces in the same transaction, and after the commit sends the reply (in parts
Telegram accepts; for a button, as the query's answer) and runs its ``after`` step.

An action stops with words and no change by raising :class:`Answer`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from care import mentions
from care import staff as staff_members
from care.complaints import Change
from care.locales import locale_for_language_code
from care.models import StaffMember, StaffRole
from handlers import notify
from handlers.buttons import Button
from handlers.context import CareContext, Services
from handlers.i18n import N_, use_locale
from handlers.i18n import gettext as _
from handlers.staff_directory import chosen_language
from handlers.texts import chunks

log = logging.getLogger(__name__)

# Roles from least to most: a declaration's ``least`` admits that role and those after it.
ROLES = (StaffRole.AGENT, StaffRole.SUPERVISOR, StaffRole.ADMIN)
ROLE_REFUSALS = {
    StaffRole.SUPERVISOR: N_("Only supervisors and admins can do this."),
    StaffRole.ADMIN: N_("Only admins can do this."),
}


class Answer(Exception):
    """Stop and answer the staff member with these words; nothing is changed.
    ``about``: the customers the words name (a list of matches), for /forget."""

    def __init__(self, text: str, about: Iterable[int] = ()) -> None:
        super().__init__(text)
        self.text = text
        self.about = set(about)


# What runs after the commit and the answer: given the context and the message the reply
# was posted as (None for a button's answer).
After = Callable[[CareContext, Message | None], Awaitable[None]]


@dataclass(frozen=True)
class Reply:
    """What a staff command or button answers, and what follows the commit."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    # Complaint changes: their notices and card edits are owed in the action's transaction.
    changes: tuple[Change, ...] = ()
    after: After | None = None
    # A button's answer shown as an alert (a refusal, or words to read) instead of a toast.
    alert: bool = False
    # The customers it names or quotes (``StaffRequest.concerns``): /forget deletes it.
    about: frozenset[int] = frozenset()


@dataclass
class StaffRequest:
    """What a staff action is handed: who asks, where, with what, in one transaction."""

    session: AsyncSession
    member: StaffMember
    services: Services
    update: Update
    # A command's text after its name; a button's callback data.
    arguments: str
    # The language the reader reads (``handlers.i18n`` is already set to it).
    locale: str
    extra: dict[str, Any] = field(default_factory=dict)
    # The customers the action is about: see :meth:`concerns`.
    about: set[int] = field(default_factory=set)

    def concerns(self, *customer_ids: int) -> None:
        """The command (and the answer to it) names or quotes these customers: both are
        recorded against them (``care.mentions``), so that /forget deletes them."""
        self.about.update(customer_ids)

    @property
    def message(self) -> Message | None:
        """The command's message, or the message whose button was pressed."""
        query = self.update.callback_query
        if query is not None:
            message = query.message
            return message if isinstance(message, Message) else None
        return self.update.effective_message

    @property
    def chat_id(self) -> int | None:
        chat = self.update.effective_chat
        return chat.id if chat is not None else None

    def require(self, least: StaffRole, refusal: str | None = None) -> None:
        """Refuse (with ``refusal``, or words for the role) a member below ``least``.

        Raises:
            Answer: saying who may.
        """
        if has_role(self.member, least):
            return
        log.warning(
            "refused a staff action: staff member %s is a %s, %s needed",
            self.member.id, self.member.role, least.value,
        )  # fmt: skip
        raise Answer(_(refusal or ROLE_REFUSALS[least]))


StaffAction = Callable[[StaffRequest], Awaitable[Reply]]
# Domain errors an action may raise, and the words for them (nothing was changed).
ErrorWords = Mapping[type[Exception], Callable[[Any], str]]


def has_role(member: StaffMember, least: StaffRole) -> bool:
    role = StaffRole(member.role) if member.role in {r.value for r in ROLES} else None
    return role is not None and ROLES.index(role) >= ROLES.index(least)


# --- where and in which language staff are answered ------------------------------------


def staff_places(staff_chat_id: int | None) -> filters.BaseFilter:
    """Staff commands are answered in private chats and in the staff group; another
    group is no place for staff work (the command flows on)."""
    where: filters.BaseFilter = filters.ChatType.PRIVATE
    if staff_chat_id is not None:
        where = where | filters.Chat(staff_chat_id)
    return where


def staff_locale(update: Update, services: Services) -> str:
    """The language of carebot's words for staff in the chat of ``update``.

    What is posted in the staff group is read by the whole team: the company's default
    locale. A private chat speaks the staff member's language: the one they chose with
    /mylanguage (``handlers.staff_directory``), else their Telegram app's.
    """
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and chat.type == chat.PRIVATE and user is not None:
        return chosen_language() or locale_for_language_code(
            user.language_code, services.default_locale
        )
    return services.default_locale


def refusal_locale(update: Update, context: CareContext) -> str:
    """Whom we refuse: a customer in their chat hears their own language."""
    chat = update.effective_chat
    if chat is not None and chat.type == chat.PRIVATE and context.customer is not None:
        return context.customer.locale
    return staff_locale(update, context.services)


def only_staff() -> str:
    return _("Only care staff can do this.")


async def refuse(update: Update, context: CareContext, attempt: str) -> None:
    """Tell someone who is not care staff that they cannot do this, and log the attempt."""
    user, chat = update.effective_user, update.effective_chat
    log.warning(
        "refused a staff action: user %s in chat %s is not care staff (tried %s)",
        user.id if user else None, chat.id if chat else None, attempt,
    )  # fmt: skip
    with use_locale(refusal_locale(update, context)):
        text = only_staff()
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


def command_arguments(message: Message) -> str:
    """The text after the command (``/note@bot C-1 text`` → ``C-1 text``), newlines kept."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


# --- the declarations -------------------------------------------------------------------


async def run_staff_action(
    update: Update,
    context: CareContext,
    attempt: str,
    arguments: str,
    action: StaffAction,
    least: StaffRole,
    refusal: str | None,
    errors: ErrorWords,
) -> tuple[Reply | None, str]:
    """Find the staff member, check the role and run the action in one transaction.

    Returns the reply (None: the sender is not care staff and was refused) and the
    locale it is in.
    """
    user = update.effective_user
    assert user is not None
    services = context.services
    locale = staff_locale(update, services)
    request: StaffRequest | None = None
    with use_locale(locale):
        try:
            async with services.sessionmaker.begin() as session:
                member = await staff_members.find_staff(session, user.id)
                if member is None:
                    reply = None
                else:
                    request = StaffRequest(session, member, services, update, arguments, locale)
                    request.require(least, refusal)
                    reply = await action(request)
                    for change in reply.changes:
                        # Owed with the change: nobody is told of a change rolled back,
                        # and no change committed goes untold.
                        await notify.owe_announcement(session, services, change)
                    if request.about:
                        reply = replace(reply, about=frozenset(request.about))
                        # The staff member's command names them: on record with it.
                        await _remember_command(session, update, request.about, services)
        except Answer as answer:
            reply = Reply(answer.text, alert=True, about=frozenset(answer.about))
            # Nothing changed, but the command may name or quote the customers it was
            # about (or those the answer lists): on record all the same.
            about = answer.about | (request.about if request is not None else set())
            if about:
                async with services.sessionmaker.begin() as session:
                    await _remember_command(session, update, about, services)
        except tuple(errors) as error:  # nothing was changed: the transaction rolled back
            reply = Reply(errors[type(error)](error), alert=True)
    if reply is None:
        await refuse(update, context, attempt)
    return reply, locale


async def _remember_command(
    session: AsyncSession, update: Update, about: Iterable[int], services: Services
) -> None:
    """A staff member's command about these customers, for /forget (not a button press:
    its message is the bot's, recorded where it was sent)."""
    command = update.effective_message
    if update.callback_query is None and command is not None:
        await mentions.remember(
            session, about, command.chat_id, [command.message_id], services.clock.now(),
            by_staff=True,
        )  # fmt: skip


def staff_command(
    names: str | Sequence[str],
    action: StaffAction,
    *,
    least: StaffRole = StaffRole.AGENT,
    refusal: str | None = None,
    where: filters.BaseFilter | None = None,
    errors: ErrorWords | None = None,
) -> CommandHandler[CareContext, None]:
    """A staff command: ``least`` is the least role it needs; ``refusal`` the words for
    staff below it (untranslated: ``N_``); ``where`` the chats it is answered in
    (default: anywhere, staff places being the caller's choice); ``errors`` words for
    domain errors."""
    first = names if isinstance(names, str) else names[0]

    async def callback(update: Update, context: CareContext) -> None:
        message = update.effective_message
        if message is None or update.effective_user is None:
            return
        reply, locale = await run_staff_action(
            update, context, f"/{first}", command_arguments(message), action, least,
            refusal, errors or {},
        )  # fmt: skip
        if reply is not None:
            with use_locale(locale):
                await send_reply(context, message, reply)

    callback.__doc__ = action.__doc__
    # New messages only: an edited command must not act again.
    only = filters.UpdateType.MESSAGE if where is None else where & filters.UpdateType.MESSAGE
    return CommandHandler(names, callback, filters=only)


def staff_button(
    kind: type[Button],
    action: StaffAction,
    *,
    least: StaffRole = StaffRole.AGENT,
    refusal: str | None = None,
    errors: ErrorWords | None = None,
) -> CallbackQueryHandler[CareContext, None]:
    """A staff button: any callback data of the family ``kind`` (a forged or stale one
    is the action's to refuse: ``kind.parse`` gives None)."""

    async def callback(update: Update, context: CareContext) -> None:
        query = update.callback_query
        assert query is not None
        data = query.data or ""
        reply, locale = await run_staff_action(
            update, context, f"button {data!r}", data, action, least, refusal, errors or {}
        )
        if reply is not None:
            with use_locale(locale):
                await answer_button(context, query, reply)

    callback.__doc__ = action.__doc__
    return CallbackQueryHandler(callback, pattern=kind.family())


async def send_reply(context: CareContext, message: Message, reply: Reply) -> None:
    """Answer a command in parts Telegram accepts, the buttons on the last; then ``after``."""
    parts = chunks(reply.text)
    ids = []
    for part in parts[:-1]:
        ids.append((await message.reply_text(part)).message_id)
    sent = await message.reply_text(parts[-1], reply_markup=reply.keyboard)
    await remember_answers(context, reply.about, message.chat_id, [*ids, sent.message_id])
    if reply.after is not None:
        await reply.after(context, sent)


async def remember_answers(
    context: CareContext, customer_ids: Iterable[int], chat_id: int, message_ids: list[int]
) -> None:
    """The bot's answers that name or quote these customers, on record (``care.mentions``)
    right after Telegram took them, for /forget. (Their ids exist only now: a process
    killed in between leaves them unrecorded; the command itself was recorded with it.)"""
    if not customer_ids:
        return
    services = context.services
    async with services.sessionmaker.begin() as session:
        await mentions.remember(
            session, customer_ids, chat_id, message_ids, services.clock.now(), by_staff=False
        )


async def answer_button(context: CareContext, query: CallbackQuery, reply: Reply) -> None:
    """Answer a button press (a toast, or an alert); then ``after``."""
    await query.answer(reply.text, show_alert=reply.alert)
    if reply.after is not None:
        await reply.after(context, None)
