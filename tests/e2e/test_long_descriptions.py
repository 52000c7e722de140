"""A description as long as Telegram allows (4,096 characters) is shown whole: to the
customer on the check screen and to staff below the card, split where Telegram needs,
never mid-word, each part marked "…(1/2)" (issue 9, item 17)."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.sandbox.client import SandboxClient
from handlers.texts import chunks, numbered_parts
from tests.conftest import CareTeam
from tests.e2e.conftest import PersonFactory
from tests.e2e.test_complaints import complaints_in_db
from tests.helpers import RunningBot, all_owed_delivered, text_of

# 4,096 characters of numbered words: a cut inside one shows as a broken number.
WORDS = " ".join(f"word{n:04d}" for n in range(1, 456))
DESCRIPTION = (WORDS + " " + "x" * 4096)[:4096].rstrip()
MARKER = re.compile(r"\n…?\(\d+/\d+\)$")


def whole(parts: list[str]) -> str:
    """The parts joined again, without their "…(k/n)" markers."""
    return "".join(MARKER.sub("", part) for part in parts)


def test_split_never_cuts_a_word_and_loses_nothing() -> None:
    for text in (WORDS, "长" * 9000, "a\n" * 3000, WORDS.replace(" ", "，")):
        parts = chunks(text, 1000)
        assert all(len(p) <= 1000 for p in parts)
        assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    for part in chunks(WORDS, 1000)[:-1]:
        assert part.endswith(" "), "a part ends after a whole word"
    numbered = numbered_parts(WORDS * 3)
    count = len(numbered)
    assert count > 1
    assert [p[-5:] for p in numbered] == [f"({n}/{count})" for n in range(1, count + 1)]
    assert all(len(p) <= 4096 for p in numbered)
    assert whole(numbered) == WORDS * 3
    assert numbered_parts("short") == ["short"]


async def test_a_4096_character_description_is_shown_whole_to_customer_and_staff(
    complaint_bot: RunningBot, care_team: CareTeam, person: PersonFactory,
    client: SandboxClient, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:  # fmt: skip
    anna = await person("Anna", language_code="en")
    await anna.say("/complain")
    await anna.press("Delivery")
    await anna.say(DESCRIPTION)
    await anna.press("Continue")
    sent = await client.send_text(anna.id, anna.id, "A-1001")
    await anna.wait_reply(sent["message_id"], lambda m: "Submit" in str(m.get("reply_markup")))
    check = [m for m in await anna.bot_messages() if m["message_id"] > sent["message_id"]]
    texts = [text_of(m) for m in check]
    assert len(texts) == 2 and texts[0].endswith("…(1/2)") and texts[1].endswith("(2/2)")
    assert DESCRIPTION in whole(texts), "the customer sees every word before submitting"
    assert "Submit" in str(check[-1].get("reply_markup")), "the buttons under the last part"

    await anna.press("Submit")
    await all_owed_delivered(complaint_bot)
    [complaint] = await complaints_in_db(sessionmaker)
    group = await client.bot_messages(care_team.group_id)
    card = next(m for m in group if m["message_id"] == complaint.alert_message_id)
    assert "word0001" in text_of(card) and len(text_of(card)) <= 4096
    below = [
        text_of(m) for m in group if m.get("reply_to_message_id") == complaint.alert_message_id
    ]
    assert len(below) == 2 and below[0].endswith("…(1/2)")
    assert DESCRIPTION in whole(below), "staff can read the whole text"
