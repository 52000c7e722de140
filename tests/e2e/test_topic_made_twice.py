async def test_when_too_much_came_in_between_to_check_staff_are_told_to_look(
    forum_bot: RunningBot,
    client: SandboxClient,
    forum_team: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    group, agent = forum_team["group"], forum_team["agent"]["id"]
    assert forum_bot.built is not None
    await client.send_text(group, agent, "早上好")
    owed_sender(forum_bot.built.application).read_timeout = 0.5
    await client.fault(kind="late_answer", method="createForumTopic", seconds=1.5, count=1)
    dora = Customer(client, await client.create_user("Dora", language_code="en"), timeout=20)
    await dora.say("Is the shop open on Sunday?")

    async def made_once() -> bool:
        return len([t for t in await client.topics(group) if not t["is_general"]]) == 1

    await wait_until(made_once, 20)
    # Before the retry (its backoff runs on the test clock), staff chat a lot in General.
    for n in range(MAX_PROBES + 5):
        await client.send_text(group, agent, f"午饭吃什么？{n}")
    unsure = zh(
        "⚠ Telegram's answer to creating this topic was lost, so it was created again. The "
        "bot could not check the whole forum for the first one: if you see an empty topic "
        "with this topic's name, please delete it."
    )

    async def told() -> bool:
        clock.advance(timedelta(seconds=2))
        return any(unsure in text_of(m) for m in await client.bot_messages(group))

    await wait_until(told, 30, interval=0.2)
    topic = await topic_of(sessionmaker, dora.id)
    assert topic is not None and topic.thread_id is not None
    [notice] = [m for m in await client.bot_messages(group) if unsure in text_of(m)]
    assert notice.get("message_thread_id") == topic.thread_id, "told in the topic in use"
    names = [t["name"] for t in await client.topics(group) if not t["is_general"]]
    assert len(names) == 2 and names[0] == names[1], "the first one was not reached"
