"""SqlPersistence: round-trips on the test database, and a persistent conversation that
survives restarts of a real python-telegram-bot Application.

The Application talks to ``FakeBotApi``, a ``BaseRequest`` that answers from canned JSON
and remembers what the bot sent, so no test touches the network.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram import Update
from telegram.ext import (
    Application,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, RequestData

from bot import persistence as persistence_module
from bot.group_commit import CommitFailed
from bot.persistence import SqlPersistence
from care.clock import ManualClock
from care.models import PersistenceEntry

TOKEN = "123:abc"
BOT_USER = {"id": 123, "is_bot": True, "first_name": "Care", "username": "carebot"}
LI_LEI = 4242  # a customer; a private chat has the customer's id
HAN_MEIMEI = 5151

Rows = dict[tuple[str, str], Any]


async def stored_rows(sessionmaker: async_sessionmaker[AsyncSession]) -> Rows:
    """Every ptb_persistence row as {(kind, key): data}."""
    async with sessionmaker() as session:
        entries = (await session.scalars(select(PersistenceEntry))).all()
    return {(entry.kind, entry.key): entry.data for entry in entries}


async def eventually(condition: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Wait until ``condition()`` holds, failing after ``within`` seconds."""
    try:
        async with asyncio.timeout(within):
            while True:  # polling the database: there is no event to wait on
                if await condition():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        pytest.fail(f"condition not met within {within} s")


@pytest.fixture
def persistence(
    sessionmaker: async_sessionmaker[AsyncSession], clock: ManualClock
) -> SqlPersistence:
    return SqlPersistence(sessionmaker, clock=clock)


# --- round-trips -----------------------------------------------------------------------


async def test_user_data_round_trips_with_chinese_text(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    li_lei = {"name": "李雷", "city": "上海", "orders": [1, 2.5, True, None], "note": {"a": "中秋"}}
    await persistence.update_user_data(LI_LEI, li_lei)
    await persistence.update_user_data(HAN_MEIMEI, {"name": "韩梅梅"})

    restarted = SqlPersistence(sessionmaker)
    assert await restarted.get_user_data() == {LI_LEI: li_lei, HAN_MEIMEI: {"name": "韩梅梅"}}


async def test_chat_and_bot_data_round_trip(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await persistence.update_chat_data(-100123, {"title": "客服群"})
    await persistence.update_chat_data(LI_LEI, {"language": "zh-hans"})
    await persistence.update_bot_data({"campaigns": ["mid-autumn"]})

    restarted = SqlPersistence(sessionmaker)
    assert await restarted.get_chat_data() == {
        -100123: {"title": "客服群"},
        LI_LEI: {"language": "zh-hans"},
    }
    assert await restarted.get_bot_data() == {"campaigns": ["mid-autumn"]}


async def test_nothing_stored_loads_as_empty(persistence: SqlPersistence) -> None:
    assert await persistence.get_user_data() == {}
    assert await persistence.get_chat_data() == {}
    assert await persistence.get_bot_data() == {}
    assert await persistence.get_callback_data() is None
    assert await persistence.get_conversations("test_conv") == {}


async def test_callback_data_round_trips_in_ptb_shape(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    keyboards = [("kb-1", 1758708000.5, {"btn-1": {"complaint": 7}, "btn-2": "关闭"})]
    await persistence.update_callback_data((keyboards, {"query-9": "kb-1"}))

    restarted = SqlPersistence(sessionmaker)
    assert await restarted.get_callback_data() == (keyboards, {"query-9": "kb-1"})


async def test_conversations_round_trip_per_handler(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), 1)
    await persistence.update_conversation("test_conv", (-100123, HAN_MEIMEI), "ASKING_CITY")
    await persistence.update_conversation("complaint", (LI_LEI,), 0)
    await persistence.update_conversation("per_message", (LI_LEI, LI_LEI, "inline-1"), 2)

    restarted = SqlPersistence(sessionmaker)
    assert await restarted.get_conversations("test_conv") == {
        (LI_LEI, LI_LEI): 1,
        (-100123, HAN_MEIMEI): "ASKING_CITY",
    }
    assert await restarted.get_conversations("complaint") == {(LI_LEI,): 0}
    assert await restarted.get_conversations("per_message") == {(LI_LEI, LI_LEI, "inline-1"): 2}
    assert await restarted.get_conversations("nobody") == {}


async def test_conversation_key_is_stored_as_json_list(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), 1)

    assert await stored_rows(sessionmaker) == {("conversation", '["test_conv",[4242,4242]]'): 1}


async def test_ended_conversation_leaves_no_row(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), 1)
    await persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), None)

    assert await stored_rows(sessionmaker) == {}
    assert await SqlPersistence(sessionmaker).get_conversations("test_conv") == {}


