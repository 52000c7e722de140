"""Typed callback data: every button class packs within Telegram's 64 bytes at its
longest, reads back what it packed, and refuses what it did not."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from care.faq_models import MAX_ENTRY_ID
from handlers.buttons import (
    MAX_BYTES,
    Button,
    CampaignAction,
    CardAction,
    FaqFeedback,
    FaqNone,
    FaqPick,
    LanguageChoice,
    Rating,
    Slug,
    all_buttons,
    parse_any,
)


def longest(kind: type[Button]) -> Button:
    """The instance of ``kind`` with the longest data: 9-digit ids, 32-letter words, FAQ
    entry ids as long as the knowledge base allows, the longest allowed word of each
    Literal."""
    values: list[object] = []
    for field in dataclasses.fields(kind):  # type: ignore[arg-type]
        hint = typing.get_type_hints(kind)[field.name]
        if hint is int:
            values.append(999_999_999)
        elif hint is str:
            values.append("w" * 32)
        elif hint is Slug:
            values.append(Slug("a-" * (MAX_ENTRY_ID // 2 - 1) + "z9"))
        else:
            values.append(max(typing.get_args(hint), key=lambda word: len(str(word))))
    return kind(*values)


def test_every_button_class_is_known() -> None:
    names = {kind.__name__ for kind in all_buttons()}
    assert {"CardAction", "CampaignAction", "Rating", "LanguageChoice", "FilingStep"} <= names
    assert {"FaqFeedback", "FaqPick", "FaqNone"} <= names
    prefixes = [kind.PREFIX for kind in all_buttons()]
    assert len(prefixes) == len(set(prefixes)), "two classes share a prefix"


@pytest.mark.parametrize("kind", all_buttons(), ids=lambda kind: kind.__name__)
def test_the_longest_data_fits_telegram_and_reads_back(kind: type[Button]) -> None:
    button = longest(kind)
    data = button.pack()
    assert len(data.encode()) <= MAX_BYTES
    assert kind.parse(data) == button
    assert parse_any(data) == button, "no other class claims it"
    assert kind.pattern().match(data) and kind.family().match(data)


def test_wire_format_is_the_one_older_cards_carry() -> None:
    assert CardAction("ack", 12).pack() == "st:ack:12"
    assert CampaignAction("approve", 1).pack() == "cp:approve:1"
    assert Rating(12, 4).pack() == "cx:rate:12:4"
    assert CardAction.parse("st:res:7") == CardAction("res", 7)
    assert Rating.parse("cx:rate:7:5") == Rating(7, 5)
    # The FAQ's buttons, as answers and suggestions sent before the classes carry them.
    assert FaqFeedback("ok", Slug("returns-7day")).pack() == "faq:ok:returns-7day"
    assert FaqFeedback("ask", Slug("returns-7day")).pack() == "faq:ask:returns-7day"
    assert FaqPick(Slug("invoice-reissue")).pack() == "faq:pick:invoice-reissue"
    assert FaqNone().pack() == "faq:none"
    assert parse_any("faq:ask:warranty-2y") == FaqFeedback("ask", Slug("warranty-2y"))
    assert parse_any("faq:pick:warranty-2y") == FaqPick(Slug("warranty-2y"))
    assert parse_any("faq:none") == FaqNone()


@pytest.mark.parametrize(
    "data",
    [
        "st:ack:1234567890",  # a 10-digit id: no row id of ours
        "st:burn:1",
        "st:ack:",
        "st:ack:1:2",
        "cx:rate:1:6",
        "cp:approve:x",
        "lang:zh-CN",
        "faq:ok:Returns_7day",  # not an entry id: upper case and "_"
        "faq:pick:-returns",
        "faq:pick:" + "a" * (MAX_ENTRY_ID + 1),
        "faq:helped:returns-7day",
        "faq:none:returns-7day",
        "",
    ],
)
def test_forged_or_stale_data_is_no_button(data: str) -> None:
    assert parse_any(data) is None


def test_invalid_buttons_are_never_packed() -> None:
    with pytest.raises(ValueError, match="not valid callback data"):
        CardAction("ack", 10**12).pack()
    with pytest.raises(ValueError, match="not valid callback data"):
        LanguageChoice("x" * 40).pack()
