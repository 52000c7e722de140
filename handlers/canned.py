"""Canned answers in Telegram: ``/canned list|add|remove`` and ``/c <name>``.

``/canned add <name> <language> <text>`` saves a text (the text may start on the next
line and run over several; ``{name}`` becomes the customer's name); admins only, like
``/canned remove <name> [language]``. Every staff member may ``/canned list``.

``/c <name>`` sends a canned answer to a customer, in their language (else the
company's default), signed like a typed reply. Today it answers a complaint: as a reply
to its card, to the customer's relayed message or to a prompt, or with its number
(``/c <name> C-2026-000123``, also in a private chat). A name that is the start of
several asks which one, with a button each.

The sending is :func:`send_canned`, whatever the customer is reached through: a target
(:class:`CannedTarget`) says how to owe them the words, in the caller's transaction
(for a complaint: a staff reply owed on the complaint, recorded once delivered). A
picker button (``handlers.buttons.CannedPick``) names its target by a kind and an id,
which :data:`TARGETS` turns back into a target: ``k`` for a complaint.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardMarkup, Message
from telegram.error import TelegramError
from telegram.ext import BaseHandler

from care import canned, complaints
from care import staff as staff_members
from care.canned import CannedError, CannedProblem
from care.complaints import ComplaintFacts
from care.conversations import Conversation
from care.locales import LOCALES, locale_for_language_code
from care.models import Customer, StaffMember, StaffRole
from care.owed import Purpose
from handlers import conversation_answers as answers
from handlers import conversation_desk as desk
from handlers import conversation_staff, notify, staff
from handlers.buttons import CannedPick, CannedTargetKind, key
from handlers.context import CareContext, Services
from handlers.i18n import N_, use_locale
from handlers.i18n import gettext as _
from handlers.staff_access import (
    After,
    Answer,
    Reply,
    StaffRequest,
    staff_button,
    staff_command,
    staff_places,
)
from handlers.texts import language_label

log = logging.getLogger(__name__)

PICKER_SIZE = 10  # names offered at most when one typed is the start of many
LIST_PREVIEW = 60

PROBLEM_WORDS = {
    CannedProblem.BAD_NAME: N_(
        "A name is 1 to 32 letters a-z, digits or _, starting with a letter or digit."
    ),
    CannedProblem.EMPTY: N_("The text is empty."),
    CannedProblem.TOO_LONG: N_("The text is too long (3500 characters at most)."),
    CannedProblem.BAD_PLACEHOLDER: N_(
        "The text may hold {name} (the customer's name) and no other {…}; write {{ and }} "
        "for braces."
    ),
}


# --- sending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CannedTarget:
    """Whom a canned answer goes to, and how they are owed it.

    ``owe(words, note)`` owes the customer ``words`` (signed, in their language) in the
    caller's transaction and returns False if they cannot be reached; ``note`` is the
    answer itself, for the record.
    """

    customer: Customer
    key: tuple[CannedTargetKind, int]  # how a picker button names it: ("k", 17), complaint 17
    owe: Callable[[str, str], bool]


@dataclass(frozen=True)
class CannedResult:
    """What :func:`send_canned` did, in the staff member's words."""

    text: str
    sent: bool = False
    choices: tuple[str, ...] = ()  # names to choose from (what was typed starts several)

    def keyboard(self, target: CannedTarget) -> InlineKeyboardMarkup | None:
        """A button per name to choose from, or None."""
        if not self.choices:
            return None
        kind, target_id = target.key
        return InlineKeyboardMarkup(
            [[key(name, CannedPick(kind, target_id, name))] for name in self.choices]
        )


async def send_canned(
    session: AsyncSession,
    services: Services,
    target: CannedTarget,
    staff_member: StaffMember,
    name: str,
) -> CannedResult:
    """Owe the customer the canned answer ``name`` (or ask which one), in the caller's
    transaction; the words for the staff member come in the current locale."""
    names = await canned.matching_names(session, name)
    if not names:
        return CannedResult(
            _("There is no canned answer {name}. /canned list shows them.").format(name=name)
        )
    if len(names) > 1:
        return CannedResult(
            _("Several canned answers start with {name}: which one?").format(name=name),
            choices=tuple(names[:PICKER_SIZE]),
        )
    chosen = names[0]
    customer = target.customer
    locale = customer.language if customer.language in LOCALES else services.default_locale
    answer = await canned.text_for(session, chosen, locale, services.default_locale)
    if answer is None:
        return CannedResult(
            _("{name} has no text in {language}, nor in {default}.").format(
                name=chosen,
                language=language_label(locale),
                default=language_label(services.default_locale),
            )
        )
    with use_locale(answer.language):
        note = canned.filled(answer.text, customer.first_name or _("dear customer"))
        signed = _("💬 {name} (customer care): {text}").format(
            name=staff_members.signature(staff_member) or _("A colleague"), text=note
        )
    if not target.owe(signed, note):
        return CannedResult(_("⚠ Not delivered: the customer cannot be reached."))
    return CannedResult(
        _("{name} goes to the customer ({language}).").format(
            name=chosen, language=language_label(answer.language)
        ),
        sent=True,
    )


