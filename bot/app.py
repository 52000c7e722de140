"""All wiring in one place: ``build_application(settings)``."""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import BotCommand, BotCommandScopeAllPrivateChats, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    PersistenceInput,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot import jobs
from bot.contact_log import ContactLog
from bot.customer_cache import CustomerCache
from bot.db import Doorbell, make_engine, make_sessionmaker
from bot.delivery import CareBot
from bot.inbox import AlreadyInInbox, Inbox
from bot.outbox_jobs import worker_id
from bot.owed_jobs import OwedSender
from bot.persistence import SqlPersistence, refresh_conversations
from bot.settings import Settings
from bot.updates import PerChatUpdateProcessor
from care import staff as staff_members
from care.clock import Clock, SystemClock
from care.faq import FaqShelf
from care.locales import LOCALES
from care.templates import TemplateBook
from handlers import (
    business,
    canned,
    common,
    complaints,
    conversation_desk,
    conversation_staff,
    conversations,
    customers,
    faq,
    faq_staff,
    followups,
    i18n,
    occasions,
    onboarding,
    profile,
    reports,
    staff,
    staff_edits,
    staff_menu,
    staff_self,
    survey,
    texts,
)
from handlers.campaigns.commands import campaign_handlers
from handlers.context import SERVICES_KEY, CareContext, Services

log = logging.getLogger(__name__)

# Our dialogues are per chat and user on purpose (buttons of a step belong to the
# customer, not to one message), which PTB warns about at construction.
warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)

CONTACT_LOG_KEY = "carebot.contact_log"


@dataclass
class Built:
    """The application and what it owns, so callers can close them."""

    application: Application
    engine: AsyncEngine
    services: Services
    inbox: Inbox


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
    templates: TemplateBook | None = None,
) -> Built:
    """Make the engine, the bot, the application and register every handler.

    Raises:
        TemplateError: The templates file (``CAREBOT_TEMPLATES_FILE``) is broken; the
            message names it. ``templates`` given: used as they are.
    """
    token = settings.token_value
    if token is None:
        raise ValueError("build_application needs a token (the playground makes one)")
    clock = clock or SystemClock()
    engine = engine or make_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    # Every commit through these sessions tells the cache which customers it changed.
    customer_cache = CustomerCache(clock)
    # Every commit that owes a message wakes the sender of owed messages.
    doorbell = Doorbell()
    sessionmaker = make_sessionmaker(engine, watcher=customer_cache, doorbell=doorbell)
    contact_log = ContactLog(sessionmaker, settings.segment_rules())
    i18n.load_all()
    services = Services(
        sessionmaker=sessionmaker,
        clock=clock,
        contact_log=contact_log,
        customer_cache=customer_cache,
        default_locale=settings.default_locale,
        timezone=settings.timezone,
        company_name=settings.company_name,
        phone_region=settings.phone_region,
        staff_chat_id=settings.staff_chat_id,
        sla=settings.sla_policy(),
        triage=settings.triage(),
        complaint_categories=tuple(settings.complaint_categories),
        survey_close_after=timedelta(days=settings.survey_close_days),
        conversation_close_after=timedelta(hours=settings.conversation_close_hours),
        care=settings.engine(),
        templates=templates or TemplateBook.load(settings.templates_file, settings.default_locale),
        reports=settings.reports(),
        weekly_report=settings.weekly_report(),
        faq=FaqShelf(settings.faq_thresholds()),
        faq_quiet_after_answer=timedelta(minutes=settings.faq_quiet_minutes),
    )
    bot = CareBot(
        token,
        sessionmaker=sessionmaker,
        clock=clock,
        contact_log=contact_log,
        base_url=settings.api_base_url,
        base_file_url=settings.api_file_url,
        request=HTTPXRequest(connection_pool_size=64, read_timeout=10, write_timeout=10),
        get_updates_request=HTTPXRequest(connection_pool_size=2, read_timeout=35),
    )
    # Every update is kept in the inbox before it is acknowledged, and handed to the
    # application from there (bot/inbox.py), not from PTB's update queue.
    inbox = Inbox(
        sessionmaker,
        # Leases and backoff are the process's own time, not the domain's (which tests
        # move to Mid-Autumn night and back).
        SystemClock(),
        worker_id(),
        max_attempts=settings.inbox_max_attempts,
        retention=timedelta(hours=settings.inbox_retention_hours),
    )
    bot.keep_updates_in(inbox)
    persistence = SqlPersistence(
        sessionmaker,
        update_interval=settings.persistence_interval,
        # Only dialogue state: everything else about a customer lives in our own tables.
        store_data=PersistenceInput(
            bot_data=False, chat_data=False, user_data=False, callback_data=False
        ),
        clock=clock,
    )
    application = (
        Application.builder()
        .bot(bot)
        .context_types(ContextTypes(context=CareContext))
        .persistence(persistence)
        .concurrent_updates(PerChatUpdateProcessor(64))
        .update_queue(AlreadyInInbox())
        .build()
    )
    application.bot_data[SERVICES_KEY] = services
    # A chat this process takes over from another: its dialogue state from the database.
    inbox.refresh_chats = functools.partial(refresh_conversations, application)
    inbox.contact_log = contact_log
    application.bot_data["carebot.admins"] = tuple(settings.admins)
    application.bot_data[CONTACT_LOG_KEY] = contact_log
    register_handlers(application)
    owed_sender = OwedSender(worker_id())
    doorbell.connect(owed_sender.ring)
    jobs.schedule_jobs(
        application,
        settings.sla_check_seconds,
        settings.outbox_check_seconds,
        settings.planner_check_seconds,
        owed_sender=owed_sender,
        segment_check_seconds=settings.segment_check_seconds,
    )
    return Built(application=application, engine=engine, services=services, inbox=inbox)


