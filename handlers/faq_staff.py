"""Staff and the FAQ in Telegram: ``/faq add``, "save as FAQ", ``/faq same`` (a customer's
wording taught to an entry), and FAQ answers offered to staff instead of sent.

``/faq add`` (admins; in the staff chat or an admin's private chat) is a short dialogue:
the language (buttons), the question phrasings (one per line), the answer, then a
preview with Save and Cancel. ``/faq save``, sent as a reply to a staff answer in a
conversation (in the customer's topic, or to the answer in a plain group), asks for the
question (the customer's last message offered as a button) and saves the answer in the
conversation's language. A reply command rather than a button: Telegram cannot put a
button on a staff member's own message, and a bot message with a button after every
answer would double the length of every topic for the few answers worth keeping.

``/faq same <id>`` (admins), sent as a reply to a customer's question that went to staff
(relayed in their topic or the group, or quoted after "ask a person"), adds the
question's words to the entry's phrasings in the customer's language
(``care.faq_teaching``): the next customer who asks that way is answered.

The dialogue's state is a draft per staff member and chat (``care.faq_authoring``);
:class:`FaqDialogue` runs before every other handler and takes the member's next
message in the chat (and topic) where the draft was started, so that the phrasing typed
in a customer's topic is never sent to the customer. ``/cancel`` leaves it at any step;
another command passes through.

In a conversation staff already handle (it has an assignee or a staff answer), an answer
the FAQ would send is offered to staff in the topic or under the card instead, with
"Send it": the answer goes to the customer signed by whoever pressed it, owed like any
staff answer (:func:`offer_to_staff`, :func:`send_suggestion`).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, MessageHandler, filters

from care import conversations, faq_authoring, faq_teaching, owed
from care.conversations import Conversation
from care.faq import FaqBook
from care.faq_authoring import AlreadySent, DraftRefused
from care.faq_files import FaqProblem
from care.faq_teaching import PhrasingRefused, TeachProblem
from care.locales import LOCALES
from care.models import Customer, StaffRole
from handlers import common
from handlers import conversation_answers as answers
from handlers import conversation_desk as desk
from handlers.buttons import FaqDraftChoice, FaqSuggestionSend, key
from handlers.context import CareContext
from handlers.conversation_staff import signed
from handlers.i18n import N_, use_locale
from handlers.i18n import gettext as _
from handlers.staff_access import (
    Answer,
    Reply,
    StaffRequest,
    run_staff_action,
    send_reply,
    staff_button,
)
from handlers.texts import LANGUAGE_NAMES

log = logging.getLogger(__name__)

ADMINS_ONLY = N_("Only admins can write the FAQ.")
# Steps of a draft.
LANGUAGE, QUESTIONS, ANSWER, PREVIEW = "language", "questions", "answer", "preview"
DRAFT_NUMBERS = 10**9  # a draft's number fits a button's row id (9 digits)


def _thread(message: Message | None) -> int | None:
    """The forum topic a message is in (None: no topic, or General)."""
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


def _command(text: str | None) -> str:
    """The command a message starts with ("/cancel@carebot" → "/cancel"; "": none)."""
    words = (text or "").split(maxsplit=1)
    return words[0].split("@")[0] if words and words[0].startswith("/") else ""


def _who(request: StaffRequest) -> tuple[int, int]:
    user, chat = request.update.effective_user, request.chat_id
    assert user is not None and chat is not None
    return chat, user.id


def _refused(error: DraftRefused, text: str | None) -> str:
    """A clear answer to a phrasing or answer that cannot go into an entry."""
    length = len((text or "").strip())
    words = {
        FaqProblem.MISSING_QUESTIONS: _(
            "Send the question as text, as customers ask it (several phrasings: one per line)."
        ),
        FaqProblem.QUESTION_TOO_LONG: _(
            "A question can be at most {limit} characters. Please send a shorter one."
        ),
        FaqProblem.BAD_VALUE: _("At most {limit} phrasings, please."),
        FaqProblem.MISSING_ANSWER: _("Send the answer as text; it cannot be empty."),
        FaqProblem.ANSWER_TOO_LONG: _(
            "An answer can be at most {limit} characters; yours has {length}. Please shorten it."
        ),
    }
    return words[error.problem].format(limit=error.limit, length=length)


def _shorten(text: str, limit: int = desk.TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _language(locale: str) -> str:
    return LANGUAGE_NAMES.get(locale, locale)


def _preview(draft: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    lines = [_("New FAQ entry ({language}):").format(language=_language(draft["locale"]))]
    lines += [f"? {question}" for question in draft["questions"]]
    lines += ["", draft["answer"], "", _("Save it?")]
    number = draft["number"]
    keyboard = InlineKeyboardMarkup(
        [
            [
                key(_("💾 Save"), FaqDraftChoice(number, "save")),
                key(_("✖ Cancel"), FaqDraftChoice(number, "cancel")),
            ]
        ]
    )
    return "\n".join(lines), keyboard


def _cancel_only(number: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[key(_("✖ Cancel"), FaqDraftChoice(number, "cancel"))]])


# --- starting ---------------------------------------------------------------------------


async def start_add(request: StaffRequest) -> Reply:
    """/faq add: a new entry, as a short dialogue (admins)."""
    request.require(StaffRole.ADMIN, ADMINS_ONLY)
    chat, user = _who(request)
    number = secrets.randbelow(DRAFT_NUMBERS)
    draft = {"number": number, "flow": "add", "step": LANGUAGE, "thread": _thread(request.message)}
    await faq_authoring.put_draft(request.session, chat, user, draft, request.services.clock.now())
    keyboard = InlineKeyboardMarkup(
        [
            [key(_language(locale), FaqDraftChoice(number, locale)) for locale in LOCALES],  # type: ignore[arg-type]
            [key(_("✖ Cancel"), FaqDraftChoice(number, "cancel"))],
        ]
    )
    return Reply(
        _("A new FAQ entry. Which language is it in? (/cancel stops at any step.)"), keyboard
    )


async def start_save(request: StaffRequest) -> Reply:
    """/faq save, as a reply to a staff answer in a conversation: keep it as an entry."""
    request.require(StaffRole.ADMIN, ADMINS_ONLY)
    session, services, message = request.session, request.services, request.message
    chat, user = _who(request)
    replied = message.reply_to_message if message is not None else None
    found = (
        await faq_authoring.answered_conversation(session, chat, replied.message_id)
        if replied is not None
        else None
    )
    if replied is None or found is None:
        raise Answer(_("Send /faq save as a reply to a staff answer in a conversation."))
    answer = (replied.text or "").strip()
    if not answer:
        raise Answer(_("Only a text answer can be saved as FAQ."))
    try:
        answer = faq_authoring.answer_of(answer)
    except DraftRefused as error:
        raise Answer(_refused(error, answer)) from None
    conversation_id, customer_id = found
    customer = await session.get_one(Customer, customer_id)
    locale = customer.language if customer.language in LOCALES else services.default_locale
    asked = await faq_authoring.last_customer_words(session, conversation_id)
    number = secrets.randbelow(DRAFT_NUMBERS)
    draft = {
        "number": number, "flow": "save", "step": QUESTIONS, "thread": _thread(message),
        "locale": locale, "answer": answer, "asked": asked, "conversation": conversation_id,
    }  # fmt: skip
    await faq_authoring.put_draft(session, chat, user, draft, services.clock.now())
    text = _(
        "Save this answer as a FAQ entry ({language}). Send the question as customers ask "
        "it (several phrasings: one per line)."
    ).format(language=_language(locale))
    rows = []
    if asked:
        text += "\n" + _("Or use the customer's question: {question}").format(question=asked)
        rows.append([key(_("Use the customer's question"), FaqDraftChoice(number, "asked"))])
    rows.append([key(_("✖ Cancel"), FaqDraftChoice(number, "cancel"))])
    return Reply(text, InlineKeyboardMarkup(rows))


# --- teaching a customer's wording ------------------------------------------------------

SAME_USAGE = N_(
    "Send /faq same <entry id> as a reply to a customer's question that went to staff "
    "(its words become a phrasing of that entry; /faq same <entry id> <words> teaches your "
    "own wording of it instead)."
)


async def teach_same(request: StaffRequest) -> Reply:
    """/faq same <id> [words], as a reply to a customer's question relayed to staff: its
    words (or the given ones) become a phrasing of the entry (admins)."""
    request.require(StaffRole.ADMIN, ADMINS_ONLY)
    session, services, message = request.session, request.services, request.message
    _verb, _space, rest = request.arguments.partition(" ")
    entry_id, _space, own_words = rest.strip().partition(" ")
    replied = message.reply_to_message if message is not None else None
    asked = (
        await faq_teaching.miss_shown_in(
            session, request.chat_id or 0, replied.message_id, replied.text or replied.caption or ""
        )
        if replied is not None
        else None
    )
    if asked is None:
        raise Answer(_(SAME_USAGE))
    if not entry_id:  # which entry? the likeliest, to choose from
        book = await services.faq.book(session)
        likeliest = book.index.scores(asked.question)[: book.thresholds.suggestions]
        if not likeliest:
            raise Answer(_(SAME_USAGE))
        raise Answer(
            _(
                "Which entry answers it? The likeliest: {entries}. Send /faq same <entry id>."
            ).format(
                entries=", ".join(
                    f"{c.entry_id} ({book.title(c.entry_id, request.locale)})" for c in likeliest
                )
            )
        )
    request.concerns(asked.customer_id)  # the answer quotes the customer's words
    customer = await session.get(Customer, asked.customer_id)
    language = customer.language if customer is not None else None
    locale = language if language in LOCALES else services.default_locale
    words = own_words.strip() or asked.question
    try:
        taught = await faq_teaching.add_phrasing(
            session, entry_id, words, services.clock.now(), locale=locale
        )
    except PhrasingRefused as error:
        raise Answer(phrasing_refused(error, entry_id)) from None
    return Reply(
        _(
            "✅ FAQ entry {id} now also answers ({language}): {phrasing}\n"
            "Customers who ask this way get its answer from now on."
        ).format(id=taught.entry_id, language=_language(taught.locale), phrasing=taught.phrasing)
    )


def phrasing_refused(error: PhrasingRefused, entry_id: str) -> str:
    """Why the words cannot become a phrasing of ``entry_id``."""
    if error.problem is TeachProblem.UNKNOWN_ENTRY:
        return _("There is no FAQ entry {id}.").format(id=entry_id)
    if error.problem is TeachProblem.DUPLICATE and error.entry_id == entry_id:
        return _("FAQ entry {id} already has this phrasing.").format(id=entry_id)
    if error.problem is TeachProblem.DUPLICATE:
        return _(
            "This is already a phrasing of FAQ entry {other}; a phrasing belongs to one entry only."
        ).format(other=error.entry_id)
    if error.problem is TeachProblem.TOO_LONG:
        return _(
            "A phrasing can be at most {limit} characters: send /faq same {id} followed by "
            "a shorter wording."
        ).format(limit=error.limit, id=entry_id)
    if error.problem is TeachProblem.NO_LANGUAGE:
        return _("FAQ entry {id} has no text in that language.").format(id=entry_id)
    return _("There are no words to teach in this question.")


# --- the dialogue's messages ------------------------------------------------------------


class FaqDialogue:
    """A staff member's message in the chat (and topic) of their FAQ draft: the draft's
    next step, ``/cancel``, or (anything else, or no draft) handed to the handlers after
    this one as if it had not been here."""

    def handler(self) -> BaseHandler:
        return MessageHandler(filters.UpdateType.MESSAGE, self)

    async def __call__(self, update: Update, context: CareContext) -> None:
        message, user, chat = update.effective_message, update.effective_user, update.effective_chat
        services = context.services
        command = _command(message.text if message is not None else None)
        draft = None
        if (
            message is not None and user is not None and chat is not None and not user.is_bot
            and await services.staff_directory.get(
                services.sessionmaker, services.clock.now(), user.id
            ) is not None
        ):  # fmt: skip
            async with services.sessionmaker() as session:
                draft = await faq_authoring.get_draft(
                    session, chat.id, user.id, services.clock.now()
                )
        if (
            draft is None
            or message is None
            or draft.get("thread") != _thread(message)
            or command not in ("", "/cancel")
        ):
            await self._pass_on(update, context)
            return
        reply, locale = await run_staff_action(
            update, context, "a FAQ draft's step", message.text or "", _step, StaffRole.ADMIN,
            ADMINS_ONLY, {},
        )  # fmt: skip
        if reply is not None:
            with use_locale(locale):
                await send_reply(context, message, reply)

    async def _pass_on(self, update: Update, context: CareContext) -> None:
        await common.hand_on(
            update, context, lambda handler: getattr(handler, "callback", None) is self
        )


async def _step(request: StaffRequest) -> Reply:
    """The staff member's message for their draft's current step."""
    session, now = request.session, request.services.clock.now()
    chat, user = _who(request)
    draft = await faq_authoring.get_draft(session, chat, user, request.services.clock.now())
    if draft is None:
        raise Answer(_("There is no FAQ draft to continue."))
    text = request.arguments
    if _command(text) == "/cancel":
        await faq_authoring.drop_draft(session, chat, user)
        return Reply(_("Cancelled; nothing was saved."))
    step = draft["step"]
    try:
        if step == LANGUAGE:
            return Reply(_("Please choose the language with the buttons above."))
        if step == QUESTIONS:
            draft["questions"] = faq_authoring.questions_of(text)
            if draft["flow"] == "add":
                draft["step"] = ANSWER
                await faq_authoring.put_draft(session, chat, user, draft, now)
                return Reply(_("Now send the answer."), _cancel_only(draft["number"]))
        elif step == ANSWER:
            draft["answer"] = faq_authoring.answer_of(text)
        else:
            return Reply(_("Press Save or Cancel above (or send /cancel)."))
    except DraftRefused as error:
        raise Answer(_refused(error, text)) from None
    draft["step"] = PREVIEW
    await faq_authoring.put_draft(session, chat, user, draft, now)
    preview, keyboard = _preview(draft)
    return Reply(preview, keyboard)


# --- the draft's buttons ----------------------------------------------------------------


async def draft_button(request: StaffRequest) -> Reply:
    """A draft's language, "use the customer's question", Save or Cancel."""
    session, services = request.session, request.services
    pressed = FaqDraftChoice.parse(request.arguments)
    chat, user = _who(request)
    draft = await faq_authoring.get_draft(session, chat, user, request.services.clock.now())
    if pressed is None or draft is None or draft.get("number") != pressed.draft:
        return Reply(_("This FAQ draft is no longer open (saved or cancelled, or a colleague's)."))
    query = request.update.callback_query
    assert query is not None
    now, step = services.clock.now(), draft["step"]
    if pressed.choice == "cancel":
        await faq_authoring.drop_draft(session, chat, user)
        return Reply(_("Cancelled; nothing was saved."), after=_settled(query, None))
    if pressed.choice in LOCALES:
        if step != LANGUAGE:
            return Reply(_("Already chosen."))
        draft.update(locale=pressed.choice, step=QUESTIONS)
        await faq_authoring.put_draft(session, chat, user, draft, now)
        prompt = _(
            "{language}: send the question as customers ask it (several phrasings: one per line)."
        ).format(language=_language(pressed.choice))
        return Reply(prompt, after=_settled(query, prompt, _cancel_only(draft["number"])))
    if pressed.choice == "asked":
        if step != QUESTIONS or not draft.get("asked"):
            return Reply(_("Already chosen."))
        draft.update(questions=faq_authoring.questions_of(draft["asked"]), step=PREVIEW)
        await faq_authoring.put_draft(session, chat, user, draft, now)
        preview, keyboard = _preview(draft)
        return Reply(_("The customer's question it is."), after=_settled(query, preview, keyboard))
    if step != PREVIEW:
        return Reply(_("Nothing to save yet."))
    try:
        entry_id = await faq_authoring.add_entry(
            session, draft["locale"], draft["questions"], draft["answer"], now
        )
    except DraftRefused as error:
        raise Answer(_refused(error, draft.get("answer"))) from None
    await faq_authoring.drop_draft(session, chat, user)
    done = _("✅ Saved as FAQ entry {id} (/faq show {id}).").format(id=entry_id)
    return Reply(done, after=_settled(query, done))


