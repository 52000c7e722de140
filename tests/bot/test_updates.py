"""bot.updates.PerChatUpdateProcessor: chats in parallel, one chat in order, fairly."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update

from bot.updates import PerChatUpdateProcessor


def update_in(chat_id: int, update_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    return Update(update_id, message=Message(update_id, None, chat))  # type: ignore[arg-type]


async def test_one_chats_backlog_holds_no_slots_of_the_others() -> None:
    processor = PerChatUpdateProcessor(2)
    release = asyncio.Event()
    done: list[tuple[int, int]] = []

    async def handle(chat_id: int, update_id: int) -> None:
        if chat_id == 1:
            await release.wait()
        done.append((chat_id, update_id))

    # One customer sends 20 messages at once; their first is being handled (and waits).
    burst = [
        asyncio.create_task(processor.process_update(update_in(1, n), handle(1, n)))
        for n in range(20)
    ]
    await asyncio.sleep(0)
    # Another customer writes: their update must not wait for the burst.
    other = asyncio.create_task(processor.process_update(update_in(2, 100), handle(2, 100)))
    await asyncio.wait_for(other, timeout=2)
    assert done == [(2, 100)]
    assert processor.current_concurrent_updates == 1
    release.set()
    await asyncio.wait_for(asyncio.gather(*burst), timeout=2)
    assert [n for chat, n in done if chat == 1] == list(range(20)), "one chat stays in order"
    assert processor.current_concurrent_updates == 0


async def test_no_more_than_the_limit_at_once() -> None:
    processor = PerChatUpdateProcessor(3)
    running = 0
    most = 0

    async def handle() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1

    await asyncio.gather(
        *(processor.process_update(update_in(chat, chat), handle()) for chat in range(1, 30))
    )
    assert most == 3
    assert processor.limit == 3
