"""The real python-telegram-bot Application, long polling the sandbox over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sandbox import Sandbox
from bot.sandbox.client import SandboxClient, find_button
from bot.sandbox.media import make_png
from tests.sandbox.conftest import TOKEN

Context = ContextTypes.DEFAULT_TYPE


async def start(update: Update, context: Context) -> None:
    """Greet, offering a reply keyboard that asks for the phone number."""
    assert update.message is not None
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("Share my number", request_contact=True)], ["Later"]],
        one_time_keyboard=True,
    )
    await update.message.reply_text(
        f"start {' '.join(context.args or [])}".strip(), reply_markup=keyboard
    )


async def echo(update: Update, context: Context) -> None:
    """Echo text with a Like button, replying to the message."""
    assert update.message is not None and update.effective_user is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("👍 Like", callback_data="like:1")]])
    await update.message.reply_text(
        f"{update.effective_user.first_name}: {update.message.text}",
        reply_markup=markup,
        do_quote=True,
    )


async def later(update: Update, context: Context) -> None:
    """Drop the reply keyboard."""
    assert update.message is not None
    await update.message.reply_text("OK", reply_markup=ReplyKeyboardRemove())


async def liked(update: Update, context: Context) -> None:
    """Answer the press and edit the message it came from."""
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    await query.answer(f"thanks for {query.data}")
    await query.edit_message_text(f"liked ({query.message.text})")


async def photo(update: Update, context: Context) -> None:
    """Download the photo and tell its size; send it back by file_id."""
    assert update.message is not None
    file = await update.message.photo[-1].get_file()
    data = await file.download_as_bytearray()
    await update.message.reply_text(f"photo {len(data)} bytes")
    await update.message.reply_photo(update.message.photo[-1].file_id, caption="again")


async def contact(update: Update, context: Context) -> None:
    """Say whose number was shared."""
    assert update.message is not None and update.message.contact is not None
    assert update.effective_user is not None
    own = update.message.contact.user_id == update.effective_user.id
    await update.message.reply_text(f"phone {update.message.contact.phone_number} own={own}")


async def sticker(update: Update, context: Context) -> None:
    """Name the sticker's emoji."""
    assert update.message is not None and update.message.sticker is not None
    await update.message.reply_text(f"sticker {update.message.sticker.emoji}")


async def voice(update: Update, context: Context) -> None:
    """Send the voice note's length back as a document."""
    assert update.message is not None and update.message.voice is not None
    duration = update.message.voice.duration
    seconds = duration.total_seconds() if isinstance(duration, dt.timedelta) else duration
    await update.message.reply_document(f"duration={seconds:g}".encode(), filename="voice.txt")


async def staff_relay(update: Update, context: Context) -> None:
    """Copy and forward a customer's message to the staff group named in bot_data."""
    assert update.message is not None and update.effective_chat is not None
    group_id = context.bot_data["staff_group"]
    await context.bot.copy_message(group_id, update.effective_chat.id, update.message.message_id)
    await update.message.forward(group_id)


@pytest.fixture
async def app(sandbox: Sandbox) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """A polling PTB application with the handlers above."""
    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(sandbox.bot_base_url)
        .base_file_url(sandbox.file_base_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("relay", staff_relay))
    application.add_handler(MessageHandler(filters.Regex("^Later$"), later))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(MessageHandler(filters.PHOTO, photo))
    application.add_handler(MessageHandler(filters.CONTACT, contact))
    application.add_handler(MessageHandler(filters.Sticker.ALL, sticker))
    application.add_handler(MessageHandler(filters.VOICE, voice))
    application.add_handler(CallbackQueryHandler(liked))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


async def test_text_echo_with_chinese_and_reply(
    app: Application[Any, Any, Any, Any, Any, Any],
    client: SandboxClient,
    customer: dict[str, Any],
) -> None:
    chat = customer["id"]
    sent = await client.send_text(chat, chat, "你好，我想投诉")
    reply = await client.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    assert reply["text"] == "小明: 你好，我想投诉"
    assert reply["reply_to_message_id"] == sent["message_id"]
    assert find_button(reply, "Like") == "like:1"


