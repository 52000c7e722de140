"""Customer side of complaints: filing (/complain), /status, messages that belong to one.

The complaint being filed is a draft row in the database (status "draft"), filled in as
the customer answers, so a restart in the middle loses nothing; the dialogue state itself
is persistent too (name "complaint_filing").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from care import complaints, owed
from care import conversations as conversation_records
from care.complaints import Refusal, Refused
from care.models import Complaint, Customer
from care.owed import Kind, Purpose
from care.planning import zone_of
from handlers import common, conversation_desk, conversations, notify, staff_card, texts
from handlers import complaint_words as words
from handlers.business import ChatDialogue, business_chat_of, file_of
from handlers.buttons import (
    CategoryChoice,
    ConsentChoice,
    FilingStep,
    LanguageChoice,
    NewProblem,
    ProfileField,
    Rating,
    ReopenRequest,
    SameProblem,
    key,
)
from handlers.context import CareContext, Services
from handlers.i18n import gettext as _
from handlers.i18n import use_locale
from handlers.owed_parts import owe_whole
from handlers.profile import ask_forget
from handlers.staff_alerts import Alert, owe_alert

log = logging.getLogger(__name__)

CATEGORY, DESCRIPTION, ATTACH, REFERENCE, CONFIRM, DUPLICATE = (
    "category", "description", "attach", "reference", "confirm", "duplicate",
)  # fmt: skip
END = ConversationHandler.END
PRIVATE = filters.ChatType.PRIVATE
MEDIA = filters.PHOTO | filters.Document.ALL
TEXT_OR_MEDIA = PRIVATE & ((filters.TEXT & ~filters.COMMAND) | MEDIA)
# What is added to an open complaint: any file too (shown to staff, not kept as an
# attachment unless a photo or document).
OTHER_FILES = (
    filters.VOICE | filters.AUDIO | filters.VIDEO | filters.VIDEO_NOTE | filters.ANIMATION
    | filters.Sticker.ALL
)  # fmt: skip
ADDED = TEXT_OR_MEDIA | (PRIVATE & OTHER_FILES)
NUMBER = re.compile(r"^C-\d{4}-\d{6}$", re.IGNORECASE)

Step = Callable[[Update, CareContext], Coroutine[Any, Any, str | int]]
# Buttons that work anywhere, so also while filing (which stays at its step): rating and
# reopening an earlier complaint (the survey's), and those of the commands that work in
# the middle of a dialogue (/language, /profile's language and care-messages switches).
ELSEWHERE = (
    *(kind.family() for kind in (Rating, ReopenRequest, LanguageChoice, ConsentChoice)),
    ProfileField("language").exact(),
)
NOT_ELSEWHERE = re.compile("^(?!" + "|".join(pattern.pattern[1:] for pattern in ELSEWHERE) + ")")
DUPLICATE_ANSWERS = re.compile(
    "|".join(kind.family().pattern for kind in (SameProblem, NewProblem))
)


def _category_keyboard(categories: tuple[str, ...]) -> InlineKeyboardMarkup:
    rows = [[key(words.category_label(code), CategoryChoice(code))] for code in categories]
    rows.append([key(_("Cancel"), FilingStep("cancel"))])
    return InlineKeyboardMarkup(rows)


def _attach_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[key(_("Continue"), FilingStep("continue"))]])


def _reference_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[key(_("No reference"), FilingStep("noref"))]])


def _confirm_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [key(_("Submit"), FilingStep("submit"))],
            [
                key(_("Edit the description"), FilingStep("edit")),
                key(_("Cancel"), FilingStep("cancel")),
            ],
        ]
    )


def _duplicate_keyboard(existing: Complaint) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [key(_("Yes, add to {number}").format(number=existing.number),
                 SameProblem(existing.id))],
            [key(_("No, it is a new problem"), NewProblem())],
        ]
    )  # fmt: skip


async def _reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Send a new message in the chat (after a button press, a message below it)."""
    message = update.effective_message
    assert message is not None
    if update.callback_query is not None:
        await message.get_bot().send_message(message.chat.id, text, reply_markup=markup)
    else:
        await message.reply_text(text, reply_markup=markup)


# --- filing ---------------------------------------------------------------------------


