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

import logging
import re
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import ForceReply, Message, ReplyParameters, Update
from telegram.ext import BaseHandler, MessageHandler, filters

from care import business, complaints, contacts, conversation_deadlines, mentions
from care import staff as staff_members
from care.complaints import Change, Complaint, Refusal, Refused
from care.deadlines import SlaStage
from care.models import (
    ComplaintEvent,
    ComplaintEventType,
    ComplaintStatus,
    Contact,
    ContactKind,
    Direction,
    StaffMember,
)
from care.owed import Kind, Purpose
from handlers import complaint_words as words
from handlers import conversation_desk, notify, staff_card
from handlers.business import file_of
from handlers.button_words import button_words
from handlers.buttons import CardAction
from handlers.context import CareContext, Services
from handlers.i18n import N_, ngettext, use_locale
from handlers.i18n import gettext as _
from handlers.roster import is_value, roster_handlers, staff_by_handle, staff_name, team_of
from handlers.staff_access import (
    After,
    Answer,
    Reply,
    StaffAction,
    StaffRequest,
    refuse,
    staff_button,
    staff_command,
    staff_places,
)

log = logging.getLogger(__name__)
S = ComplaintStatus

# "C-2026-000123", also typed as "c-2026-123".
NUMBER = re.compile(r"^C-(\d{4})-(\d{1,12})$", re.IGNORECASE)

QUEUE_SHOWN = 40
CONTACTS_SHOWN = 20
CONTACT_TEXT_SHOWN = 200
MESSAGE_LIMIT = 4096

# What a message the bot sent in the staff group is for (care.models.ComplaintMessage).
RESOLVE_PROMPT = "resolve_prompt"
REPLY_PROMPT = "reply_prompt"
# Replying to these in the staff group writes to the customer.
TO_CUSTOMER = frozenset({"alert", "relay", REPLY_PROMPT})

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


# --- words ----------------------------------------------------------------------------


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
        assignee=staff_name(assignee),
    )


def event_line(event: ComplaintEvent, team: dict[int, StaffMember], timezone: str) -> str:
    """One line of a complaint's full history as staff read it (internal events too)."""
    when = words.local_time(event.at, timezone)
    if event.staff_id is not None:
        who = staff_name(team.get(event.staff_id))
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


def normalized_number(text: str) -> str | None:
    """A complaint number as stored (``c-2026-123`` → ``C-2026-000123``), or None."""
    match = NUMBER.match(text)
    if match is None:
        return None
    return f"C-{match.group(1)}-{int(match.group(2)):06d}"


async def target_complaint(request: StaffRequest, usage: str) -> tuple[Complaint, str]:
    """The complaint a command is about, and the rest of its arguments.

    The complaint is named by its number, or is the one whose message (card, relayed
    message, prompt) the command replies to.
    """
    session, arguments, message = request.session, request.arguments, request.message
    first, *rest = arguments.split(maxsplit=1) or [""]
    number = normalized_number(first)
    if number is not None:
        complaint = await complaints.find_by_number(session, number)
        if complaint is None or complaints.status_of(complaint) is S.DRAFT:
            raise Answer(_("There is no complaint {number}.").format(number=number))
        request.concerns(complaint.customer_id)
        return complaint, rest[0].strip() if rest else ""
    replied = message.reply_to_message if message is not None else None
    if message is not None and replied is not None:
        owner = await complaints.message_owner(session, message.chat_id, replied.message_id)
        if owner is not None:
            request.concerns(owner[0].customer_id)
            return owner[0], arguments
    raise Answer(usage)


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


async def card_button(request: StaffRequest) -> Reply:
    """Act on a card button: acknowledge, take, or ask for a resolution note or a reply."""
    pressed = CardAction.parse(request.arguments)
    if pressed is None:
        raise Answer(_("This button is not valid."))
    session, services, staff = request.session, request.services, request.member
    complaint = await session.get(Complaint, pressed.complaint_id)
    if complaint is None or complaint.number is None:
        raise Answer(_("There is no such complaint."))
    number, now = complaint.number, services.clock.now()
    try:
        if pressed.action == "ack":
            change = await complaints.acknowledge(session, complaint, staff, now)
            return Reply(
                _("Acknowledged.") if change else _("Already done."), changes=_some(change)
            )
        if pressed.action == "take":
            change = await complaints.take(session, complaint, staff, now)
            return Reply(
                _("It is yours now.") if change else _("Already done."), changes=_some(change)
            )
    except Refused as refused:
        raise Answer(refusal_words(number, refused)) from None
    card = request.message
    if card is None or services.staff_chat_id is None or card.chat_id != services.staff_chat_id:
        # Prompts are answered in the staff group only (a reply elsewhere finds no handler).
        raise Answer(_("Use the card in the staff group for this."))
    if pressed.action == "res":
        status = complaints.status_of(complaint)
        if status is S.RESOLVED:
            return Reply(_("Already done."))
        if not complaints.is_open(complaint):
            raise Answer(refusal_words(number, Refused(Refusal.NOT_ALLOWED, status)))
        prompt = _("Resolution note for {number}: reply to this message.").format(number=number)
        return Reply(
            _("Reply to my message with what was done."),
            after=prompted(card, complaint.id, RESOLVE_PROMPT, prompt),
        )
    prompt = _("Your reply to the customer for {number}: reply to this message.").format(
        number=number
    )
    return Reply(
        _("Reply to my message with your answer."),
        after=prompted(card, complaint.id, REPLY_PROMPT, prompt),
    )


