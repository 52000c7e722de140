"""Staff find a customer and see their card, and tag customers.

``/customer <name | phone | id | @username | C-…>``: one match shows the card (profile,
segments, tags, open complaints, last contacts, ratings); several show a short list to
pick from (``handlers.buttons.CustomerPick``). ``/tag <customer> add|remove <tag>``
and ``/tag <customer>`` (their tags), the customer named the same ways. Staff only; the staff
group speaks the default locale, a private chat the staff member's Telegram language.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Message
from telegram.ext import BaseHandler

from care import directory
from care.directory import Card, DirectoryError, DirectoryProblem, Match
from handlers import complaint_words as words
from handlers import conversation_staff
from handlers import segment_words as seg
from handlers.buttons import CustomerPick, key
from handlers.context import CareContext
from handlers.i18n import gettext as _
from handlers.i18n import ngettext
from handlers.staff import contact_line
from handlers.staff_access import (
    Answer,
    ErrorWords,
    Reply,
    StaffRequest,
    remember_answers,
    staff_button,
    staff_command,
    staff_places,
)
from handlers.texts import chunks

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
    if card.segment_changes:
        lines.append(_("Segment changes:"))
        lines += [
            f"· {local(change.at, timezone)} "
            + seg.change_words(change.field, change.old_value, change.new_value)
            for change in card.segment_changes
        ]
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
    return InlineKeyboardMarkup([[key(match_line(m), CustomerPick(m.id))] for m in found])


# --- finding ---------------------------------------------------------------------------


async def _find(request: StaffRequest, query: str) -> list[Match]:
    return await directory.find_customers(
        request.session, query, phone_region=request.services.phone_region
    )


async def one_customer(request: StaffRequest, query: str) -> int:
    """The one customer ``query`` names.

    Raises:
        Answer: nobody, or several (listed, with how to name one).
    """
    found = await _find(request, query)
    if not found:
        raise Answer(_("No customer matches “{query}”.").format(query=query))
    if len(found) > 1:
        raise Answer(
            _("Several customers match “{query}”; name one by id:").format(query=query)
            + "\n"
            + "\n".join(match_line(match) for match in found),
            about=[match.id for match in found],
        )
    return found[0].id


# --- commands and the pick button ---------------------------------------------------------


async def show_customer(request: StaffRequest) -> Reply:
    """/customer <name|phone|id|@username|C-…>: find a customer and show their card."""
    query = request.arguments
    if not query:
        raise Answer(_("Usage: /customer <name, phone, id, @username or complaint number>"))
    found = await _find(request, query)
    if not found:
        raise Answer(_("No customer matches “{query}”.").format(query=query))
    request.concerns(*(match.id for match in found))
    if len(found) > 1:
        return Reply(
            _("Several customers match “{query}”; pick one:").format(query=query),
            keyboard=pick_keyboard(found),
        )
    card = await directory.customer_card(request.session, found[0].id)
    return Reply(card_text(card, request.services.timezone))


async def pick_customer(request: StaffRequest) -> Reply:
    """A customer picked from /customer's list: their card, in the chat of the list."""
    pick = CustomerPick.parse(request.arguments)
    if pick is None or request.chat_id is None:
        raise Answer(problem_words(DirectoryProblem.NO_SUCH_CUSTOMER))
    card = await directory.customer_card(request.session, pick.customer_id)
    text, chat_id = card_text(card, request.services.timezone), request.chat_id
    customer_id = pick.customer_id

    async def show(context: CareContext, _sent: Message | None) -> None:
        ids = [(await context.bot.send_message(chat_id, part)).message_id for part in chunks(text)]
        await remember_answers(context, [customer_id], chat_id, ids)

    return Reply("", after=show)


async def tag_customer(request: StaffRequest) -> Reply:
    """/tag <customer> add|remove <tag>, or /tag <customer>: a customer's tags."""
    usage = _(
        "Usage: /tag <customer> add <tag> · /tag <customer> remove <tag> · /tag <customer>\n"
        "The customer: a complaint number, our id, @username or phone number. "
        "E.g. /tag C-2026-000123 add vip"
    )
    given = request.arguments.split()
    if not given:
        raise Answer(usage)
    in_topic = await topic_customer(request)
    # In a customer's topic the customer goes without saying: /tag vip, /tag remove vip.
    if in_topic is not None and len(given) <= 2:
        verb = given[0].lower() if len(given) == 2 else "add"
        if verb not in TAG_VERBS:
            raise Answer(usage)
        return await tagged(request, in_topic, TAG_VERBS[verb], given[-1])
    # The customer may be a phone number written with spaces: the verb and tag come last.
    if len(given) >= 3 and given[-2].lower() in TAG_VERBS:
        who, verb, tag = " ".join(given[:-2]), given[-2].lower(), given[-1]
    elif given[-1].lower() in TAG_VERBS or (len(given) >= 2 and given[-2].lower() in TAG_VERBS):
        raise Answer(usage)
    else:
        who, verb, tag = " ".join(given), "", ""
    session = request.session
    customer_id = await one_customer(request, who)
    request.concerns(customer_id)
    card = await directory.customer_card(session, customer_id)
    name = card.name or _("customer {id}").format(id=customer_id)
    if not verb:
        return Reply(_("{name}'s tags: {tags}").format(name=name, tags=", ".join(card.tags) or "–"))
    return await tagged(request, customer_id, TAG_VERBS[verb], tag)


async def topic_customer(request: StaffRequest) -> int | None:
    """The customer whose forum topic (or conversation message) the command is in."""
    message = request.message
    if message is None or not message.is_topic_message:
        return None
    conversation = await conversation_staff.conversation_of_message(
        request.session, message, request.services
    )
    return conversation.customer_id if conversation is not None else None


async def tagged(request: StaffRequest, customer_id: int, add: bool, tag: str) -> Reply:
    """Put the tag on the customer or take it off; say so, with their tags now."""
    session = request.session
    request.concerns(customer_id)
    card = await directory.customer_card(session, customer_id)
    name = card.name or _("customer {id}").format(id=customer_id)
    changed = await directory.set_tag(session, customer_id, tag, on=add)
    tag = directory.normalize_tag(tag)
    tags = ", ".join(await directory.tags_of(session, customer_id)) or "–"
    if add:
        head = _("Tagged {name} {tag}.") if changed else _("{name} was already tagged {tag}.")
    else:
        head = _("Took the tag {tag} off {name}.") if changed else _("{name} had no tag {tag}.")
    return Reply(head.format(name=name, tag=tag) + "\n" + _("Tags now: {tags}").format(tags=tags))


# Nothing was changed: the words for what was wrong.
ERRORS: ErrorWords = {DirectoryError: lambda error: problem_words(error.problem)}


def customer_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """/customer, /tag and the list's buttons, for staff in the staff group and in private.

    Registered with the staff handlers, before the customer's: a customer who types
    them is refused, and the command goes no further."""
    where = staff_places(staff_chat_id)
    return [
        staff_command("customer", show_customer, where=where, errors=ERRORS),
        staff_command("tag", tag_customer, where=where, errors=ERRORS),
        staff_button(CustomerPick, pick_customer, errors=ERRORS),
    ]