async def start_filing(update: Update, context: CareContext) -> str:
    """Begin a complaint: ask for the category."""
    view, services = context.customer, context.services
    assert view is not None
    if update.callback_query is not None:
        await update.callback_query.answer()
    async with services.sessionmaker.begin() as session:
        customer = await session.get_one(complaints.Customer, view.id)
        await complaints.start_draft(session, customer, services.clock.now(), _filed_in(update))
    await _reply(
        update,
        _(
            "We are sorry something went wrong. Let us sort it out together. "
            "What is the complaint about?"
        ),
        _category_keyboard(services.complaint_categories),
    )
    return CATEGORY


async def choose_category(update: Update, context: CareContext) -> str | int:
    """Save the category and ask for the description."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.customer is not None
    chosen = CategoryChoice.parse(query.data)
    code = chosen.code if chosen is not None else ""
    if code not in context.services.complaint_categories:
        await query.answer(_("This button is no longer valid. Send /help to see what I can do."))
        return CATEGORY
    async with context.services.sessionmaker.begin() as session:
        draft = await complaints.current_draft(session, context.customer.id, _filed_in(update))
        if draft is None:
            return await _draft_gone(update)
        complaints.set_category(draft, code)
    await query.answer()
    await common.settle(
        query, _("Complaint about: {category}").format(category=words.category_label(code))
    )
    await _reply(
        update,
        _(
            "Please describe what happened, in your own words. You can also send photos "
            "or documents (up to 10)."
        ),
    )
    return DESCRIPTION


async def take_description(update: Update, context: CareContext) -> str | int:
    """Save the description (a text, or a photo's caption)."""
    message = update.effective_message
    assert message is not None and context.customer is not None
    text = message.text or message.caption or ""
    async with context.services.sessionmaker.begin() as session:
        draft = await complaints.current_draft(session, context.customer.id, _filed_in(update))
        if draft is None:
            return await _draft_gone(update)
        if text.strip():
            if draft.description and message.text is None:
                complaints.set_description(draft, draft.description + "\n" + text)
            else:
                complaints.set_description(draft, text)
        count = await _attach(session, draft, message, context.services)
        described = bool(draft.description)
    if not described:
        await message.reply_text(
            _("Thank you for the photo. Please also describe the problem in a few words.")
        )
        return DESCRIPTION
    if count is not None:
        await message.reply_text(
            _("Got it ({count}/10). Send more photos or documents, or tap Continue.").format(
                count=count
            ),
            reply_markup=_attach_keyboard(),
        )
        return ATTACH
    await message.reply_text(
        _("Thank you. You can add photos or documents now (up to 10), or tap Continue."),
        reply_markup=_attach_keyboard(),
    )
    return ATTACH


async def _attach(
    session: complaints.AsyncSession, draft: Complaint, message: Message, services: Services
) -> int | None:
    """Attach the message's photo or document to the draft; None if it has none."""
    if message.photo:
        kind, file_id, name = "photo", message.photo[-1].file_id, None
    elif message.document:
        kind, file_id, name = "document", message.document.file_id, message.document.file_name
    else:
        return None
    return await complaints.add_attachment(
        session, draft, kind, file_id, services.clock.now(), file_name=name,
        caption=message.caption,
    )  # fmt: skip


async def take_attachment(update: Update, context: CareContext) -> str | int:
    """Attach one more photo or document, or add more text to the description."""
    message = update.effective_message
    assert message is not None and context.customer is not None
    try:
        async with context.services.sessionmaker.begin() as session:
            draft = await complaints.current_draft(session, context.customer.id, _filed_in(update))
            if draft is None:
                return await _draft_gone(update)
            count = await _attach(session, draft, message, context.services)
            if message.text and draft.description:
                complaints.add_to_description(draft, message.text)
    except Refused as refused:
        if refused.reason is not Refusal.TOO_MANY_ATTACHMENTS:
            raise
        await message.reply_text(
            _("That is the limit of 10 attachments. Tap Continue to go on."),
            reply_markup=_attach_keyboard(),
        )
        return ATTACH
    if count is None:
        reply = _("Added to the description. Anything else, or tap Continue?")
    else:
        reply = _("Got it ({count}/10). Send more photos or documents, or tap Continue.").format(
            count=count
        )
    await message.reply_text(reply, reply_markup=_attach_keyboard())
    return ATTACH


async def ask_reference(update: Update, context: CareContext) -> str:
    """Ask for an optional order or reference number."""
    if update.callback_query is not None:
        await update.callback_query.answer()
        await common.settle(update.callback_query)
    await _reply(
        update,
        _("Do you have an order number or another reference? Write it, or tap No reference."),
        _reference_keyboard(),
    )
    return REFERENCE


async def take_reference(update: Update, context: CareContext) -> str | int:
    """Save the reference (or none) and show the summary."""
    assert context.customer is not None
    message = update.effective_message
    reference = message.text if update.callback_query is None and message else None
    async with context.services.sessionmaker.begin() as session:
        draft = await complaints.current_draft(session, context.customer.id, _filed_in(update))
        if draft is None:
            return await _draft_gone(update)
        complaints.set_reference(draft, reference)
        attachments = len(await complaints.attachments_of(session, draft.id))
        summary = "\n".join(
            [
                _("Please check your complaint:"),
                _("About: {category}").format(category=words.category_label(draft.category)),
                _("Reference: {reference}").format(reference=draft.reference or "—"),
                _("Attachments: {count}").format(count=attachments),
                "",
                draft.description or "",
            ]
        )
    if update.callback_query is not None:
        await update.callback_query.answer()
        await common.settle(update.callback_query)
    # A long description is shown whole, in as many messages as it takes, the buttons
    # under the last.
    *before, last = texts.numbered_parts(summary)
    for part in before:
        await _reply(update, part)
    await _reply(update, last, _confirm_keyboard())
    return CONFIRM


async def edit_description(update: Update, context: CareContext) -> str:
    """Go back to the description (attachments are kept)."""
    assert update.callback_query is not None
    await update.callback_query.answer()
    await common.settle(update.callback_query)
    await _reply(update, _("Please write the description again."))
    return DESCRIPTION


async def cancel_filing(update: Update, context: CareContext) -> int:
    """Drop the draft."""
    assert context.customer is not None
    async with context.services.sessionmaker.begin() as session:
        draft = await complaints.current_draft(session, context.customer.id, _filed_in(update))
        if draft is not None:
            await session.delete(draft)
    if update.callback_query is not None:
        await update.callback_query.answer()
        await common.settle(update.callback_query)
    await _reply(update, _("The complaint was not filed. Send /complain whenever you want."))
    return END


async def submit(update: Update, context: CareContext) -> str | int:
    """File the complaint, unless it looks like one that is already open."""
    assert context.customer is not None and update.callback_query is not None
    services = context.services
    async with services.sessionmaker.begin() as session:
        draft = await complaints.current_draft(session, context.customer.id, _filed_in(update))
        if draft is None:
            return await _draft_gone(update)
        existing = await complaints.similar_open_complaint(
            session, context.customer.id, draft.description or "", services.triage
        )
    await update.callback_query.answer()
    await common.settle(update.callback_query)
    if existing is not None:
        await _reply(
            update,
            _(
                "This sounds like your open complaint {number}:\n“{text}”\nIs it the same problem?"
            ).format(number=existing.number, text=(existing.description or "")[:200]),
            _duplicate_keyboard(existing),
        )
        return DUPLICATE
    return await _file(update, context)


async def answer_duplicate(update: Update, context: CareContext) -> str | int:
    """Add to the open complaint, or file a new one."""
    query = update.callback_query
    assert query is not None and query.data is not None and context.customer is not None
    if NewProblem.parse(query.data) is not None:
        await query.answer()
        await common.settle(query)
        return await _file(update, context)
    same = SameProblem.parse(query.data)
    target_id = same.complaint_id if same is not None else None
    services = context.services
    async with services.sessionmaker.begin() as session:
        draft = await complaints.current_draft(session, context.customer.id, _filed_in(update))
        target = await session.get(Complaint, target_id) if target_id is not None else None
        if draft is None:
            return await _draft_gone(update)
        if target is None or target.customer_id != context.customer.id:
            await query.answer(
                _("This button is no longer valid. Send /help to see what I can do.")
            )
            return DUPLICATE
        change = await complaints.merge_draft(session, draft, target, services.clock.now())
        loaded = await complaints.facts(session, change.complaint.id)
        assert loaded is not None
        owe_added(session, services, loaded, change.event.note or "", None)
        await staff_card.owe_refresh(session, loaded.complaint, services)
    await query.answer()
    await common.settle(query)
    return END


async def _file(update: Update, context: CareContext) -> int:
    """File the draft; the customer's number, the staff card and any alert are owed in
    the same transaction, so none of them can be lost once the complaint exists."""
    assert context.customer is not None
    services = context.services
    async with services.sessionmaker.begin() as session:
        draft = await complaints.current_draft(session, context.customer.id, _filed_in(update))
        if draft is None:
            return await _draft_gone(update)
        complaint = await complaints.file_complaint(
            session, draft, services.sla, services.triage, services.clock.now(), services.timezone
        )
        loaded = await complaints.facts(session, complaint.id)
        assert loaded is not None
        due = words.customer_time(
            complaints.promised_deadline(complaint), loaded.customer.timezone, services.timezone
        )
        if complaint.agitated:
            text = _(
                "We are truly sorry for the trouble, and we understand your frustration. "
                "Your complaint number is {number}. A senior colleague has been told and will "
                "get back to you by {due}."
            )
        else:
            text = _(
                "Thank you. Your complaint number is {number}. We will get back to you by "
                "{due}. Send /status {number} at any time to see where it stands."
            )
        text = text.format(number=complaint.number, due=due)
        if not context.customer.onboarded:  # filed before registering: offer it again
            text += "\n\n" + _("When you have a moment, send /start to finish registering.")
        notify.owe_customer(
            session, services, loaded, text, purpose=Purpose.CONFIRMATION
        )  # fmt: skip
        staff_card.owe_card(session, loaded, services)
        # Filed during a conversation: it belongs to it, and its topic shows it.
        await conversation_records.attach_complaint(session, complaint, services.clock.now())
        await conversation_desk.owe_complaint_in_topic(session, services, loaded)
        if complaint.agitated:
            await owe_supervisor_alert(session, services, loaded)
    return END


async def owe_supervisor_alert(
    session: complaints.AsyncSession, services: Services, loaded: complaints.ComplaintFacts
) -> None:
    """Owe every supervisor, in private (in their language), an alert about an upset
    customer's complaint."""

    def text() -> str:
        return _(
            "⚠ Upset customer: complaint {number} ({priority}) from {name}. "
            "Please make sure it is answered fast.\n\n{text}"
        ).format(
            number=loaded.complaint.number,
            priority=words.priority_label(loaded.complaint.priority),
            name=loaded.customer.display_name,
            text=(loaded.complaint.description or "")[:1000],
        )

    await owe_alert(session, services, Alert.UPSET_CUSTOMER, text, loaded.complaint.id)


async def _draft_gone(update: Update) -> int:
    if update.callback_query is not None:
        await update.callback_query.answer()
    await _reply(update, _("This complaint draft has expired. Send /complain to start again."))
    return END


def _reprompt(state: str) -> Step:
    async def reprompt(update: Update, context: CareContext) -> str:
        """Answer anything unexpected in a filing step and repeat the step's question."""
        if update.callback_query is not None:
            await update.callback_query.answer(_("This button belongs to an earlier step."))
        elif update.effective_message is not None and (
            update.effective_message.text or ""
        ).startswith("/"):
            await update.effective_message.reply_text(
                _("You are filing a complaint. Finish this step, or send /cancel.")
            )
        prompts = {
            CATEGORY: (_("Please choose what the complaint is about."),
                       _category_keyboard(context.services.complaint_categories)),
            DESCRIPTION: (_("Please describe the problem in a few words (text)."), None),
            ATTACH: (_("Send photos or documents, or tap Continue."), _attach_keyboard()),
            REFERENCE: (_("Write your order number, or tap No reference."), _reference_keyboard()),
            CONFIRM: (_("Please use the buttons: Submit, Edit or Cancel."), _confirm_keyboard()),
            DUPLICATE: (_("Please tell me with the buttons whether it is the same problem."), None),
        }  # fmt: skip
        text, markup = prompts[state]
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)
        return state

    return reprompt


