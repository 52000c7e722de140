"""Staff /help, the staff command menus and each staff member's language, end to end.

The staff group speaks the company's default locale (zh_CN in tests) whoever reads it;
a staff member's private chat speaks their language: the one chosen with /mylanguage,
else their Telegram app's. Staff commands are in staff chats' menus only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import BotCommandScopeAllPrivateChats, BotCommandScopeChat, BotCommandScopeChatMember

from bot.sandbox.client import SandboxClient
from care import complaints
from care import staff as staff_members
from care.clock import ManualClock
from care.models import Complaint
from care.models import StaffMember as StaffRecord
from handlers import staff_menu
from handlers.i18n import use_locale
from tests.conftest import CareTeam
from tests.helpers import (
    Customer,
    RunningBot,
    StaffMember,
    en,
    filed_complaint,
    text_of,
    wait_until,
    zh,
)

STAFF_ONLY = {"queue", "complaint", "c", "canned", "staff", "mylanguage", "campaign"}


def help_in(locale: str, role: str) -> str:
    with use_locale(locale):
        return staff_menu.help_text(role)


async def menu(
    bot: RunningBot,
    chat_id: int | None = None,
    language_code: str | None = None,
    user_id: int | None = None,
) -> list[tuple[str, str]]:
    """What Telegram shows as the menu of a chat (getMyCommands), as (command, text);
    ``user_id``: that member's own menu in the chat."""
    assert bot.built is not None
    scope: BotCommandScopeChat | BotCommandScopeChatMember | BotCommandScopeAllPrivateChats
    if chat_id and user_id:
        scope = BotCommandScopeChatMember(chat_id, user_id)
    elif chat_id:
        scope = BotCommandScopeChat(chat_id)
    else:
        scope = BotCommandScopeAllPrivateChats()
    commands = await bot.built.application.bot.get_my_commands(
        scope=scope, language_code=language_code
    )
    return [(c.command, c.description) for c in commands]


def names(shown: list[tuple[str, str]]) -> set[str]:
    return {name for name, _description in shown}


async def menu_becomes(
    bot: RunningBot,
    chat_id: int,
    language_code: str | None,
    condition: Callable[[list[tuple[str, str]]], bool],
    user_id: int | None = None,
) -> None:
    """Wait until the chat's menu satisfies ``condition`` (set after the bot's answer)."""

    async def shown() -> bool:
        return condition(await menu(bot, chat_id, language_code, user_id))

    await wait_until(shown)


async def record_of(
    sessionmaker: async_sessionmaker[AsyncSession], user: dict[str, Any]
) -> StaffRecord:
    async with sessionmaker() as session:
        member = await session.scalar(
            select(StaffRecord).where(StaffRecord.telegram_user_id == user["id"])
        )
        assert member is not None
        return member


async def test_help_lists_the_commands_the_reader_may_use_in_their_language(
    complaint_bot: RunningBot,
    client: SandboxClient,
    agent: StaffMember,
    supervisor: StaffMember,
    admin: StaffMember,
) -> None:
    in_group = await agent.command("/help")
    assert in_group == help_in("zh_CN", "agent")
    assert in_group.splitlines()[0] == zh("Staff commands you can use:")
    assert (
        "/queue — " + zh("Open complaints and conversations, the nearest deadline first")
        in in_group
    )
    assert "/campaign" not in in_group and "/followups" not in in_group
    # The group speaks the company's language, also to Ada, who reads English.
    assert await admin.command("/help") == help_in("zh_CN", "admin")
    # Her private chat speaks hers, with everything an admin may do.
    in_private = await admin.command_in_private("/help")
    assert in_private == help_in("en", "admin")
    assert "/campaign — " in in_private and "/followups — " in in_private
    assert (
        "/canned — " + en("Canned answers: /canned list · add <name> <language> text · remove")
        in in_private
    )
    supervising = await supervisor.command_in_private("/help")
    assert "/followups — " in supervising and "/campaign" not in supervising

    # A customer gets the customer's /help.
    customer = Customer(client, await client.create_user("Emma", language_code="en"))
    answer = await customer.command("/help")
    assert answer.splitlines()[0] == en("Here is what I can do:")
    assert "/queue" not in answer


