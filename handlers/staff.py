"""Staff side of complaints: buttons on the card, replies to the customer, commands.

Staff work in the staff group, which speaks the default locale, and in their private
chats with the bot, which speak their Telegram language. Only active staff members may
act; anyone else is refused and the attempt is logged.

Every change goes through ``care.complaints`` in one transaction, which also owes the
customer's notice and the card's edit (``notify.owe_announcement``, ``care.owed``): they
are delivered after the commit, with retries, so nobody is ever told about a change that
was rolled back and no change that was committed goes untold.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import ForceReply, Message, ReplyParameters, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from care import complaints, contacts
from care import staff as staff_members
from care.complaints import Change, Complaint, Refusal, Refused, SlaStage
from care.locales import locale_for_language_code
from care.models import (
    ComplaintEvent,
    ComplaintEventType,
    ComplaintStatus,
    Contact,
    ContactKind,
    Direction,
    StaffMember,
    StaffRole,
)
from care.owed import Purpose
from handlers import complaint_words as words
from handlers import notify, staff_card
from handlers.button_words import button_words
from handlers.context import CareContext, Services
from handlers.i18n import N_, ngettext, use_locale
from handlers.i18n import gettext as _
from handlers.texts import chunks

log = logging.getLogger(__name__)
S = ComplaintStatus

# Card buttons: "st:<action>:<complaint id>" (see handlers.staff_card.card_keyboard).
BUTTON = re.compile(rf"^st:(ack|take|res|reply):({words.ROW_ID})$")
# "C-2026-000123", also typed as "c-2026-123".
NUMBER = re.compile(r"^C-(\d{4})-(\d{1,12})$", re.IGNORECASE)
TELEGRAM_ID = re.compile(r"^\d{1,18}$")

QUEUE_SHOWN = 40
CONTACTS_SHOWN = 20
CONTACT_TEXT_SHOWN = 200
MESSAGE_LIMIT = 4096

# What a message the bot sent in the staff group is for (care.models.ComplaintMessage).
RESOLVE_PROMPT = "resolve_prompt"
REPLY_PROMPT = "reply_prompt"
# Replying to these in the staff group writes to the customer.
TO_CUSTOMER = frozenset({"alert", "relay", REPLY_PROMPT})

ROLE_LABELS = {
    StaffRole.AGENT: N_("agent"),
    StaffRole.SUPERVISOR: N_("supervisor"),
    StaffRole.ADMIN: N_("admin"),
}

SLA_STAGE_LABELS = {
    SlaStage.ACKNOWLEDGE_WARNING: N_("the acknowledgement deadline is near"),
    SlaStage.ACKNOWLEDGE_BREACH: N_("the acknowledgement deadline was missed"),
    SlaStage.RESOLVE_WARNING: N_("the resolution deadline is near"),
    SlaStage.RESOLVE_BREACH: N_("the resolution deadline was missed"),
}

CONTACT_KIND_LABELS = {
    ContactKind.TEXT: N_("(text)"),
    ContactKind.COMMAND: N_("(command)"),
    ContactKind.BUTTON: N_("(button)"),
    ContactKind.PHOTO: N_("(photo)"),
    ContactKind.DOCUMENT: N_("(document)"),
    ContactKind.CONTACT: N_("(phone number)"),
    ContactKind.STICKER: N_("(sticker)"),
    ContactKind.VOICE: N_("(voice message)"),
    ContactKind.OTHER: N_("(other message)"),
}


class Answer(Exception):
    """Stop and answer the staff member with these words; nothing is changed."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class Outcome:
    """What a staff action did: words for the staff member and changes to announce."""

    text: str
    changes: tuple[Change, ...] = ()
    # A ForceReply prompt to post in the chat: (complaint id, purpose, its text).
    prompt: tuple[int, str, str] | None = None


def is_value(kind: type[enum.StrEnum], value: str) -> bool:
    """Whether ``value`` is one of the enum's values (``in`` raises on Python 3.11)."""
    return value in {member.value for member in kind}


# --- words ----------------------------------------------------------------------------


def only_staff() -> str:
    return _("Only care staff can do this.")