async def cancel_command(update: Update, context: CareContext) -> int:
    """/cancel while filing."""
    return await cancel_filing(update, context)


async def forget_midway(update: Update, context: CareContext) -> int:
    await ask_forget(update, context)
    return END


def _filed_in(update: Update) -> str | None:
    """The Business chat a filing step comes from (None: the customer's chat with the
    bot): each chat has its own draft."""
    through = business_chat_of(update)
    return None if through is None else through.connection_id


def _step(state: str, *handlers: BaseHandler) -> list[BaseHandler]:
    reprompt = _reprompt(state)
    return [
        *handlers,
        CommandHandler("cancel", cancel_command, filters=PRIVATE),
        CommandHandler("forget", forget_midway, filters=PRIVATE),
        CallbackQueryHandler(cancel_filing, pattern=FilingStep("cancel").exact()),
        MessageHandler(PRIVATE, reprompt),
        CallbackQueryHandler(reprompt, pattern=NOT_ELSEWHERE),
    ]


def filing_conversation() -> ConversationHandler:
    """The /complain dialogue."""
    return ChatDialogue(
        name="complaint_filing",
        persistent=True,
        entry_points=[
            CommandHandler("complain", start_filing, filters=PRIVATE),
            CallbackQueryHandler(start_filing, pattern=FilingStep("go").exact()),
        ],
        states={
            CATEGORY: _step(
                CATEGORY, CallbackQueryHandler(choose_category, pattern=CategoryChoice.family())
            ),
            DESCRIPTION: _step(
                DESCRIPTION,
                MessageHandler(TEXT_OR_MEDIA, take_description),
            ),
            ATTACH: _step(
                ATTACH,
                CallbackQueryHandler(ask_reference, pattern=FilingStep("continue").exact()),
                MessageHandler(TEXT_OR_MEDIA, take_attachment),
            ),
            REFERENCE: _step(
                REFERENCE,
                CallbackQueryHandler(take_reference, pattern=FilingStep("noref").exact()),
                MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, take_reference),
            ),
            CONFIRM: _step(
                CONFIRM,
                CallbackQueryHandler(submit, pattern=FilingStep("submit").exact()),
                CallbackQueryHandler(edit_description, pattern=FilingStep("edit").exact()),
            ),
            DUPLICATE: _step(
                DUPLICATE,
                CallbackQueryHandler(answer_duplicate, pattern=DUPLICATE_ANSWERS),
            ),
        },
        fallbacks=[],
    )  # fmt: skip