def complaint_target(
    session: AsyncSession,
    services: Services,
    facts: ComplaintFacts,
    staff_member: StaffMember,
    staff_message: tuple[int, int],
) -> CannedTarget:
    """The customer of a complaint, owed the answer as a staff reply on it: delivered with
    retries, recorded on the complaint once Telegram has it, and told under
    ``staff_message`` (chat id, message id) if it cannot be."""

    def owe(words: str, note: str) -> bool:
        if not facts.customer.reachable:
            return False
        return notify.owe_customer(
            session, services, facts, words, purpose=Purpose.STAFF_REPLY,
            staff_message=staff_message, staff_reply=(staff_member.id, note),
        )  # fmt: skip

    return CannedTarget(facts.customer, ("k", facts.complaint.id), owe)


TargetResolver = Callable[
    [AsyncSession, Services, int, StaffMember, tuple[int, int]], Awaitable[CannedTarget | None]
]


async def complaint_by_id(
    session: AsyncSession,
    services: Services,
    complaint_id: int,
    staff_member: StaffMember,
    staff_message: tuple[int, int],
) -> CannedTarget | None:
    loaded = await complaints.facts(session, complaint_id)
    if loaded is None or loaded.complaint.number is None:
        return None
    return complaint_target(session, services, loaded, staff_member, staff_message)


def conversation_target(
    session: AsyncSession,
    services: Services,
    conversation: Conversation,
    customer: Customer,
    staff_member: StaffMember,
    staff_message: tuple[int, int],
) -> CannedTarget:
    """The customer of a conversation (a forum topic, a conversation's card or relayed
    message), owed the answer as a staff answer in it, as if typed there."""

    def owe(words: str, note: str) -> bool:
        if not customer.reachable or customer.chat_id is None:
            return False
        answers.owe_answer(
            session, services, conversation, customer, staff_member, words,
            source=None, staff_message=staff_message, note=note,
        )  # fmt: skip
        return True

    return CannedTarget(customer, ("u", conversation.id), owe)


async def conversation_by_id(
    session: AsyncSession,
    services: Services,
    conversation_id: int,
    staff_member: StaffMember,
    staff_message: tuple[int, int],
) -> CannedTarget | None:
    found = await desk.conversation_facts(session, conversation_id)
    if found is None:
        return None
    conversation, customer = found
    return conversation_target(
        session, services, conversation, customer, staff_member, staff_message
    )


# A picker button's target kind → how to find the target again.
TARGETS: dict[CannedTargetKind, TargetResolver] = {
    "k": complaint_by_id,
    "u": conversation_by_id,
}


# --- /c ------------------------------------------------------------------------------------


def c_usage() -> str:
    return _(
        "Usage: /c <name> in a customer's topic, or as a reply to a card or to the "
        "customer's message, or /c <name> C-2026-000123. /canned list shows the names."
    )


async def send_to_complaint(request: StaffRequest) -> Reply:
    """/c <name> [C-…]: send a canned answer to the customer of a complaint (the one
    named, or whose card or message the command replies to)."""
    name, *rest = request.arguments.split(maxsplit=1) or [""]
    message = request.message
    if not name or message is None:
        raise Answer(c_usage())
    staff_message = (message.chat_id, message.message_id)
    if not rest:  # in a customer's topic, or replying to a conversation's message
        conversation = await conversation_staff.conversation_of_message(
            request.session, message, request.services
        )
        if conversation is not None:
            target = await conversation_by_id(
                request.session, request.services, conversation.id, request.member,
                staff_message,
            )  # fmt: skip
            assert target is not None
            result = await send_canned(
                request.session, request.services, target, request.member, name
            )
            return Reply(result.text, keyboard=result.keyboard(target))
    complaint, _rest = await staff.target_complaint(
        replace(request, arguments=rest[0] if rest else ""), c_usage()
    )
    loaded = await complaints.facts(request.session, complaint.id)
    assert loaded is not None
    target = complaint_target(
        request.session, request.services, loaded, request.member,
        (message.chat_id, message.message_id),
    )  # fmt: skip
    result = await send_canned(request.session, request.services, target, request.member, name)
    return Reply(result.text, keyboard=result.keyboard(target))