def refusal_words(number: str | None, refused: Refused) -> str:
    """Why the complaint cannot do what was asked, in words."""
    if refused.reason is Refusal.EMPTY:
        return _("The text is empty.")
    if refused.reason is Refusal.FORGOTTEN:
        return _(
            "{number} cannot be reopened: the customer asked us to erase their personal data."
        ).format(number=number)
    status = refused.status
    if status in (S.RESOLVED, S.CLOSED):
        return _("{number} is {status}: reopen it first.").format(
            number=number, status=staff_card.staff_status_label(status.value)
        )
    if status is not None and status in complaints.OPEN_STATUSES:
        return _("{number} is still open ({status}): there is nothing to reopen.").format(
            number=number, status=staff_card.staff_status_label(status.value)
        )
    return _("{number} cannot do that now.").format(number=number)


def staff_name(member: StaffMember | None) -> str:
    if member is None:
        return _("nobody yet")
    return member.name or (
        f"@{member.username}" if member.username else str(member.telegram_user_id)
    )


def role_label(role: str) -> str:
    return _(ROLE_LABELS[StaffRole(role)]) if is_value(StaffRole, role) else role


def queue_line(
    complaint: Complaint, team: dict[int, StaffMember], timezone: str, now: datetime
) -> str:
    """One open complaint in /queue: number, priority, status, deadline, assignee."""
    due = complaints.next_deadline(complaint)
    when = words.local_time(due, timezone)
    if complaints.status_of(complaint) in complaints.AWAITING_ACKNOWLEDGEMENT:
        deadline = _("acknowledge by {due}").format(due=when)
    else:
        deadline = _("resolve by {due}").format(due=when)
    if due <= now:
        deadline = "⏰ " + deadline
    assignee = team.get(complaint.assignee_id) if complaint.assignee_id else None
    return _("{icon} {number} · {priority} · {status} · {deadline} · {assignee}").format(
        icon=staff_card.state_icon(complaint),
        number=complaint.number,
        priority=words.priority_label(complaint.priority),
        status=staff_card.staff_status_label(complaint.status),
        deadline=deadline,
        assignee=staff_name(assignee)
        if assignee or not complaint.assignee_id
        else f"#{complaint.assignee_id}",
    )


def event_line(event: ComplaintEvent, team: dict[int, StaffMember], timezone: str) -> str:
    """One line of a complaint's full history as staff read it (internal events too)."""
    when = words.local_time(event.at, timezone)
    if event.staff_id is not None:
        who = (
            staff_name(team.get(event.staff_id)) if event.staff_id in team else f"#{event.staff_id}"
        )
    elif event.by_customer:
        who = _("the customer")
    else:
        who = _("carebot")
    note = event.note or ""
    kind = ComplaintEventType(event.type)
    if kind is ComplaintEventType.FILED:
        return _("{when} · filed by the customer").format(when=when)
    if kind is ComplaintEventType.STATUS:
        line = _("{when} · {who}: {before} → {after}").format(
            when=when,
            who=who,
            before=staff_card.staff_status_label(event.from_status or S.NEW.value),
            after=staff_card.staff_status_label(event.to_status or S.NEW.value),
        )
        return line + (f" ({note})" if note else "")
    if kind is ComplaintEventType.ASSIGNED:
        assignee = team.get(int(note)) if note.isdigit() else None
        return _("{when} · {who} assigned it to {assignee}").format(
            when=when, who=who, assignee=staff_name(assignee) if assignee else f"#{note}"
        )
    if kind is ComplaintEventType.PRIORITY:
        return _("{when} · priority: {priority}").format(when=when, priority=note)
    if kind is ComplaintEventType.NOTE:
        return _("{when} · 📝 internal note by {who}: {note}").format(when=when, who=who, note=note)
    if kind is ComplaintEventType.CUSTOMER_MESSAGE:
        return _("{when} · the customer wrote: {note}").format(when=when, note=note)
    if kind is ComplaintEventType.STAFF_REPLY:
        return _("{when} · {who} wrote to the customer: {note}").format(
            when=when, who=who, note=note
        )
    if kind in (ComplaintEventType.SLA_WARNING, ComplaintEventType.SLA_BREACH):
        stage = SLA_STAGE_LABELS.get(SlaStage(note)) if is_value(SlaStage, note) else None
        icon = "⏰" if kind is ComplaintEventType.SLA_BREACH else "⏳"
        return _("{when} · {icon} SLA: {stage}").format(
            when=when, icon=icon, stage=_(stage) if stage else note
        )
    if kind is ComplaintEventType.RATING:
        return _("{when} · the customer rated it {rating}/5").format(when=when, rating=note)
    if kind is ComplaintEventType.UNREACHABLE:
        return _("{when} · ⚠ the customer could not be reached (blocked the bot)").format(when=when)
    if kind is ComplaintEventType.ERASED:
        line = _("{when} · the customer asked us to erase their personal data").format(when=when)
        if event.from_status and event.to_status:
            before = staff_card.staff_status_label(event.from_status)
            after = staff_card.staff_status_label(event.to_status)
            line += f" · {before} → {after}"
        return line
    return f"{when} · {event.type} {note}".rstrip()


