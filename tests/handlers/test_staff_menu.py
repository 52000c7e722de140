"""The staff command catalogue (handlers.staff_menu) against what is registered: every
command it lists is answered, no customer command is listed, and what each role sees."""

from __future__ import annotations

from pydantic import SecretStr
from telegram.ext import CommandHandler

from bot.app import build_application
from bot.settings import Settings
from handlers import staff_menu, texts
from handlers.i18n import gettext_in


def registered_commands() -> set[str]:
    settings = Settings(
        token=SecretStr("7000000001:test-token-abcdef"),
        database_url="sqlite+aiosqlite:///:memory:",
        staff_chat_id=-100123,
    )
    application = build_application(settings).application
    return {
        command
        for handlers in application.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for command in handler.commands
    }


def test_every_listed_staff_command_is_answered_and_none_is_a_customers() -> None:
    listed = {command.name for command in staff_menu.STAFF_COMMANDS}
    assert listed <= registered_commands()
    customers = {name for name, _description in texts.COMMANDS}
    assert listed & customers == {"help"}, "only /help is both (staff get theirs)"


def test_each_role_sees_its_own_commands() -> None:
    agent, supervisor, admin = (
        {c.name for c in staff_menu.commands_for(role)} for role in ("agent", "supervisor", "admin")
    )
    assert agent < supervisor < admin
    assert "followups" in supervisor - agent
    assert {"campaign", "campaigns"} <= admin - supervisor
    assert staff_menu.commands_for("intern") == []


def test_menus_fit_telegram_and_are_translated() -> None:
    for role in ("agent", "supervisor", "admin"):
        for locale in ("zh_CN", "en"):
            for command in staff_menu.menu(role, locale):
                assert 1 <= len(command.description) <= 256
        chinese = staff_menu.menu(role, "zh_CN")
        english = staff_menu.menu(role, "en")
        assert [c.command for c in chinese] == [c.command for c in english]
        assert all(
            zh.description == gettext_in("zh_CN", en.description) != en.description
            for zh, en in zip(chinese, english, strict=True)
        )