# --- /status ------------------------------------------------------------------------


async def status(update: Update, context: CareContext) -> None:
    """List the customer's complaints, or show one with its history."""
    message, view, services = update.effective_message, context.customer, context.services
    assert message is not None and view is not None
    args = context.args or []
    async with services.sessionmaker.begin() as session:
        # Times in the customer's own zone; the deadline names it when it is not ours.
        customer = await session.get_one(Customer, view.id)
        zone = str(zone_of(customer.timezone, services.timezone))
        if args:
            number = args[0]
            found = (
                await complaints.find_by_number(session, number, view.id)
                if NUMBER.match(number)
                else None
            )
            if found is None:
                # The same words whether it does not exist or is someone else's.
                await message.reply_text(
                    _("I cannot find a complaint {number} among yours. Send /status to list them.")
                    .format(number=number[:24])
                )  # fmt: skip
                return
            events = await complaints.history(session, found.id)
            lines = [
                _("Complaint {number}: {status}").format(
                    number=found.number, status=words.status_label(found.status)
                ),
                _("About: {category}").format(category=words.category_label(found.category)),
            ]
            if (promised := complaints.promised_deadline(found)) is not None:
                due = words.customer_time(promised, customer.timezone, services.timezone)
                lines.append(_("We will get back to you by {due}.").format(due=due))
            if found.resolution:
                lines.append(_("What we did: {note}").format(note=found.resolution))
            lines.append("")
            lines += [line for event in events if (line := words.customer_event_line(event, zone))]
            # The newest lines matter most: a long history goes in parts, never cut.
            for part in texts.numbered_parts("\n".join(lines)):
                await message.reply_text(part)
            return
        mine = await complaints.complaints_of(session, view.id)
        talks = await conversations.status_lines(session, view.id, zone, services.timezone)
        if not mine:
            none = _("You have no complaints with us. Send /complain if something is wrong.")
            await message.reply_text("\n\n".join(["\n".join(talks), none]) if talks else none)
            return
        lines = [*talks, ""] if talks else []
        lines.append(_("Your complaints:"))
        lines += [
            _("{number}: {status}, last update {when}").format(
                number=c.number,
                status=words.status_label(c.status),
                when=words.local_time(c.updated_at, zone),
            )
            for c in mine[:20]
        ]
        lines.append(_("Send /status and a number to see its history."))
    await message.reply_text("\n".join(lines))


