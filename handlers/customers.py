"""Staff find a customer and see their card, and tag customers.

``/customer <name | phone | id | @username | C-…>``: one match shows the card (profile,
segments, tags, open complaints, last contacts, ratings); several show a short list to
pick from (buttons ``cu:<id>``). ``/tag <customer> add|remove <tag>`` and ``/tag
<customer>`` (their tags), the customer named the same ways. Staff only; the staff
group speaks the default locale, a private chat the staff member's Telegram language.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from care import directory
from care import staff as staff_members
from care.directory import Card, DirectoryError, DirectoryProblem, Match
from care.models import StaffMember
from handlers import complaint_words as words
from handlers import segment_words as seg
from handlers.context import CareContext, Services
from handlers.i18n import gettext as _
from handlers.i18n import ngettext, use_locale
from handlers.staff import Answer, command_arguments, contact_line, refuse, staff_locale
from handlers.texts import chunks

log = logging.getLogger(__name__)

PICK_PREFIX = "cu:"
PICK = re.compile(rf"^{PICK_PREFIX}({words.ROW_ID})$")
TAG_VERBS = {"add": True, "remove": False, "+": True, "-": False}


# --- words ------------------------------------------------------------------------------


def match_line(match: Match) -> str:
    parts = [match.name or _("(no name)"), _("id {id}").format(id=match.id)]
    if match.username:
        parts.append(f"@{match.username}")
    if match.phone:
        parts.append(match.phone)
    return " · ".join(parts)


def card_text(card: Card, timezone: str) -> str:
    """The customer's card in the current locale."""
    local = words.local_time
    lines = [
        _("👤 {name} · id {id}").format(name=card.name or _("(no name)"), id=card.id),
        " · ".join(
            part
            for part in (
                f"@{card.username}" if card.username else "",
                card.phone or "",
                _("Telegram {id}").format(id=card.telegram_user_id)
                if card.telegram_user_id
                else "",
                _("language {language}").format(language=card.language) if card.language else "",
            )
            if part
        )
        or _("no contact details"),
        _("Customer since {since} · last wrote {seen}").format(
            since=local(card.created_at, timezone), seen=local(card.last_seen_at, timezone)
        ),
    ]
    if not card.reachable:
        lines.append(_("⚠ Blocked the bot: messages cannot reach them."))
    lines.append(_("Care messages: yes") if card.consent_care else _("Care messages: no"))
    lines += [
        "",
        _("Type: {type}").format(type=seg.label(seg.TYPE_LABELS, card.customer_type)),
        _("Value × relationship: {segment}").format(
            segment=seg.label(seg.SEGMENT_LABELS, card.value_segment)
        ),
        _("Lifecycle stage: {stage}").format(
            stage=seg.label(seg.STAGE_LABELS, card.lifecycle_stage)
        ),
        _("Churn risk: {risk} ({reasons})").format(
            risk=seg.label(seg.RISK_LABELS, card.churn_risk),
            reasons=seg.reasons_words(card.churn_reasons),
        ),
        _("Tags: {tags}").format(tags=", ".join(card.tags) or "–"),
        ngettext("{count} purchase", "{count} purchases", card.purchases).format(
            count=card.purchases
        )
        + (
            _(" worth {amount}").format(amount=card.purchase_value)
            if card.purchase_value is not None
            else ""
        ),
        "",
        _("Open complaints:"),
    ]
    lines += [
        f"· {line.number} · {words.status_label(line.status)} · {local(line.filed_at, timezone)}"
        for line in card.open_complaints
    ] or [_("none")]
    lines.append(_("Ratings:"))
    lines += [
        f"· {'★' * line.score}{'☆' * (5 - line.score)} {line.number or ''} "
        f"{local(line.at, timezone)}"
        for line in card.ratings
    ] or [_("none")]
    lines.append(_("Last contacts:"))
    lines += [contact_line(contact, timezone) for contact in card.contacts] or [_("none")]
    return "\n".join(lines)


def problem_words(problem: DirectoryProblem) -> str:
    if problem is DirectoryProblem.BAD_TAG:
        return _(
            "A tag is one word of letters, digits, “.”, “-” or “_”, at most 32 characters, "
            "e.g. vip."
        )
    if problem is DirectoryProblem.TOO_SHORT:
        return _("Give at least two letters of the name.")
    return _("There is no such customer.")