async def test_loaded_conversations_follow_later_updates(persistence: SqlPersistence) -> None:
    await persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), 1)
    assert await persistence.get_conversations("test_conv") == {(LI_LEI, LI_LEI): 1}

    await persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), 2)
    await persistence.update_conversation("test_conv", (HAN_MEIMEI, HAN_MEIMEI), 1)
    await persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), None)

    assert await persistence.get_conversations("test_conv") == {(HAN_MEIMEI, HAN_MEIMEI): 1}


async def test_empty_data_leaves_no_row(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await persistence.update_user_data(LI_LEI, {"name": "李雷"})
    await persistence.update_user_data(LI_LEI, {})
    await persistence.update_user_data(HAN_MEIMEI, {})
    await persistence.update_chat_data(LI_LEI, {})
    await persistence.update_bot_data({})

    assert await stored_rows(sessionmaker) == {}


async def test_drop_user_and_chat_data(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await persistence.update_user_data(LI_LEI, {"name": "李雷"})
    await persistence.update_user_data(HAN_MEIMEI, {"name": "韩梅梅"})
    await persistence.update_chat_data(-100123, {"title": "客服群"})

    await persistence.drop_user_data(LI_LEI)
    await persistence.drop_chat_data(-100123)
    await persistence.drop_chat_data(-999)  # never stored

    assert await stored_rows(sessionmaker) == {("user_data", str(HAN_MEIMEI)): {"name": "韩梅梅"}}


async def test_updated_at_comes_from_the_clock_and_only_changes_with_the_data(
    persistence: SqlPersistence,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    written = clock.now()
    await persistence.update_bot_data({"campaigns": ["mid-autumn"]})
    clock.advance(timedelta(minutes=5))
    # PTB hands bot_data over on every run of its updater, changed or not.
    await persistence.update_bot_data({"campaigns": ["mid-autumn"]})

    async def updated_at() -> datetime | None:
        async with sessionmaker() as session:
            return await session.scalar(select(PersistenceEntry.updated_at))

    assert await updated_at() == written
    await persistence.update_bot_data({"campaigns": ["mid-autumn", "spring-festival"]})
    rewritten = await updated_at()
    assert rewritten == written + timedelta(minutes=5)
    assert rewritten is not None and rewritten.tzinfo == UTC


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"birthday": datetime(1990, 5, 20, tzinfo=UTC)}, "user_data[4242]['birthday']"),
        ({"cart": [{"sku": ("A", 1)}]}, "user_data[4242]['cart'][0]['sku']"),
        ({"by_id": {7: "x"}}, "user_data[4242]['by_id']"),
        ({"score": float("nan")}, "user_data[4242]['score']"),
    ],
)
async def test_value_json_cannot_keep_is_logged_and_skipped(
    persistence: SqlPersistence,
    sessionmaker: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
    data: dict[str, Any],
    where: str,
) -> None:
    await persistence.update_user_data(LI_LEI, {"name": "李雷"})

    with caplog.at_level(logging.ERROR, logger="bot.persistence"):
        await persistence.update_user_data(LI_LEI, {"name": "李雷", **data})
        await persistence.update_user_data(LI_LEI, {"name": "李雷", **data})  # said once
        await persistence.update_user_data(HAN_MEIMEI, {"name": "韩梅梅"})

    [record] = caplog.records
    assert record.getMessage().startswith(f"Not persisting user_data[4242]: {where} ")
    assert await stored_rows(sessionmaker) == {
        ("user_data", str(LI_LEI)): {"name": "李雷"},
        ("user_data", str(HAN_MEIMEI)): {"name": "韩梅梅"},
    }


async def test_unstorable_conversation_state_is_skipped(
    persistence: SqlPersistence,
    sessionmaker: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.persistence"):
        await persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), object())

    assert "conversations['test_conv'][(4242, 4242)] is of type object" in caplog.text
    assert await stored_rows(sessionmaker) == {}
    assert await persistence.get_conversations("test_conv") == {}