async def pick(request: StaffRequest) -> Reply:
    """A name chosen from the picker: send that canned answer."""
    pressed = CannedPick.parse(request.arguments)
    message = request.message
    resolver = TARGETS.get(pressed.kind) if pressed is not None else None
    if pressed is None or resolver is None or message is None:
        raise Answer(_("This button is not valid."))
    target = await resolver(
        request.session, request.services, pressed.target_id, request.member,
        (message.chat_id, message.message_id),
    )  # fmt: skip
    if target is None:
        raise Answer(_("This button is not valid."))
    result = await send_canned(
        request.session, request.services, target, request.member, pressed.name
    )
    return Reply(
        result.text,
        alert=not result.sent,
        after=chosen(message, result.text) if result.sent else None,
    )


def chosen(picker: Message, text: str) -> After:
    """After the answer: the picker says what was sent and loses its buttons, so that a
    second press does not send it again by mistake."""

    async def after(context: CareContext, _sent: Message | None) -> None:
        try:
            await picker.edit_text(text)
        except TelegramError as error:  # sent all the same; the buttons merely stay
            log.warning("the canned answer picker %s was not edited: %s", picker.id, error)

    return after


# --- /canned ---------------------------------------------------------------------------------


def canned_usage() -> str:
    return _(
        "Usage: /canned list · /canned add <name> <zh_CN|en> <text> (the text may start on "
        "the next line; {name} becomes the customer's name) · /canned remove <name> [language]"
    )


def language_of(typed: str) -> str | None:
    locale = locale_for_language_code(typed, "")
    return locale if locale in LOCALES else None


async def manage_canned(request: StaffRequest) -> Reply:
    """/canned list | add <name> <language> <text> | remove <name> [language]."""
    session, member, services = request.session, request.member, request.services
    verb, *rest = request.arguments.split(maxsplit=1) or [""]
    arguments = rest[0] if rest else ""
    verb = verb.lower()
    if verb == "list" and not arguments:
        return Reply(await listing(session))
    if verb not in ("add", "remove"):
        raise Answer(canned_usage())
    request.require(StaffRole.ADMIN, N_("Only admins can add or remove canned answers."))
    if verb == "add":
        parts = arguments.split(maxsplit=2)
        if len(parts) < 3:
            raise Answer(canned_usage())
        name, typed_language, text = parts
        language = language_of(typed_language)
        if language is None:
            raise Answer(
                _("{language} is not a language I speak: zh_CN or en.").format(
                    language=typed_language
                )
            )
        try:
            saved = await canned.save(session, name, language, text, member, services.clock.now())
        except CannedError as error:
            raise Answer(_(PROBLEM_WORDS[error.problem])) from None
        words = (
            _("Canned answer {name} ({language}) replaced.")
            if saved.replaced
            else _("Canned answer {name} ({language}) saved.")
        )
        return Reply(words.format(name=saved.answer.name, language=language_label(language)))
    parts = arguments.split()
    if not 1 <= len(parts) <= 2:
        raise Answer(canned_usage())
    language = None
    if len(parts) == 2:
        language = language_of(parts[1])
        if language is None:
            raise Answer(
                _("{language} is not a language I speak: zh_CN or en.").format(language=parts[1])
            )
    removed = await canned.remove(session, parts[0], language)
    if not removed:
        raise Answer(_("There is no canned answer {name}.").format(name=parts[0].lower()))
    return Reply(_("Canned answer {name} removed.").format(name=parts[0].lower()))


async def listing(session: AsyncSession) -> str:
    """Every canned answer, a line per language with the start of its text."""
    answers = await canned.all_answers(session)
    if not answers:
        return _("No canned answers yet. An admin adds one with /canned add.")
    lines = [_("Canned answers (send one with /c <name>):")]
    for answer in answers:
        text = " ".join(answer.text.split())
        if len(text) > LIST_PREVIEW:
            text = text[: LIST_PREVIEW - 1] + "…"
        lines.append(f"{answer.name} · {language_label(answer.language)}: {text}")
    return "\n".join(lines)


def canned_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """/canned, /c and the picker's buttons, in the staff group and private chats."""
    where = staff_places(staff_chat_id)
    return [
        staff_command("canned", manage_canned, where=where),
        staff_command("c", send_to_complaint, where=where),
        staff_button(CannedPick, pick),
    ]