def register_handlers(application: Application) -> None:
    """Register the handlers; the order is the order in which they get a chance."""
    # -3: is the sender staff? Keep their names current, speak their language. Never
    #     stops the others.
    application.add_handler(TypeHandler(Update, staff_self.know_staff), group=-3)
    # -2: what the company itself wrote in its Business chats (the owner by hand, the
    #     bot's own messages) stops here: nobody answers it.
    application.add_handler(business.screen_handler(), group=-2)
    # -1: know the customer, log the inbound contact, set the locale. Runs for every
    #     private update and never stops the others.
    application.add_handler(TypeHandler(Update, common.identify_customer), group=-1)
    # 0: staff first (their commands and replies are not customer messages); then the
    #    customer's commands that work anywhere, the dialogues, buttons and messages
    #    outside any dialogue, and the answers of last resort.
    services: Services = application.bot_data[SERVICES_KEY]
    # A staff member's next message in a FAQ draft (/faq add, /faq save) is the draft's,
    # never a customer's answer; any other message is handed on from there.
    application.add_handler(faq_staff.FaqDialogue().handler())
    # Business accounts connecting or disconnecting, deletions in their chats (business
    # messages themselves go through the same handlers as messages to the bot).
    for handler in business.business_handlers():
        application.add_handler(handler)
    # Staff /help and /mylanguage (a customer's /help is handed to the customer's).
    for handler in staff_self.staff_self_handlers(services.staff_chat_id):
        application.add_handler(handler)
    # Staff writing in a customer's topic, replying to a conversation's card or message,
    # /reply and the conversation buttons; anything else in the staff chat is handed on
    # to the complaints' staff handlers from there.
    for handler in conversation_staff.conversation_staff_handlers(services.staff_chat_id):
        application.add_handler(handler)
    # A staff member's edit of an answer: the customer keeps the first version; say so.
    for handler in staff_edits.staff_edit_handlers(services.staff_chat_id):
        application.add_handler(handler)
    for handler in staff.staff_handlers(services.staff_chat_id):
        application.add_handler(handler)
    for handler in canned.canned_handlers(services.staff_chat_id):
        application.add_handler(handler)
    for handler in faq.faq_staff_handlers(services.staff_chat_id):
        application.add_handler(handler)
    for handler in faq_staff.faq_staff_buttons():
        application.add_handler(handler)
    for handler in [
        *occasions.occasions_handlers(services.staff_chat_id),
        *campaign_handlers(services.staff_chat_id),
        *followups.followups_handlers(services.staff_chat_id),
        *reports.report_handlers(services.staff_chat_id),
        # /customer and /tag: staff find, see and tag customers.
        *customers.customer_handlers(services.staff_chat_id),
    ]:
        application.add_handler(handler)
    for handler in profile.commands_before_dialogues():
        application.add_handler(handler)
    application.add_handler(onboarding.profile_conversation())
    for handler in complaints.complaint_handlers():
        application.add_handler(handler)
    for handler in survey.survey_handlers():
        application.add_handler(handler)
    for handler in profile.handlers_after_dialogues():
        application.add_handler(handler)
    # Edits of messages staff were shown, then messages for an open complaint (the
    # others go into the customer's conversation).
    for handler in conversations.conversation_handlers():
        application.add_handler(handler)
    # A question outside any dialogue and outside an open complaint: the FAQ answers it,
    # or hands it on to the customer's conversation (handlers.faq.hand_off).
    for handler in faq.faq_handlers():
        application.add_handler(handler)
    for handler in complaints.relay_handlers():
        application.add_handler(handler)
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, common.unknown_command)
    )
    # Any other message reaches a person: into the customer's conversation.
    for handler in conversations.last_resort_handlers():
        application.add_handler(handler)
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE, common.acknowledge))
    application.add_handler(CallbackQueryHandler(common.refuse_unknown_button))
    # Last: the dialogue state this update left is written before the chat's next update
    # is handled, a moment after the reply, not at the persistence updater's next run.
    application.add_handler(TypeHandler(Update, write_dialogue_state), group=DIALOGUE_STATE_GROUP)
    application.add_error_handler(common.on_error)