def _some(change: Change | None) -> tuple[Change, ...]:
    return () if change is None else (change,)


def prompted(card: Message, complaint_id: int, purpose: str, text: str) -> After:
    """After the answer: ask for a reply under the card, and remember what it is for."""

    async def after(context: CareContext, _sent: Message | None) -> None:
        await post_prompt(context, card.chat_id, card.message_id, (complaint_id, purpose, text))

    return after


# --- replies in the staff group ---------------------------------------------------------


async def on_staff_reply(update: Update, context: CareContext) -> None:
    """Send a staff member's reply to the customer, or resolve with the note replied."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.reply_to_message is None:
        return
    services = context.services
    text = (message.text or message.caption or "").strip()
    file = file_of(message)
    resolution: Reply | None = None
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
                if staff is not None:
                    # Their words to (or about) the customer: erased with them (/forget).
                    await mentions.remember(
                        session, [complaint.customer_id], message.chat_id,
                        [message.message_id], services.clock.now(), by_staff=True,
                    )  # fmt: skip
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
        if not text and file is None:
            await message.reply_text(
                _(
                    "Only texts, photos, documents, videos, voice and video messages, audio, "
                    "animations and stickers reach the customer."
                )
            )
            return
        await send_to_customer(context, message, complaint, staff, user.first_name, text, file)


async def resolve_with_note(
    session: AsyncSession, complaint: Complaint, staff: StaffMember, note: str, services: Services
) -> Reply:
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
        return Reply(_("{number} is already resolved.").format(number=complaint.number))
    return Reply(
        _(
            "{number} is resolved. The customer will be told, and asked for a rating, as "
            "soon as Telegram accepts the message; the card shows when they were told."
        ).format(number=complaint.number),
        changes=(change,),
    )


async def send_to_customer(
    context: CareContext,
    message: Message,
    complaint: Complaint,
    staff: StaffMember,
    fallback_name: str,
    text: str,
    file: tuple[Kind, str] | None,
) -> None:
    """Owe a staff reply to the customer: recorded, and the card refreshed, once delivered.
    ``file``: the kind and file id of what the reply carries (a photo, a voice message …),
    sent by its id, so it reaches a customer of the Business account too."""
    services = context.services
    name = staff_members.signature(staff) or fallback_name
    refused = None
    with use_locale(services.default_locale):
        async with services.sessionmaker.begin() as session:
            loaded = await complaints.facts(session, complaint.id)
            assert loaded is not None
            # Telegram Business: answers only within 24 h of the customer's last
            # message, and only while the account lets the bot reply. Staff hear it now
            # rather than from a message that fails.
            refused = await business.refusal(session, loaded.customer, services.clock.now())
            if refused is not None or (
                not loaded.customer.reachable or loaded.customer.chat_id is None
            ):
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
                    file=file, staff_message=(message.chat_id, message.message_id),
                    staff_reply=(staff.id, (_marker(file) + text).strip()),
                )  # fmt: skip
    if refused is not None:
        await message.reply_text(notify.business_refusal_words(refused, complaint.number))
    elif not owed_reply:
        await message.reply_text(
            _("⚠ Not delivered: the customer of {number} cannot be reached.").format(
                number=complaint.number
            )
        )


def _marker(file: tuple[Kind, str] | None) -> str:
    """What a staff reply's record shows of the file it carried."""
    if file is None:
        return ""
    return "📷 " if file[0] is Kind.PHOTO else "📎 "


# --- commands ---------------------------------------------------------------------------


async def show_queue(request: StaffRequest) -> Reply:
    """/queue: open complaints, then open conversations, each the nearest deadline first."""
    session, services = request.session, request.services
    rows = await complaints.queue(session)
    talks = await conversation_deadlines.queue(session)
    if not rows and not talks:
        return Reply(_("Nothing in the queue."))
    team = await team_of(session)
    now = services.clock.now()
    lines: list[str] = []
    if rows:
        lines.append(
            ngettext(
                "{count} open complaint, the nearest deadline first:",
                "{count} open complaints, the nearest deadline first:",
                len(rows),
            ).format(count=len(rows))
        )
        lines += [queue_line(c, team, services.timezone, now) for c in rows[:QUEUE_SHOWN]]
        request.concerns(*(c.customer_id for c in rows[:QUEUE_SHOWN]))
        if len(rows) > QUEUE_SHOWN:
            lines.append(_("…and {count} more.").format(count=len(rows) - QUEUE_SHOWN))
    if talks:
        if lines:
            lines.append("")
        lines.append(
            ngettext(
                "{count} open conversation, the nearest deadline first:",
                "{count} open conversations, the nearest deadline first:",
                len(talks),
            ).format(count=len(talks))
        )
        for conversation, customer in talks[:QUEUE_SHOWN]:
            request.concerns(customer.id)
            assignee = team.get(conversation.assignee_id) if conversation.assignee_id else None
            lines.append(
                conversation_desk.queue_line(
                    conversation, customer, assignee, services.timezone, now
                )
            )
        if len(talks) > QUEUE_SHOWN:
            lines.append(_("…and {count} more.").format(count=len(talks) - QUEUE_SHOWN))
    return Reply("\n".join(lines))