def contact_line(contact: Contact, timezone: str) -> str:
    """One message of the customer's contact history: when, which way, what."""
    arrow = "→" if contact.direction == Direction.OUTBOUND.value else "←"
    text = contact.text
    if text and contact.kind == ContactKind.BUTTON.value:
        text = button_words(text)
    if not text:
        known = is_value(ContactKind, contact.kind)
        label = CONTACT_KIND_LABELS.get(ContactKind(contact.kind)) if known else None
        text = _(label) if label else contact.kind
    elif len(text) > CONTACT_TEXT_SHOWN:
        text = text[: CONTACT_TEXT_SHOWN - 1] + "…"
    return f"{words.local_time(contact.created_at, timezone)} {arrow} {text}"


# --- parsing and lookups ----------------------------------------------------------------


def command_arguments(message: Message) -> str:
    """The text after the command (``/note@bot C-1 text`` → ``C-1 text``), newlines kept."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def normalized_number(text: str) -> str | None:
    """A complaint number as stored (``c-2026-123`` → ``C-2026-000123``), or None."""
    match = NUMBER.match(text)
    if match is None:
        return None
    return f"C-{match.group(1)}-{int(match.group(2)):06d}"


async def target_complaint(
    session: AsyncSession, message: Message, arguments: str, usage: str
) -> tuple[Complaint, str]:
    """The complaint a command is about, and the rest of its arguments.

    The complaint is named by its number, or is the one whose message (card, relayed
    message, prompt) the command replies to.
    """
    first, *rest = arguments.split(maxsplit=1) or [""]
    number = normalized_number(first)
    if number is not None:
        complaint = await complaints.find_by_number(session, number)
        if complaint is None or complaints.status_of(complaint) is S.DRAFT:
            raise Answer(_("There is no complaint {number}.").format(number=number))
        return complaint, rest[0].strip() if rest else ""
    replied = message.reply_to_message
    if replied is not None:
        owner = await complaints.message_owner(session, message.chat_id, replied.message_id)
        if owner is not None:
            return owner[0], arguments
    raise Answer(usage)


async def staff_by_handle(session: AsyncSession, handle: str) -> StaffMember | None:
    """The active staff member called ``@username`` or with that Telegram user id."""
    if TELEGRAM_ID.match(handle):
        return await staff_members.find_staff(session, int(handle))
    if handle.startswith("@") and len(handle) > 1:
        wanted = handle[1:].lower()
        for member in await staff_members.list_staff(session):
            if member.username and member.username.lower() == wanted:
                return member
    return None


async def team_of(session: AsyncSession) -> dict[int, StaffMember]:
    return {member.id: member for member in await staff_members.list_staff(session)}


def staff_locale(update: Update, services: Services) -> str:
    """The group speaks the default locale; a private chat its user's Telegram language."""
    chat, user = update.effective_chat, update.effective_user
    if chat is not None and chat.type == chat.PRIVATE and user is not None:
        return locale_for_language_code(user.language_code, services.default_locale)
    return services.default_locale


def refusal_locale(update: Update, context: CareContext) -> str:
    """Whom we refuse: a customer in their chat hears their own language."""
    chat = update.effective_chat
    if chat is not None and chat.type == chat.PRIVATE and context.customer is not None:
        return context.customer.locale
    return staff_locale(update, context.services)


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