async def test_command_with_bot_name_and_args(
    app: Application[Any, Any, Any, Any, Any, Any],
    client: SandboxClient,
    customer: dict[str, Any],
) -> None:
    chat = customer["id"]
    sent = await client.send_text(chat, chat, "/start@carebot_sandbox_bot promo")
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 26}]
    reply = await client.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    assert reply["text"] == "start promo"
    assert reply["reply_keyboard"]["keyboard"][0][0] == {
        "text": "Share my number",
        "request_contact": True,
    }

    later_sent = await client.send_text(chat, chat, "Later")
    ok = await client.wait_for_bot_message(chat, after_message_id=later_sent["message_id"])
    assert ok["text"] == "OK"
    transcript = await client.transcript(chat)
    assert not any("reply_keyboard" in m for m in transcript), "ReplyKeyboardRemove hides it"


async def test_button_press_answers_and_edits_in_place(
    app: Application[Any, Any, Any, Any, Any, Any],
    client: SandboxClient,
    customer: dict[str, Any],
) -> None:
    chat = customer["id"]
    sent = await client.send_text(chat, chat, "hello")
    reply = await client.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    query_id = await client.press(chat, chat, reply["message_id"], find_button(reply, "Like"))

    answer = await client.wait_for_callback_answer(query_id)
    assert answer == {"answered": True, "text": "thanks for like:1", "show_alert": False}
    edited = await client.wait_for_bot_message(
        chat, predicate=lambda m: m["message_id"] == reply["message_id"] and "edit_date" in m
    )
    assert edited["text"] == "liked (小明: hello)"
    assert "reply_markup" not in edited, "an edit without reply_markup drops the keyboard"
    assert len(await client.bot_messages(chat)) == 1


async def test_photo_round_trip(
    app: Application[Any, Any, Any, Any, Any, Any],
    client: SandboxClient,
    customer: dict[str, Any],
) -> None:
    chat = customer["id"]
    picture = make_png(40, 30)
    sent = await client.send_photo(chat, chat, picture, caption="收据")
    assert sent["photo"][-1]["width"] == 40 and sent["photo"][-1]["height"] == 30
    size, again = await client.wait_for_bot_messages(chat, 2, after_message_id=sent["message_id"])
    assert size["text"] == f"photo {len(picture)} bytes"
    assert again["caption"] == "again"
    assert again["photo"][-1]["file_id"] == sent["photo"][-1]["file_id"]


async def test_contact_sticker_and_voice(
    app: Application[Any, Any, Any, Any, Any, Any],
    client: SandboxClient,
    customer: dict[str, Any],
    sandbox: Sandbox,
) -> None:
    chat = customer["id"]
    sent = await client.share_phone_number(chat, chat, "+8613800138000")
    reply = await client.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    assert reply["text"] == "phone +8613800138000 own=True"

    sent = await client.send_contact(chat, chat, "+8613900000000", first_name="妈妈")
    reply = await client.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    assert reply["text"] == "phone +8613900000000 own=False"

    sent = await client.send_sticker(chat, chat, emoji="🐼")
    reply = await client.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    assert reply["text"] == "sticker 🐼"

    sent = await client.send_voice(chat, chat, duration=3)
    reply = await client.wait_for_bot_message(chat, after_message_id=sent["message_id"])
    assert reply["document"]["file_name"] == "voice.txt"
    stored = sandbox.world.files[reply["document"]["file_id"]]
    assert stored.data == b"duration=3"


async def test_copy_and_forward_to_a_group(
    app: Application[Any, Any, Any, Any, Any, Any],
    client: SandboxClient,
    customer: dict[str, Any],
) -> None:
    staff = await client.create_user("Staff Agent", language_code="en")
    group = await client.create_group("Care staff", [staff["id"]])
    assert group["type"] == "supergroup" and group["id"] < 0
    app.bot_data["staff_group"] = group["id"]

    chat = customer["id"]
    await client.send_text(chat, chat, "/relay 我的订单没到")
    copy, forward = await client.wait_for_bot_messages(group["id"], 2)
    assert copy["text"] == forward["text"] == "/relay 我的订单没到"
    assert "forward_origin" not in copy
    assert forward["forward_origin"]["sender_user"]["id"] == chat