async def test_someone_no_longer_staff_is_refused_help_in_the_staff_group(
    complaint_bot: RunningBot, supervisor: StaffMember, admin: StaffMember, care_team: CareTeam
) -> None:
    assert await supervisor.command("/help") == help_in("zh_CN", "supervisor")
    await admin.command("/staff remove @sam_sup")

    assert await supervisor.command("/help") == zh("Only care staff can do this.")
    # In his private chat he is a customer like any other.
    assert (await supervisor.command_in_private("/help")).splitlines()[0] == en(
        "Here is what I can do:"
    )


async def test_mylanguage_changes_the_private_chat_not_the_group(
    complaint_bot: RunningBot,
    agent: StaffMember,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    # 王丽's Telegram speaks Chinese; she reads carebot in English from now on.
    assert await agent.command_in_private("/mylanguage en") == en(
        "I will speak {language} to you."
    ).format(language="English")
    assert (await record_of(sessionmaker, agent.user)).language == "en"
    assert await agent.command_in_private("/help") == help_in("en", "agent")
    assert await agent.command_in_private("/queue") == en("Nothing in the queue.")
    assert await agent.command("/help") == help_in("zh_CN", "agent"), "the group: the default"
    # Her private chat's menu follows (right after the answer), one list whatever her
    # app's language.
    english = [(c.command, c.description) for c in staff_menu.menu("agent", "en")]
    await menu_becomes(complaint_bot, agent.id, None, lambda shown: shown == english)
    assert await menu(complaint_bot, agent.id, "zh") == []

    bad = await agent.command_in_private("/mylanguage fr")
    assert bad.startswith(en("Your language: {language}.").format(language="English"))
    assert await agent.command_in_private("/mylanguage auto") == zh(
        "I will speak your Telegram app's language to you."
    )
    assert (await record_of(sessionmaker, agent.user)).language is None
    assert await agent.command_in_private("/queue") == zh("Nothing in the queue.")


async def test_staff_commands_are_in_staff_menus_only(
    complaint_bot: RunningBot,
    client: SandboxClient,
    admin: StaffMember,
    care_team: CareTeam,
) -> None:
    group_zh = await menu(complaint_bot, care_team.group_id, "zh")
    group_default = await menu(complaint_bot, care_team.group_id)
    assert group_default == group_zh
    assert (
        "queue",
        zh("Open complaints and conversations, the nearest deadline first"),
    ) in group_zh
    assert "campaign" not in {name for name, _ in group_zh}, "the group's: every agent's"
    group_en = await menu(complaint_bot, care_team.group_id, "en")
    assert (
        "queue",
        en("Open complaints and conversations, the nearest deadline first"),
    ) in group_en

    admin_menu = {name for name, _ in await menu(complaint_bot, admin.id, "en")}
    agent_menu = {name for name, _ in await menu(complaint_bot, care_team.agent["id"], "en")}
    assert {"campaign", "followups", "canned", "help"} <= admin_menu
    assert "canned" in agent_menu and "campaign" not in agent_menu

    # In the staff group each member has a menu of their own: their role's commands.
    group = care_team.group_id
    admin_in_group = await menu(complaint_bot, group, None, admin.id)
    assert {"campaign", "followups", "canned"} <= names(admin_in_group)
    # Ada reads English: her menu there speaks it, while the group's speaks Chinese.
    assert (
        "queue",
        en("Open complaints and conversations, the nearest deadline first"),
    ) in await menu(complaint_bot, group, "en", admin.id)
    agent_in_group = names(await menu(complaint_bot, group, "zh", care_team.agent["id"]))
    assert "queue" in agent_in_group and "campaign" not in agent_in_group

    for language in ("zh", "en", None):
        customers = {name for name, _ in await menu(complaint_bot, None, language)}
        assert customers and not customers & STAFF_ONLY, language

    # Someone made staff gets the menu right after the answer; removed, the customer's
    # shows again.
    lin = await client.create_user("Lin", username="lin_new", language_code="en")
    await admin.command(f"/staff add {lin['id']} agent")
    await menu_becomes(complaint_bot, lin["id"], "en", lambda shown: "queue" in names(shown))
    assert "campaign" not in names(await menu(complaint_bot, lin["id"], "zh"))
    await admin.command(f"/staff add {lin['id']} admin")
    await menu_becomes(complaint_bot, lin["id"], "zh", lambda shown: "campaign" in names(shown))
    await admin.command("/staff remove " + str(lin["id"]))
    await menu_becomes(complaint_bot, lin["id"], None, lambda shown: shown == [])
    assert await menu(complaint_bot, lin["id"], "en") == []


async def test_names_stay_as_telegram_shows_them(
    complaint_bot: RunningBot,
    client: SandboxClient,
    agent: StaffMember,
    supervisor: StaffMember,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await client.update_user(supervisor.id, first_name="Samuel", last_name="Lee", username="samlee")
    await supervisor.command("/queue")  # any update of his carries his names

    record = await record_of(sessionmaker, supervisor.user)
    assert (record.telegram_name, record.username) == ("Samuel Lee", "samlee")
    listing = await agent.command("/staff list")
    # The name an admin gave him stays first; the @username is Telegram's current one.
    assert "Sam @samlee" in listing and "@sam_sup" not in listing


DETAILS = "Customer: {name} · Priority: {priority} · Assignee: {assignee}"


def starts_in(locale_words: str) -> str:
    """The words of an alert's details line before the customer's name, in a locale."""
    return locale_words.split("{name}")[0]


async def test_alerts_in_a_private_chat_speak_its_readers_language(
    complaint_bot: RunningBot,
    client: SandboxClient,
    agent: StaffMember,
    supervisor: StaffMember,
    care_team: CareTeam,
    clock: ManualClock,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await agent.command_in_private("/mylanguage en")  # 王丽's app speaks Chinese
    await supervisor.command_in_private("/help")  # Sam's app speaks English: noted
    assert (await record_of(sessionmaker, supervisor.user)).telegram_locale == "en"
    complaint_id, _customer = await filed_complaint(
        complaint_bot, client, language="zh_CN", text="快递三天还没到"
    )
    async with sessionmaker.begin() as session:
        member = await staff_members.find_staff(session, agent.id)
        boss = await staff_members.find_staff(session, supervisor.id)
        assert member is not None and boss is not None
        complaint = await session.get_one(Complaint, complaint_id)
        number = complaint.number or ""
        await complaints.assign(session, complaint, member, boss, clock.now())

    def alert_about(mark: str) -> Callable[[dict[str, Any]], bool]:
        return lambda m: mark in text_of(m) and number in text_of(m)

    clock.advance(timedelta(minutes=91))  # the warning: the assignee, in private
    warning = await client.wait_for_bot_message(agent.id, alert_about("⏰"), timeout=10)
    assert text_of(warning).splitlines()[1].startswith(starts_in(en(DETAILS)))

    clock.advance(timedelta(minutes=30))  # the breach: the group and supervisors
    in_group = await client.wait_for_bot_message(care_team.group_id, alert_about("🚨"), timeout=10)
    assert text_of(in_group).splitlines()[1].startswith(starts_in(zh(DETAILS)))
    to_sam = await client.wait_for_bot_message(supervisor.id, alert_about("🚨"), timeout=10)
    assert text_of(to_sam).splitlines()[1].startswith(starts_in(en(DETAILS)))