async def post_prompt(
    context: CareContext, chat_id: int, reply_to: int | None, prompt: tuple[int, str, str]
) -> None:
    """Ask for a reply in the chat, and remember what the reply will be for."""
    complaint_id, purpose, text = prompt
    services = context.services
    sent = await context.bot.send_message(
        chat_id,
        text,
        reply_markup=ForceReply(selective=False),
        reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
        if reply_to
        else None,
    )
    async with services.sessionmaker.begin() as session:
        await complaints.remember_message(
            session, complaint_id, chat_id, sent.message_id, purpose, services.clock.now()
        )


# --- card buttons -----------------------------------------------------------------------


async def card_action(
    session: AsyncSession, staff: StaffMember, data: str, services: Services, chat_id: int | None
) -> Outcome:
    """Do what a card button asks (pressed in the chat ``chat_id``)."""
    match = BUTTON.match(data)
    if match is None:
        raise Answer(_("This button is not valid."))
    action, complaint_id = match.group(1), int(match.group(2))
    complaint = await session.get(Complaint, complaint_id)
    if complaint is None or complaint.number is None:
        raise Answer(_("There is no such complaint."))
    number, now = complaint.number, services.clock.now()
    try:
        if action == "ack":
            change = await complaints.acknowledge(session, complaint, staff, now)
            return Outcome(_("Acknowledged.") if change else _("Already done."), _some(change))
        if action == "take":
            change = await complaints.take(session, complaint, staff, now)
            return Outcome(_("It is yours now.") if change else _("Already done."), _some(change))
    except Refused as refused:
        raise Answer(refusal_words(number, refused)) from None
    if services.staff_chat_id is None or chat_id != services.staff_chat_id:
        # Prompts are answered in the staff group only (a reply elsewhere finds no handler).
        raise Answer(_("Use the card in the staff group for this."))
    if action == "res":
        status = complaints.status_of(complaint)
        if status is S.RESOLVED:
            return Outcome(_("Already done."))
        if not complaints.is_open(complaint):
            raise Answer(refusal_words(number, Refused(Refusal.NOT_ALLOWED, status)))
        prompt = _("Resolution note for {number}: reply to this message.").format(number=number)
        return Outcome(
            _("Reply to my message with what was done."),
            prompt=(complaint.id, RESOLVE_PROMPT, prompt),
        )
    prompt = _("Your reply to the customer for {number}: reply to this message.").format(
        number=number
    )
    return Outcome(
        _("Reply to my message with your answer."), prompt=(complaint.id, REPLY_PROMPT, prompt)
    )


def _some(change: Change | None) -> tuple[Change, ...]:
    return () if change is None else (change,)


async def on_card_button(update: Update, context: CareContext) -> None:
    """Act on a card button: acknowledge, take, or ask for a resolution note or a reply."""
    query = update.callback_query
    assert query is not None
    services = context.services
    data = query.data or ""
    try:
        async with services.sessionmaker.begin() as session:
            staff = await staff_members.find_staff(session, query.from_user.id)
            if staff is None:
                outcome = None
            else:
                with use_locale(staff_locale(update, services)):
                    chat_id = query.message.chat.id if query.message else None
                    outcome = await card_action(session, staff, data, services, chat_id)
                for change in outcome.changes:
                    await notify.owe_announcement(session, services, change)
    except Answer as answer:
        await query.answer(answer.text, show_alert=True)
        return
    if outcome is None:
        await refuse(update, context, f"button {data!r}")
        return
    await query.answer(outcome.text)
    if outcome.prompt is not None and query.message is not None:
        with use_locale(staff_locale(update, services)):
            await post_prompt(
                context, query.message.chat.id, query.message.message_id, outcome.prompt
            )


# --- replies in the staff group ---------------------------------------------------------