def _settled(
    query: CallbackQuery, then: str | None, keyboard: InlineKeyboardMarkup | None = None
) -> Any:
    """After the commit: the pressed message loses its buttons; ``then`` is posted below
    it (in its topic) with ``keyboard``."""

    async def after(context: CareContext, sent: Message | None) -> None:
        await common.settle(query)
        if then is not None and isinstance(query.message, Message):
            await query.message.reply_text(then, reply_markup=keyboard, do_quote=False)

    return after


# --- FAQ answers offered to staff -------------------------------------------------------


async def handled_by_staff(session: AsyncSession, customer_id: int) -> bool:
    """Whether the customer's open conversation is in a person's hands: it has an
    assignee, or staff answered in it."""
    conversation = await conversations.current_of(session, customer_id)
    return conversation is not None and (
        conversation.assignee_id is not None or conversation.last_staff_answer_at is not None
    )


def offer_to_staff(context: CareContext, book: FaqBook, entry_id: str) -> Any:
    """What ``handlers.conversations.take_message`` owes after the customer's message:
    the entry's answer in the customer's language, offered to staff with "Send it"."""
    services = context.services

    async def owe(session: AsyncSession, customer: Customer, conversation: Conversation) -> None:
        locale = customer.language if customer.language in LOCALES else services.default_locale
        text = book.answer(entry_id, locale)
        if services.staff_chat_id is None or text is None:
            return
        now = services.clock.now()
        number = await faq_authoring.record_staff_suggestion(session, entry_id, customer.id, now)
        with use_locale(services.default_locale):
            words = _("💡 FAQ {id} would answer this (not sent to the customer):").format(
                id=entry_id
            )
            button = owed.Button(_("📤 Send it"), FaqSuggestionSend(number).pack())
        owed.owe(
            session, now=now, purpose=owed.Purpose.CONVERSATION, chat_id=services.staff_chat_id,
            text=_shorten(f"{words}\n{text.answer}"), buttons=[[button]],
            customer_id=customer.id, conversation_id=conversation.id,
            to_topic=services.staff_forum, remember_as=desk.NOTICE,
        )  # fmt: skip

    return owe


