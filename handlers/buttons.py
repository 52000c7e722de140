"""Typed callback data: every button carebot shows is one of these small frozen classes.

Modelled on aiogram's ``CallbackData``: a class declares its prefix and its fields,
``pack()`` makes the string Telegram carries (at most 64 bytes, checked when packed and,
for every class at its longest, in ``tests/handlers/test_buttons.py``), ``parse()`` reads
it back (None for data that is not a valid button of the class: forged, or from an older
version), ``pattern()`` matches exactly the valid ones and ``family()`` anything with the
prefix (so a handler can answer "no longer valid" to the rest).

Fields are ``int`` (a row id: at most 9 digits, so it fits PostgreSQL's INTEGER; forged
data with a longer id is no button at all, never an overflow in the database), ``str``
(letters, digits and ``_``, at most 32), ``Slug`` (an FAQ entry's id: lower-case letters,
digits and ``-``, at most ``MAX_ENTRY_ID``), or a ``Literal`` of the allowed words. The wire
format is ``prefix:field:field``, as before the classes: a card posted by an older
version still works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal, NewType, Self, get_args, get_origin, get_type_hints

from telegram import InlineKeyboardButton

from care.faq_models import MAX_ENTRY_ID

MAX_BYTES = 64  # Telegram's limit for callback_data
ROW_ID = r"\d{1,9}"
WORD = r"[A-Za-z0-9_]{1,32}"
# An FAQ entry's id, as the knowledge base allows it (care.faq_files).
Slug = NewType("Slug", str)
SLUG = rf"[a-z0-9][a-z0-9-]{{0,{MAX_ENTRY_ID - 1}}}"


class Button:
    """Base of the callback data classes (subclasses are frozen dataclasses)."""

    PREFIX: ClassVar[str]
    _pattern: ClassVar[re.Pattern[str]]
    _kinds: ClassVar[tuple[tuple[str, Any], ...]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._pattern = None  # type: ignore[assignment]  # built on first use

    @classmethod
    def _fields(cls) -> tuple[tuple[str, Any], ...]:
        hints = get_type_hints(cls)
        return tuple((f.name, hints[f.name]) for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def pattern(cls) -> re.Pattern[str]:
        """The valid data of this class, whole."""
        if cls._pattern is None:
            parts = [re.escape(cls.PREFIX)]
            for _name, kind in cls._fields():
                parts.append(f"({_field_pattern(kind)})")
            cls._pattern = re.compile("^" + ":".join(parts) + "$")
        return cls._pattern

    @classmethod
    def family(cls) -> re.Pattern[str]:
        """Any data that starts with this class's prefix, valid or not."""
        return re.compile("^" + re.escape(cls.PREFIX) + "(:|$)")

    @classmethod
    def parse(cls, data: str | None) -> Self | None:
        """The button ``data`` packs, or None when it is not a valid one of this class."""
        match = cls.pattern().match(data or "")
        if match is None:
            return None
        values = [
            _value(kind, raw)
            for raw, (_name, kind) in zip(match.groups(), cls._fields(), strict=True)
        ]
        return cls(*values)

    def exact(self) -> re.Pattern[str]:
        """This one button's data, and nothing else."""
        return re.compile("^" + re.escape(self.pack()) + "$")

    def pack(self) -> str:
        """The callback data; ValueError when it is not valid or too long for Telegram."""
        data = ":".join([self.PREFIX, *(str(getattr(self, name)) for name, _ in self._fields())])
        if len(data.encode()) > MAX_BYTES or type(self).parse(data) != self:
            raise ValueError(f"not valid callback data for {type(self).__name__}: {data!r}")
        return data


def _value(kind: Any, raw: str) -> Any:
    if kind is int or (get_origin(kind) is Literal and isinstance(get_args(kind)[0], int)):
        return int(raw)
    return raw


def _field_pattern(kind: Any) -> str:
    if kind is int:
        return ROW_ID
    if kind is str:
        return WORD
    if kind is Slug:
        return SLUG
    if get_origin(kind) is Literal:
        return "|".join(re.escape(str(word)) for word in get_args(kind))
    raise TypeError(f"a button field must be int, str, Slug or a Literal, not {kind!r}")


def all_buttons() -> list[type[Button]]:
    """Every callback data class (for the 64-byte test and the contact log's words)."""
    found: list[type[Button]] = []
    pending = list(Button.__subclasses__())
    while pending:
        kind = pending.pop()
        found.append(kind)
        pending += kind.__subclasses__()
    return found


# --- the customer's buttons ----------------------------------------------------------------


@dataclass(frozen=True)
class LanguageChoice(Button):
    """A language picked (registration, /language, the profile)."""

    PREFIX = "lang"
    code: str


@dataclass(frozen=True)
class ConsentChoice(Button):
    """Care messages: yes or no."""

    PREFIX = "consent"
    answer: Literal["yes", "no"]


@dataclass(frozen=True)
class ProfileField(Button):
    """A profile field to change."""

    PREFIX = "prof"
    field: Literal["language", "phone", "birthday"]