async def on_staff_reply(update: Update, context: CareContext) -> None:
    """Send a staff member's reply to the customer, or resolve with the note replied."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.reply_to_message is None:
        return
    services = context.services
    text = (message.text or message.caption or "").strip()
    photo = message.photo[-1].file_id if message.photo else None
    resolution: Outcome | None = None
    with use_locale(services.default_locale):
        try:
            async with services.sessionmaker.begin() as session:
                owner = await complaints.message_owner(
                    session, message.chat_id, message.reply_to_message.message_id
                )
                if owner is None:
                    return  # a reply to something else: staff talking among themselves
                complaint, purpose = owner
                if purpose not in TO_CUSTOMER and purpose != RESOLVE_PROMPT:
                    return
                staff = await staff_members.find_staff(session, user.id)
                if staff is not None and purpose == RESOLVE_PROMPT:
                    resolution = await resolve_with_note(session, complaint, staff, text, services)
                    for change in resolution.changes:
                        await notify.owe_announcement(session, services, change)
        except Answer as answer:
            await message.reply_text(answer.text)
            return
        if staff is None:
            await refuse(update, context, f"a reply to {complaint.number}")
            return
        if resolution is not None:
            if resolution.text:
                await message.reply_text(resolution.text)
            return
        if not text and photo is None:
            await message.reply_text(_("Only text and photos can be sent to the customer."))
            return
        await send_to_customer(context, message, complaint, staff, user.first_name, text, photo)


async def resolve_with_note(
    session: AsyncSession, complaint: Complaint, staff: StaffMember, note: str, services: Services
) -> Outcome:
    """Resolve a complaint with the note a staff member replied to the prompt."""
    if not note:
        raise Answer(
            _("Please reply with what was done for {number}.").format(number=complaint.number)
        )
    try:
        change = await complaints.resolve(session, complaint, staff, note, services.clock.now())
    except Refused as refused:
        raise Answer(refusal_words(complaint.number, refused)) from None
    if change is None:
        return Outcome(_("{number} is already resolved.").format(number=complaint.number))
    return Outcome(
        _(
            "{number} is resolved. The customer will be told, and asked for a rating, as "
            "soon as Telegram accepts the message; the card shows when they were told."
        ).format(number=complaint.number),
        (change,),
    )


async def send_to_customer(
    context: CareContext,
    message: Message,
    complaint: Complaint,
    staff: StaffMember,
    fallback_name: str,
    text: str,
    photo: str | None,
) -> None:
    """Owe a staff reply to the customer: recorded, and the card refreshed, once delivered."""
    services = context.services
    name = staff.name or fallback_name
    with use_locale(services.default_locale):
        async with services.sessionmaker.begin() as session:
            loaded = await complaints.facts(session, complaint.id)
            assert loaded is not None
            if not loaded.customer.reachable or loaded.customer.chat_id is None:
                owed_reply = False
            else:
                with use_locale(loaded.customer.language or services.default_locale):
                    words_out = (
                        _("💬 {name} (customer care): {text}").format(name=name, text=text)
                        if text
                        else _("💬 {name} (customer care)").format(name=name)
                    )
                # Owed now, delivered with retries; recorded on the complaint (and the
                # customer's clock stopped) once Telegram has it. Staff are told here if
                # it cannot be delivered.
                owed_reply = notify.owe_customer(
                    session, services, loaded, words_out, purpose=Purpose.STAFF_REPLY,
                    photo=photo, staff_message=(message.chat_id, message.message_id),
                    staff_reply=(staff.id, ("📷 " + text if photo else text).strip()),
                )  # fmt: skip
    if not owed_reply:
        await message.reply_text(
            _("⚠ Not delivered: the customer of {number} cannot be reached.").format(
                number=complaint.number
            )
        )


# --- commands ---------------------------------------------------------------------------

Action = Callable[[AsyncSession, StaffMember, Message, Services], Awaitable[Outcome]]


async def run_command(update: Update, context: CareContext, name: str, action: Action) -> None:
    """Check the sender is care staff, do the command in one transaction, then answer."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    services = context.services
    with use_locale(staff_locale(update, services)):
        try:
            async with services.sessionmaker.begin() as session:
                staff = await staff_members.find_staff(session, user.id)
                outcome = None if staff is None else await action(session, staff, message, services)
                for change in outcome.changes if outcome else ():
                    # Owed with the change: nobody is told of a change rolled back, and
                    # no change committed goes untold.
                    await notify.owe_announcement(session, services, change)
        except Answer as answer:
            outcome = Outcome(answer.text)
        if outcome is None:
            await refuse(update, context, f"/{name}")
            return
        for part in chunks(outcome.text):
            await message.reply_text(part)