async def send_suggestion(request: StaffRequest) -> Reply:
    """ "Send it": the FAQ answer offered to staff goes to the customer, signed by the
    staff member who pressed it (once, however often it is pressed)."""
    session, services, member = request.session, request.services, request.member
    pressed = FaqSuggestionSend.parse(request.arguments)
    now = services.clock.now()
    try:
        taken = (
            await faq_authoring.take_suggestion(session, pressed.suggestion_id, now)
            if pressed is not None
            else None
        )
    except AlreadySent:
        return Reply(_("Already sent."))
    if taken is None:
        raise Answer(_("This button is no longer valid."))
    customer = await session.get(Customer, taken.customer_id)
    book = await services.faq.book(session)
    locale = (
        customer.language
        if customer is not None and customer.language in LOCALES
        else services.default_locale
    )
    text = book.answer(taken.entry_id, locale) if taken.entry_id in book.entries else None
    if customer is None or customer.erased_at is not None:
        raise Answer(_("This button is no longer valid."))
    if text is None:  # switched off or removed since
        raise Answer(_("FAQ entry {id} is no longer answered.").format(id=taken.entry_id))
    if not customer.reachable or customer.chat_id is None:
        raise Answer(
            _("⚠ Not delivered: the customer blocked the bot, so no answer can reach them.")
        )
    user = request.update.effective_user
    if user is not None and not member.name:
        member.name = user.full_name
    conversation = await conversations.ensure_open(session, customer, services.sla, now)
    with use_locale(customer.language or services.default_locale):
        words_out = signed(member.name or "—", text.answer)
    pressed_message = request.message
    assert pressed_message is not None
    answers.owe_answer(
        session, services, conversation, customer, member, words_out, source=None,
        staff_message=(pressed_message.chat_id, pressed_message.message_id), note=text.answer,
    )  # fmt: skip
    query = request.update.callback_query
    assert query is not None
    name = desk.customer_name(customer)
    return Reply(
        _("Sending FAQ {id} to {name}.").format(id=taken.entry_id, name=name),
        after=_settled(query, None),
    )


def faq_staff_buttons() -> list[BaseHandler]:
    """The draft's buttons (admins) and "Send it" (any staff)."""
    return [
        staff_button(FaqDraftChoice, draft_button, least=StaffRole.ADMIN, refusal=ADMINS_ONLY),
        staff_button(FaqSuggestionSend, send_suggestion),
    ]