@dataclass(frozen=True)
class ForgetAnswer(Button):
    """/forget: erase my data, or keep it."""

    PREFIX = "forget"
    answer: Literal["yes", "no"]


@dataclass(frozen=True)
class FilingStep(Button):
    """A step of filing a complaint."""

    PREFIX = "cx:file"
    step: Literal["go", "continue", "noref", "submit", "edit", "cancel"]


@dataclass(frozen=True)
class CategoryChoice(Button):
    """The category of a complaint being filed."""

    PREFIX = "cx:cat"
    code: str


@dataclass(frozen=True)
class SameProblem(Button):
    """The new complaint is the open one: add to it."""

    PREFIX = "cx:dup:add"
    complaint_id: int


@dataclass(frozen=True)
class NewProblem(Button):
    """The new complaint is a new problem."""

    PREFIX = "cx:dup:new"


Stars = Literal[1, 2, 3, 4, 5]
STARS: tuple[Stars, ...] = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Rating(Button):
    """The customer's rating of a resolved complaint."""

    PREFIX = "cx:rate"
    complaint_id: int
    stars: Stars


@dataclass(frozen=True)
class ReopenRequest(Button):
    """The customer asks to reopen a complaint."""

    PREFIX = "cx:reopen"
    complaint_id: int


@dataclass(frozen=True)
class FaqFeedback(Button):
    """Under an FAQ answer: "That helped" (``ok``) or "Ask a person" (``ask``)."""

    PREFIX = "faq"
    choice: Literal["ok", "ask"]
    entry_id: Slug


@dataclass(frozen=True)
class FaqPick(Button):
    """An FAQ entry pressed: one of the suggestions, or an answer's related entry."""

    PREFIX = "faq:pick"
    entry_id: Slug


@dataclass(frozen=True)
class FaqNone(Button):
    """Under the FAQ's suggestions: "None of these — ask a person"."""

    PREFIX = "faq:none"


# --- the staff's buttons ----------------------------------------------------------------


@dataclass(frozen=True)
class CardAction(Button):
    """A button on a complaint's card in the staff group."""

    PREFIX = "st"
    action: Literal["ack", "take", "res", "reply"]
    complaint_id: int


@dataclass(frozen=True)
class CampaignAction(Button):
    """A button on a campaign's card."""

    PREFIX = "cp"
    action: Literal["approve", "edit", "cancel"]
    campaign_id: int


# Whom a canned answer picked from several goes to: "k" the customer of a complaint,
# "u" the customer of a conversation.
CannedTargetKind = Literal["k", "u"]


@dataclass(frozen=True)
class CannedPick(Button):
    """A canned answer chosen among several (``/c`` with the start of their names), for a
    target: ``kind`` ``k`` a complaint (``handlers.canned.TARGETS``; a new kind of target
    adds its letter here and its resolver there)."""

    PREFIX = "cn"
    kind: CannedTargetKind
    target_id: int
    name: str


@dataclass(frozen=True)
class CustomerPick(Button):
    """A customer picked from /customer's list of matches."""

    PREFIX = "cu"
    customer_id: int


def key(label: str, data: Button) -> InlineKeyboardButton:
    """An inline keyboard button that carries ``data``."""
    return InlineKeyboardButton(label, callback_data=data.pack())


def parse_any(data: str | None) -> Button | None:
    """The button ``data`` packs, whatever its class; None for data of no button of ours."""
    for kind in all_buttons():
        button = kind.parse(data)
        if button is not None:
            return button
    return None


# --- conversations (handlers.conversation_staff) ----------------------------------------


@dataclass(frozen=True)
class ConversationAction(Button):
    """A button on a conversation's card: acknowledge, take, close, to complaint."""

    PREFIX = "cv"
    action: Literal["ack", "take", "close", "cmp"]
    conversation_id: int


@dataclass(frozen=True)
class ConversationCategory(Button):
    """To complaint: the category chosen."""

    PREFIX = "cv:cat"
    conversation_id: int
    code: str


@dataclass(frozen=True)
class ConversationPriority(Button):
    """To complaint: the priority chosen (the category carried along)."""

    PREFIX = "cv:pri"
    conversation_id: int
    code: str
    priority: Literal["normal", "high", "urgent"]


# --- staff writing the FAQ (handlers.faq_staff) -----------------------------------------


@dataclass(frozen=True)
class FaqDraftChoice(Button):
    """A choice in a staff member's FAQ draft (``draft``: the draft's number, so a press
    on an older draft's message, or a colleague's, does not act on this one): its
    language, the customer's question as the phrasing, save, or cancel."""

    PREFIX = "fqd"
    draft: int
    choice: Literal["zh_CN", "en", "asked", "save", "cancel"]


@dataclass(frozen=True)
class FaqSuggestionSend(Button):
    """ "Send it": the FAQ answer offered to staff in a conversation they handle (the
    suggestion's ``faq_event`` row)."""

    PREFIX = "fqs"
    suggestion_id: int