def command(
    name: str, action: Action
) -> Callable[[Update, CareContext], Coroutine[Any, Any, None]]:
    """The handler callback of a staff command."""

    async def callback(update: Update, context: CareContext) -> None:
        await run_command(update, context, name, action)

    callback.__doc__ = action.__doc__
    return callback


async def show_queue(
    session: AsyncSession, staff: StaffMember, message: Message, services: Services
) -> Outcome:
    """/queue: open complaints, the nearest deadline first."""
    rows = await complaints.queue(session)
    if not rows:
        return Outcome(_("Nothing in the queue."))
    team = await team_of(session)
    now = services.clock.now()
    lines = [
        ngettext(
            "{count} open complaint, the nearest deadline first:",
            "{count} open complaints, the nearest deadline first:",
            len(rows),
        ).format(count=len(rows))
    ]
    lines += [queue_line(c, team, services.timezone, now) for c in rows[:QUEUE_SHOWN]]
    if len(rows) > QUEUE_SHOWN:
        lines.append(_("…and {count} more.").format(count=len(rows) - QUEUE_SHOWN))
    return Outcome("\n".join(lines))


async def show_complaint(
    session: AsyncSession, staff: StaffMember, message: Message, services: Services
) -> Outcome:
    """/complaint C-…: the card, the full history and the customer's recent contacts."""
    usage = _("Usage: /complaint C-2026-000123")
    complaint, _rest = await target_complaint(session, message, command_arguments(message), usage)
    loaded = await complaints.facts(session, complaint.id)
    assert loaded is not None
    team = await team_of(session)
    events = await complaints.history(session, complaint.id, internal=True)
    recent = await contacts.contact_history(session, loaded.customer.id, limit=CONTACTS_SHOWN)
    lines = [staff_card.card_text(loaded, services.timezone), "", _("History:")]
    lines += [event_line(event, team, services.timezone) for event in events]
    lines += ["", _("Recent contacts with the customer:")]
    lines += [contact_line(contact, services.timezone) for contact in recent] or [_("none")]
    return Outcome("\n".join(lines))


async def assign_complaint(
    session: AsyncSession, staff: StaffMember, message: Message, services: Services
) -> Outcome:
    """/assign C-… @username: give a complaint to a staff member."""
    usage = _("Usage: /assign C-2026-000123 @username (or their Telegram user id)")
    complaint, rest = await target_complaint(session, message, command_arguments(message), usage)
    handle = rest.strip()
    if not handle or len(handle.split()) != 1:
        raise Answer(usage)
    assignee = await staff_by_handle(session, handle)
    if assignee is None:
        raise Answer(_("{who} is not a member of the care staff.").format(who=handle))
    try:
        change = await complaints.assign(session, complaint, assignee, staff, services.clock.now())
    except Refused as refused:
        raise Answer(refusal_words(complaint.number, refused)) from None
    if change is None:
        return Outcome(
            _("{number} is already assigned to {name}.").format(
                number=complaint.number, name=staff_name(assignee)
            )
        )
    return Outcome(
        _("{number} is now assigned to {name}.").format(
            number=complaint.number, name=staff_name(assignee)
        ),
        (change,),
    )


async def resolve_complaint(
    session: AsyncSession, staff: StaffMember, message: Message, services: Services
) -> Outcome:
    """/resolve C-… note: mark solved, with what was done (the customer sees the note)."""
    usage = _("Usage: /resolve C-2026-000123 what was done")
    complaint, note = await target_complaint(session, message, command_arguments(message), usage)
    if not note:
        raise Answer(usage)
    return await resolve_with_note(session, complaint, staff, note, services)


async def reopen_complaint(
    session: AsyncSession, staff: StaffMember, message: Message, services: Services
) -> Outcome:
    """/reopen C-… [why]: open a resolved or closed complaint again."""
    usage = _("Usage: /reopen C-2026-000123")
    complaint, why = await target_complaint(session, message, command_arguments(message), usage)
    try:
        change = await complaints.reopen(
            session, complaint, services.sla, services.clock.now(), staff=staff, note=why or None
        )
    except Refused as refused:
        raise Answer(refusal_words(complaint.number, refused)) from None
    if change is None:
        return Outcome(_("{number} is already reopened.").format(number=complaint.number))
    return Outcome(_("{number} is open again.").format(number=complaint.number), (change,))