# After every other group: the handlers of groups -1 and 0 have run.
DIALOGUE_STATE_GROUP = 100


async def write_dialogue_state(update: Update, context: CareContext) -> None:
    """Write the dialogue states that changed (PTB's persistence hand-over) now.

    A step's answer is in our tables when its reply goes out; its new dialogue state
    would otherwise wait up to ``CAREBOT_PERSISTENCE_INTERVAL`` in memory, and a process
    killed meanwhile would ask the step again (or worse, take the next answer for the
    previous step's). Updates handled at once share the write (a group commit).
    """
    await context.application.update_persistence()


async def prepare(application: Application) -> None:
    """Start-up work once the bot is initialised: the contact log's connection, admins as
    staff, the FAQ index, commands per language."""
    services: Services = application.bot_data[SERVICES_KEY]
    contact_log: ContactLog = application.bot_data[CONTACT_LOG_KEY]
    await contact_log.open()
    async with services.sessionmaker.begin() as session:
        await staff_members.ensure_admins(
            session, application.bot_data["carebot.admins"], services.clock.now()
        )
        # The FAQ's index, built now rather than on the first customer's question.
        await services.faq.book(session)
    await register_commands(application, services.default_locale)
    services.staff_forum = await conversation_desk.staff_chat_is_forum(application.bot, services)
    await staff_menu.set_staff_menus(application.bot, services)


async def finish(application: Application) -> None:
    """Wind-down once the application has stopped: commit what the contact log holds."""
    contact_log: ContactLog = application.bot_data[CONTACT_LOG_KEY]
    await contact_log.close()


async def register_commands(application: Application, default_locale: str) -> None:
    """Tell Telegram the customer's commands, in each language (and the default for the
    rest), for private chats: staff chats get their own menus (``handlers.staff_menu``),
    and groups none (the customer's commands work in private chats only)."""
    scope = BotCommandScopeAllPrivateChats()
    for locale in LOCALES:
        commands = [
            BotCommand(name, i18n.gettext_in(locale, description))
            for name, description in texts.COMMANDS
        ]
        await application.bot.set_my_commands(
            commands, scope=scope, language_code=locale.split("_")[0]
        )
        if locale == default_locale:
            await application.bot.set_my_commands(commands, scope=scope)