async def test_concurrent_hand_overs_all_land(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """PTB's updater gathers one coroutine per changed item; SQLite must not lock up."""
    customers = range(1000, 1100)
    await asyncio.gather(
        *(persistence.update_user_data(user, {"name": f"顾客{user}"}) for user in customers),
        *(persistence.update_conversation("test_conv", (user, user), 1) for user in customers),
        persistence.update_bot_data({"campaigns": ["mid-autumn"]}),
    )
    await asyncio.gather(
        *(persistence.update_conversation("test_conv", (user, user), 2) for user in customers)
    )

    restarted = SqlPersistence(sessionmaker)
    assert await restarted.get_user_data() == {user: {"name": f"顾客{user}"} for user in customers}
    assert await restarted.get_conversations("test_conv") == {(user, user): 2 for user in customers}


async def test_one_hand_over_is_one_transaction(
    persistence: SqlPersistence,
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
) -> None:
    """PTB's updater gathers one call per changed item: they share one commit, and each
    call returns only once that commit is done."""
    await persistence.update_conversation("test_conv", (HAN_MEIMEI, HAN_MEIMEI), 1)
    customers = range(1000, 1100)
    commits = 0

    def count_commit(_connection: Any) -> None:
        nonlocal commits
        commits += 1

    async def hand_over(user: int) -> bool:
        await persistence.update_conversation("test_conv", (user, user), 1)
        return conversation_row(user) in await stored_rows(sessionmaker)

    event.listen(engine.sync_engine, "commit", count_commit)
    try:
        stored = await asyncio.gather(
            *(hand_over(user) for user in customers),
            persistence.update_user_data(LI_LEI, {"name": "李雷"}),
            persistence.update_conversation("test_conv", (HAN_MEIMEI, HAN_MEIMEI), None),
        )
    finally:
        event.remove(engine.sync_engine, "commit", count_commit)

    assert commits == 1
    assert all(stored[: len(customers)]), "each call came back with its row committed"
    rows = await stored_rows(sessionmaker)
    assert len(rows) == len(customers) + 1 and conversation_row(HAN_MEIMEI) not in rows


async def test_the_last_change_of_a_row_in_a_hand_over_counts(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await asyncio.gather(
        persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), 1),
        persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), 2),
        persistence.update_conversation("test_conv", (HAN_MEIMEI, HAN_MEIMEI), 1),
        persistence.update_conversation("test_conv", (HAN_MEIMEI, HAN_MEIMEI), None),
    )
    assert await stored_rows(sessionmaker) == {conversation_row(LI_LEI): 2}
    assert await SqlPersistence(sessionmaker).get_conversations("test_conv") == {
        (LI_LEI, LI_LEI): 2
    }


async def test_a_failed_hand_over_raises_in_every_call_and_the_next_one_lands(
    persistence: SqlPersistence,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_args: Any) -> None:
        raise OperationalError("INSERT INTO ptb_persistence", {}, Exception("disk I/O error"))

    monkeypatch.setattr(persistence_module, "_upsert", refuse)
    results = await asyncio.gather(
        persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), 1),
        persistence.update_user_data(LI_LEI, {"name": "李雷"}),
        return_exceptions=True,
    )
    assert all(isinstance(result, CommitFailed) for result in results)
    monkeypatch.undo()

    # Nothing was remembered as stored: the same hand-over is written again.
    await asyncio.gather(
        persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), 1),
        persistence.update_user_data(LI_LEI, {"name": "李雷"}),
    )
    assert await stored_rows(sessionmaker) == {
        conversation_row(LI_LEI): 1,
        ("user_data", str(LI_LEI)): {"name": "李雷"},
    }