async def show_complaint(request: StaffRequest) -> Reply:
    """/complaint C-…: the card, the full history and the customer's recent contacts."""
    session, services = request.session, request.services
    usage = _("Usage: /complaint C-2026-000123")
    complaint, _rest = await target_complaint(request, usage)
    loaded = await complaints.facts(session, complaint.id)
    assert loaded is not None
    team = await team_of(session)
    events = await complaints.history(session, complaint.id, internal=True)
    recent = await contacts.contact_history(session, loaded.customer.id, limit=CONTACTS_SHOWN)
    lines = [staff_card.card_text(loaded, services.timezone), "", _("History:")]
    lines += [event_line(event, team, services.timezone) for event in events]
    lines += ["", _("Recent contacts with the customer:")]
    lines += [contact_line(contact, services.timezone) for contact in recent] or [_("none")]
    return Reply("\n".join(lines))


async def assign_complaint(request: StaffRequest) -> Reply:
    """/assign C-… @username: give a complaint to a staff member."""
    session, staff, services = request.session, request.member, request.services
    usage = _("Usage: /assign C-2026-000123 @username (or their Telegram user id)")
    complaint, rest = await target_complaint(request, usage)
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
        return Reply(
            _("{number} is already assigned to {name}.").format(
                number=complaint.number, name=staff_name(assignee)
            )
        )
    return Reply(
        _("{number} is now assigned to {name}.").format(
            number=complaint.number, name=staff_name(assignee)
        ),
        changes=(change,),
    )


async def resolve_complaint(request: StaffRequest) -> Reply:
    """/resolve C-… note: mark solved, with what was done (the customer sees the note)."""
    session, staff, services = request.session, request.member, request.services
    usage = _("Usage: /resolve C-2026-000123 what was done")
    complaint, note = await target_complaint(request, usage)
    if not note:
        raise Answer(usage)
    return await resolve_with_note(session, complaint, staff, note, services)


async def reopen_complaint(request: StaffRequest) -> Reply:
    """/reopen C-… [why]: open a resolved or closed complaint again."""
    session, staff, services = request.session, request.member, request.services
    usage = _("Usage: /reopen C-2026-000123")
    complaint, why = await target_complaint(request, usage)
    try:
        change = await complaints.reopen(
            session, complaint, services.sla, services.clock.now(), staff=staff, note=why or None
        )
    except Refused as refused:
        raise Answer(refusal_words(complaint.number, refused)) from None
    if change is None:
        return Reply(_("{number} is already reopened.").format(number=complaint.number))
    return Reply(_("{number} is open again.").format(number=complaint.number), changes=(change,))


async def note_complaint(request: StaffRequest) -> Reply:
    """/note C-… text: an internal note, never shown to the customer."""
    session, staff, services = request.session, request.member, request.services
    usage = _("Usage: /note C-2026-000123 text (for staff only)")
    complaint, text = await target_complaint(request, usage)
    if not text:
        raise Answer(usage)
    await complaints.add_note(session, complaint, staff, text, services.clock.now())
    return Reply(_("Note added to {number} (staff only).").format(number=complaint.number))


COMMANDS: dict[str, StaffAction] = {
    "queue": show_queue,
    "complaint": show_complaint,
    "assign": assign_complaint,
    "resolve": resolve_complaint,
    "reopen": reopen_complaint,
    "note": note_complaint,
}


def staff_handlers(staff_chat_id: int | None) -> list[BaseHandler]:
    """Handlers for the staff group and staff members' private chats: the complaint
    commands, the card's buttons, replies to cards and prompts, and /staff.

    Registered before the customer's handlers: these commands are answered here (a
    refusal for anyone but staff) and never reach the customer's side; every other
    command flows on.
    """
    where = staff_places(staff_chat_id)
    handlers: list[BaseHandler] = [
        staff_command(name, action, where=where) for name, action in COMMANDS.items()
    ]
    handlers += roster_handlers(staff_chat_id)
    handlers.append(staff_button(CardAction, card_button))
    if staff_chat_id is not None:
        # New messages only: an edited reply must not write again.
        handlers.append(
            MessageHandler(
                filters.Chat(staff_chat_id) & filters.REPLY & filters.UpdateType.MESSAGE
                & ~filters.COMMAND,
                on_staff_reply,
            )
        )  # fmt: skip
    return handlers