# --- messages that belong to a complaint ---------------------------------------------


async def relay(update: Update, context: CareContext) -> None:
    """Add a customer's message to their open complaint and show it to staff.

    Without an open complaint it goes into the customer's conversation.
    """
    if not await relay_to_open_complaint(update, context):
        await conversations.on_customer_message(update, context)


async def relay_to_open_complaint(update: Update, context: CareContext) -> bool:
    """Add a customer's message to their open complaint, show it to staff, tell them.

    The complaint is the one whose message they replied to, else their most recently
    updated open complaint. The customer cache remembers that there is none until their
    complaints change, so most messages of customers without complaints need no database
    read here.

    Returns:
        False when the customer has no open complaint (nothing was said).
    """
    message, view, services = update.effective_message, context.customer, context.services
    assert message is not None and view is not None and update.effective_user is not None
    if view.open_complaints is False:
        return False
    text = message.text or message.caption or ""
    ticket = services.customer_cache.ticket()
    async with services.sessionmaker.begin() as session:
        target: Complaint | None = None
        if message.reply_to_message is not None:
            owner = await complaints.message_owner(
                session, message.chat.id, message.reply_to_message.message_id,
                message.business_connection_id,
            )  # fmt: skip
            if owner is not None and owner[0].customer_id == view.id:
                target = owner[0]
        if target is None or not complaints.is_open(target):
            open_ones = await complaints.open_complaints_of(session, view.id)
            target = max(open_ones, key=lambda c: c.updated_at) if open_ones else None
        if target is not None:
            # The customer's words, their relay to staff and the acknowledgement are
            # committed together: a crash or a failing Telegram loses none of them.
            change = await complaints.record_customer_message(
                session, target, text or _("(attachment)"), services.clock.now()
            )
            if message.photo or message.document:
                try:
                    await _attach(session, target, message, services)
                except Refused:
                    pass  # past 10 attachments the photo is still relayed, just not kept
            loaded = await complaints.facts(session, target.id)
            assert loaded is not None
            owe_added(session, services, loaded, text, message)
            if change.status_changed:
                await staff_card.owe_refresh(session, target, services)
    if target is None:
        services.customer_cache.note_open_complaints(
            update.effective_user.id, view.id, False, ticket
        )
        return False
    return True