async def test_refresh_and_flush_change_nothing(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await persistence.update_user_data(LI_LEI, {"name": "李雷"})
    user_data = {"name": "李雷"}

    await persistence.refresh_user_data(LI_LEI, user_data)
    await persistence.refresh_chat_data(LI_LEI, {})
    await persistence.refresh_bot_data({})
    await persistence.flush()
    await persistence.flush()

    assert user_data == {"name": "李雷"}
    assert await stored_rows(sessionmaker) == {("user_data", str(LI_LEI)): {"name": "李雷"}}


async def test_forget_user_erases_their_data_and_conversations_only(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await persistence.update_user_data(LI_LEI, {"name": "李雷"})
    await persistence.update_user_data(HAN_MEIMEI, {"name": "韩梅梅"})
    await persistence.update_chat_data(LI_LEI, {"language": "zh-hans"})
    await persistence.update_chat_data(-100123, {"title": "客服群"})
    await persistence.update_conversation("test_conv", (LI_LEI, LI_LEI), 1)
    await persistence.update_conversation("test_conv", (-100123, LI_LEI), 2)
    await persistence.update_conversation("complaint", (LI_LEI,), 0)
    await persistence.update_conversation("test_conv", (-100123, HAN_MEIMEI), 1)
    await persistence.update_conversation("test_conv", (HAN_MEIMEI, HAN_MEIMEI), 1)
    assert await persistence.get_conversations("test_conv")  # cached from here on

    await persistence.forget_user(LI_LEI)

    assert await stored_rows(sessionmaker) == {
        ("user_data", str(HAN_MEIMEI)): {"name": "韩梅梅"},
        ("chat_data", "-100123"): {"title": "客服群"},
        ("conversation", '["test_conv",[-100123,5151]]'): 1,
        ("conversation", '["test_conv",[5151,5151]]'): 1,
    }
    survivors = {(-100123, HAN_MEIMEI): 1, (HAN_MEIMEI, HAN_MEIMEI): 1}
    assert await persistence.get_conversations("test_conv") == survivors
    assert await persistence.get_conversations("complaint") == {}
    # Writing the same data again after forgetting must reach the database.
    await persistence.update_user_data(LI_LEI, {"name": "李雷"})
    assert (await stored_rows(sessionmaker))["user_data", str(LI_LEI)] == {"name": "李雷"}


# --- a real Application ------------------------------------------------------------------


class FakeBotApi(BaseRequest):
    """A Bot API that answers getMe and sendMessage from canned JSON and records replies."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []
        self._message_ids = itertools.count(1000)

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        parameters = request_data.parameters if request_data else {}
        result: object
        if endpoint == "getMe":
            result = BOT_USER
        elif endpoint == "sendMessage":
            chat_id, text = int(str(parameters["chat_id"])), str(parameters["text"])
            self.sent.append((chat_id, text))
            result = {
                "message_id": next(self._message_ids),
                "date": 1758708000,
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": text,
            }
        else:
            answer = {"ok": False, "error_code": 400, "description": f"no fake {endpoint}"}
            return HTTPStatus.BAD_REQUEST, json.dumps(answer).encode()
        return HTTPStatus.OK, json.dumps({"ok": True, "result": result}).encode()


ASKING_NAME, ASKING_CITY = range(2)


async def ask_name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Open the survey by asking for a name."""
    assert update.effective_message
    await update.effective_message.reply_text("Step 1: what is your name?")
    return ASKING_NAME


async def ask_city(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Keep the name and ask for the city."""
    assert update.effective_message and context.user_data is not None
    context.user_data["name"] = update.effective_message.text
    await update.effective_message.reply_text("Step 2: which city?")
    return ASKING_CITY


async def thank(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Thank the customer by name and end the survey."""
    assert update.effective_message and context.user_data is not None
    await update.effective_message.reply_text(
        "Thank you, {name} from {city}".format(
            name=context.user_data["name"], city=update.effective_message.text
        )
    )
    return ConversationHandler.END


def survey_conversation() -> ConversationHandler[ContextTypes.DEFAULT_TYPE]:
    text = filters.TEXT & ~filters.COMMAND
    return ConversationHandler(
        entry_points=[CommandHandler("start", ask_name)],
        states={
            ASKING_NAME: [MessageHandler(text, ask_city)],
            ASKING_CITY: [MessageHandler(text, thank)],
        },
        fallbacks=[],
        name="test_conv",
        persistent=True,
    )


@asynccontextmanager
async def running_bot(persistence: SqlPersistence) -> AsyncIterator[RunningBot]:
    """Run an Application with the survey until the block ends, then shut it down."""
    api = FakeBotApi()
    application = (
        Application.builder()
        .token(TOKEN)
        .updater(None)
        .request(api)
        .get_updates_request(FakeBotApi())
        .persistence(persistence)
        .build()
    )
    application.add_handler(survey_conversation())
    await application.initialize()
    await application.start()
    try:
        yield RunningBot(application, api)
    finally:
        await application.stop()
        await application.shutdown()


class RunningBot:
    """The running application and what it replied, as a test drives it."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any], api: FakeBotApi):
        self.application = application
        self.api = api
        self._update_ids = itertools.count(1)

    async def receive(self, user_id: int, text: str) -> list[str]:
        """Deliver a private message from ``user_id`` and return the bot's replies to it."""
        already = len(self.api.sent)
        message: dict[str, Any] = {
            "message_id": next(self._update_ids),
            "date": 1758708000,
            "chat": {"id": user_id, "type": "private", "first_name": "顾客"},
            "from": {"id": user_id, "is_bot": False, "first_name": "顾客"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        update = {"update_id": next(self._update_ids), "message": message}
        await self.application.process_update(Update.de_json(update, self.application.bot))
        return [reply for chat, reply in self.api.sent[already:] if chat == user_id]


def conversation_row(user_id: int) -> tuple[str, str]:
    return ("conversation", f'["test_conv",[{user_id},{user_id}]]')


async def test_conversation_continues_after_restarts(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with running_bot(SqlPersistence(sessionmaker)) as bot:
        assert await bot.receive(LI_LEI, "/start") == ["Step 1: what is your name?"]
    assert (await stored_rows(sessionmaker))[conversation_row(LI_LEI)] == ASKING_NAME

    async with running_bot(SqlPersistence(sessionmaker)) as bot:
        assert await bot.receive(LI_LEI, "李雷") == ["Step 2: which city?"]
    rows = await stored_rows(sessionmaker)
    assert rows[conversation_row(LI_LEI)] == ASKING_CITY
    assert rows["user_data", str(LI_LEI)] == {"name": "李雷"}

    async with running_bot(SqlPersistence(sessionmaker)) as bot:
        assert await bot.receive(LI_LEI, "上海") == ["Thank you, 李雷 from 上海"]
        # The survey is over: plain text now matches no handler.
        assert await bot.receive(LI_LEI, "你好") == []
    assert conversation_row(LI_LEI) not in await stored_rows(sessionmaker)


async def test_updater_writes_state_while_running(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async def state_stored() -> bool:
        return conversation_row(LI_LEI) in await stored_rows(sessionmaker)

    async with running_bot(SqlPersistence(sessionmaker, update_interval=0.2)) as bot:
        await bot.receive(LI_LEI, "/start")
        await eventually(state_stored)
        assert (await stored_rows(sessionmaker))[conversation_row(LI_LEI)] == ASKING_NAME


async def test_forgotten_customer_starts_over_after_restart(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with running_bot(SqlPersistence(sessionmaker)) as bot:
        await bot.receive(LI_LEI, "/start")
        await bot.receive(LI_LEI, "李雷")
        await bot.receive(HAN_MEIMEI, "/start")
        await bot.receive(HAN_MEIMEI, "韩梅梅")

    await SqlPersistence(sessionmaker).forget_user(LI_LEI)

    assert await stored_rows(sessionmaker) == {
        conversation_row(HAN_MEIMEI): ASKING_CITY,
        ("user_data", str(HAN_MEIMEI)): {"name": "韩梅梅"},
    }
    async with running_bot(SqlPersistence(sessionmaker)) as bot:
        assert await bot.receive(LI_LEI, "上海") == []
        assert await bot.receive(HAN_MEIMEI, "北京") == ["Thank you, 韩梅梅 from 北京"]


async def test_a_business_chats_dialogue_is_kept_apart_reloaded_and_forgotten_with_its_chat(
    persistence: SqlPersistence, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """A customer's Business chat has their id as chat id too: its dialogue's key has the
    connection as a third part (handlers.business.ChatDialogue). Both chats' states come
    back, a worker taking the chat over reads both, and /forget erases both."""
    in_business = (LI_LEI, LI_LEI, "business:conn-1")
    await persistence.update_conversation("complaint_filing", (LI_LEI, LI_LEI), "description")
    await persistence.update_conversation("complaint_filing", in_business, "reference")
    assert await persistence.get_conversations("complaint_filing") == {
        (LI_LEI, LI_LEI): "description",
        in_business: "reference",
    }
    another_process = SqlPersistence(sessionmaker)
    reloaded = await another_process.reload_conversations([LI_LEI])
    assert reloaded == {
        "complaint_filing": {(LI_LEI, LI_LEI): "description", in_business: "reference"}
    }
    await persistence.forget_user(LI_LEI)
    assert await stored_rows(sessionmaker) == {}