async def note_complaint(
    session: AsyncSession, staff: StaffMember, message: Message, services: Services
) -> Outcome:
    """/note C-… text: an internal note, never shown to the customer."""
    usage = _("Usage: /note C-2026-000123 text (for staff only)")
    complaint, text = await target_complaint(session, message, command_arguments(message), usage)
    if not text:
        raise Answer(usage)
    await complaints.add_note(session, complaint, staff, text, services.clock.now())
    return Outcome(_("Note added to {number} (staff only).").format(number=complaint.number))


async def manage_staff(
    session: AsyncSession, staff: StaffMember, message: Message, services: Services
) -> Outcome:
    """/staff list | add <id> <role> [name] | remove <id>: who the care staff are."""
    usage = _(
        "Usage: /staff list · /staff add <Telegram user id> <agent|supervisor|admin> [name] · "
        "/staff remove <Telegram user id>"
    )
    verb, *rest = command_arguments(message).split(maxsplit=1) or [""]
    arguments = rest[0] if rest else ""
    if verb == "list" and not arguments:
        lines = [_("Care staff:")]
        for member in await staff_members.list_staff(session):
            lines.append(
                _("{name} · {role} · id {id}").format(
                    name=staff_name(member),
                    role=role_label(member.role),
                    id=member.telegram_user_id,
                )
                + (f" · @{member.username}" if member.username else "")
            )
        return Outcome("\n".join(lines))
    if verb not in ("add", "remove"):
        raise Answer(usage)
    if staff.role != StaffRole.ADMIN.value:
        log.warning(
            "refused /staff %s: staff member %s is not an admin", verb, staff.telegram_user_id
        )
        raise Answer(_("Only admins can add or remove staff members."))
    if verb == "add":
        parts = arguments.split(maxsplit=2)
        if len(parts) < 2 or not TELEGRAM_ID.match(parts[0]) or not is_value(StaffRole, parts[1]):
            raise Answer(usage)
        member = await staff_members.add_staff(
            session, int(parts[0]), StaffRole(parts[1]), services.clock.now(),
            name=parts[2].strip() if len(parts) > 2 else None,
        )  # fmt: skip
        return Outcome(
            _("{name} (id {id}) is now care staff: {role}.").format(
                name=staff_name(member), id=member.telegram_user_id, role=role_label(member.role)
            )
        )
    if not TELEGRAM_ID.match(arguments):
        raise Answer(usage)
    user_id = int(arguments)
    if user_id == staff.telegram_user_id:
        raise Answer(_("You cannot remove yourself; ask another admin."))
    if not await staff_members.remove_staff(session, user_id):
        raise Answer(_("{id} is not a member of the care staff.").format(id=user_id))
    return Outcome(_("{id} is no longer care staff.").format(id=user_id))


COMMANDS: dict[str, Action] = {
    "queue": show_queue,
    "complaint": show_complaint,
    "assign": assign_complaint,
    "resolve": resolve_complaint,
    "reopen": reopen_complaint,
    "note": note_complaint,
    "staff": manage_staff,
}


def staff_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """Handlers for the staff group and staff members' private chats.

    Registered before the customer's handlers: these commands are answered here (a
    refusal for anyone but staff) and never reach the customer's side; every other
    command flows on.
    """
    # New messages only: an edited "/resolve" or reply must not act or write again.
    new = filters.UpdateType.MESSAGE
    where: filters.BaseFilter = filters.ChatType.PRIVATE
    if staff_chat_id is not None:
        where = where | filters.Chat(staff_chat_id)
    handlers: list[BaseHandler] = [
        CommandHandler(name, command(name, action), filters=where & new)
        for name, action in COMMANDS.items()
    ]
    handlers.append(CallbackQueryHandler(on_card_button, pattern=f"^{words.STAFF_PREFIX}"))
    if staff_chat_id is not None:
        handlers.append(
            MessageHandler(
                filters.Chat(staff_chat_id) & filters.REPLY & new & ~filters.COMMAND,
                on_staff_reply,
            )
        )
    return handlers