def pick_keyboard(found: list[Match]) -> InlineKeyboardMarkup:
    """One button a customer, to pick one from several matches."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(match_line(m), callback_data=f"{PICK_PREFIX}{m.id}")] for m in found]
    )


# --- finding ----------------------------------------------------------------------------


async def one_customer(session: AsyncSession, services: Services, query: str) -> int:
    """The one customer ``query`` names.

    Raises:
        Answer: nobody, or several (listed, with how to name one).
    """
    found = await _find(session, services, query)
    if not found:
        raise Answer(_("No customer matches “{query}”.").format(query=query))
    if len(found) > 1:
        raise Answer(
            _("Several customers match “{query}”; name one by id:").format(query=query)
            + "\n"
            + "\n".join(match_line(match) for match in found)
        )
    return found[0].id


async def _find(session: AsyncSession, services: Services, query: str) -> list[Match]:
    try:
        return await directory.find_customers(session, query, phone_region=services.phone_region)
    except DirectoryError as error:
        raise Answer(problem_words(error.problem)) from None


# --- commands ---------------------------------------------------------------------------


async def _staff(session: AsyncSession, update: Update) -> StaffMember | None:
    user = update.effective_user
    return None if user is None else await staff_members.find_staff(session, user.id)


async def on_customer(update: Update, context: CareContext) -> None:
    """/customer <name|phone|id|@username|C-…>: find a customer and show their card."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    query = command_arguments(message)
    keyboard = None
    with use_locale(staff_locale(update, services)):
        async with services.sessionmaker.begin() as session:
            if await _staff(session, update) is None:
                text = None
            elif not query:
                text = _("Usage: /customer <name, phone, id, @username or complaint number>")
            else:
                try:
                    found = await _find(session, services, query)
                except Answer as answer:
                    found, text = [], answer.text
                else:
                    text = _("No customer matches “{query}”.").format(query=query)
                if len(found) == 1:
                    card = await directory.customer_card(session, found[0].id)
                    text = card_text(card, services.timezone)
                elif found:
                    text = _("Several customers match “{query}”; pick one:").format(query=query)
                    keyboard = InlineKeyboardMarkup(
                        [
                            [
                                InlineKeyboardButton(
                                    match_line(m), callback_data=f"{PICK_PREFIX}{m.id}"
                                )
                            ]
                            for m in found
                        ]
                    )
        if text is None:
            await refuse(update, context, "/customer")
            return
        parts = chunks(text)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            await message.reply_text(part, reply_markup=keyboard if last else None)


async def on_pick(update: Update, context: CareContext) -> None:
    """A customer picked from /customer's list: show their card."""
    query = update.callback_query
    if query is None or query.data is None or query.message is None:
        return
    match = PICK.match(query.data)
    services = context.services
    with use_locale(staff_locale(update, services)):
        async with services.sessionmaker.begin() as session:
            if await _staff(session, update) is None:
                text = None
            elif match is None:
                text = problem_words(DirectoryProblem.NO_SUCH_CUSTOMER)
            else:
                try:
                    card = await directory.customer_card(session, int(match.group(1)))
                except DirectoryError as error:
                    text = problem_words(error.problem)
                else:
                    text = card_text(card, services.timezone)
        if text is None:
            await refuse(update, context, "a customer button")
            return
        await query.answer()
        for part in chunks(text):
            await context.bot.send_message(query.message.chat.id, part)


async def on_tag(update: Update, context: CareContext) -> None:
    """/tag <customer> add|remove <tag>, or /tag <customer>: a customer's tags."""
    message = update.effective_message
    if message is None:
        return
    services = context.services
    with use_locale(staff_locale(update, services)):
        try:
            async with services.sessionmaker.begin() as session:
                member = await _staff(session, update)
                text = None if member is None else await _tag(session, services, message.text)
        except Answer as answer:
            text = answer.text
        if text is None:
            await refuse(update, context, "/tag")
            return
        await message.reply_text(text)


async def _tag(session: AsyncSession, services: Services, command: str | None) -> str:
    usage = _(
        "Usage: /tag <customer> add <tag> · /tag <customer> remove <tag> · /tag <customer>\n"
        "The customer: a complaint number, our id, @username or phone number. "
        "E.g. /tag C-2026-000123 add vip"
    )
    arguments = (command or "").split(maxsplit=1)[1:] or [""]
    words_given = arguments[0].split()
    if not words_given:
        raise Answer(usage)
    # The customer may be a phone number written with spaces: the verb and tag come last.
    if len(words_given) >= 3 and words_given[-2].lower() in TAG_VERBS:
        who, verb, tag = " ".join(words_given[:-2]), words_given[-2].lower(), words_given[-1]
    elif words_given[-1].lower() in TAG_VERBS or (
        len(words_given) >= 2 and words_given[-2].lower() in TAG_VERBS
    ):
        raise Answer(usage)
    else:
        who, verb, tag = " ".join(words_given), "", ""
    customer_id = await one_customer(session, services, who)
    card = await directory.customer_card(session, customer_id)
    name = card.name or _("customer {id}").format(id=customer_id)
    if not verb:
        return _("{name}'s tags: {tags}").format(name=name, tags=", ".join(card.tags) or "–")
    try:
        changed = await directory.set_tag(session, customer_id, tag, on=TAG_VERBS[verb])
    except DirectoryError as error:
        raise Answer(problem_words(error.problem)) from None
    tag = directory.normalize_tag(tag)
    tags = ", ".join(await directory.tags_of(session, customer_id)) or "–"
    if TAG_VERBS[verb]:
        head = (
            _("Tagged {name} {tag}.") if changed else _("{name} was already tagged {tag}.")
        ).format(name=name, tag=tag)
    else:
        head = (
            _("Took the tag {tag} off {name}.") if changed else _("{name} had no tag {tag}.")
        ).format(name=name, tag=tag)
    return head + "\n" + _("Tags now: {tags}").format(tags=tags)


def customer_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """/customer, /tag and the list's buttons, for staff in the staff group and in private.

    Registered with the staff handlers, before the customer's: a customer who types
    them is refused, and the command goes no further."""
    new = filters.UpdateType.MESSAGE
    where: filters.BaseFilter = filters.ChatType.PRIVATE
    if staff_chat_id is not None:
        where = where | filters.Chat(staff_chat_id)
    return [
        CommandHandler("customer", on_customer, filters=where & new),
        CommandHandler("tag", on_tag, filters=where & new),
        CallbackQueryHandler(on_pick, pattern=f"^{PICK_PREFIX}"),
    ]