def owe_relay(
    session: complaints.AsyncSession,
    services: Services,
    loaded: complaints.ComplaintFacts,
    text: str,
    message: Message | None,
) -> None:
    """Owe staff a customer's message about a complaint, under its card in the staff
    group (a photo, document, voice message or other file is copied, or sent by its id
    from a Business chat, with the words as its caption; a sticker or round video, which
    take no caption, after them)."""
    if services.staff_chat_id is None:
        return
    with use_locale(services.default_locale):
        header = _("💬 {number} from {name}:").format(
            number=loaded.complaint.number, name=loaded.customer.display_name
        )
    file = file_of(message) if message is not None else None
    kind, file_id = Kind.COPY if file is not None else Kind.TEXT, None
    if file is not None and message is not None and message.business_connection_id is not None:
        # copyMessage would take the id in the bot's own chat: the file goes instead.
        kind, file_id = file
    words_out: str | None = f"{header}\n{text}"
    if file is not None and file[0] in owed.CAPTIONLESS:
        # A sticker or round video takes no caption: the header goes just before it.
        _owe_relay_row(session, services, loaded, Kind.TEXT, words_out, None, None)
        words_out = None
    source = (message.chat.id, message.message_id) if kind is Kind.COPY and message else None
    _owe_relay_row(session, services, loaded, kind, words_out, file_id, source)


def _owe_relay_row(
    session: complaints.AsyncSession,
    services: Services,
    loaded: complaints.ComplaintFacts,
    kind: Kind,
    text: str | None,
    file_id: str | None,
    source: tuple[int, int] | None,
) -> None:
    assert services.staff_chat_id is not None
    owe_whole(
        session, now=services.clock.now(), purpose=Purpose.RELAY, kind=kind,
        chat_id=services.staff_chat_id, file_id=file_id, text=text,
        media=kind is not Kind.TEXT, source=source,
        customer_id=loaded.customer.id, complaint_id=loaded.complaint.id, reply_to_card=True,
        remember_as="relay",
    )  # fmt: skip


def owe_added(
    session: complaints.AsyncSession,
    services: Services,
    loaded: complaints.ComplaintFacts,
    text: str,
    message: Message | None,
) -> None:
    """Owe staff what the customer added to a complaint, and the customer the word that
    it was added."""
    owe_relay(session, services, loaded, text, message)
    notify.owe_customer(
        session, services, loaded,
        _("Added to your complaint {number}. Our team sees it right away.").format(
            number=loaded.complaint.number
        ),
        purpose=Purpose.CONFIRMATION,
    )  # fmt: skip


def complaint_handlers() -> list[BaseHandler]:
    """The filing dialogue and /status."""
    return [filing_conversation(), CommandHandler("status", status, filters=PRIVATE)]


def relay_handlers() -> list[BaseHandler]:
    """A customer's messages that belong to an open complaint."""
    return [MessageHandler(ADDED, relay)]
