"""Words and keyboards the customer sees; all through gettext in the current locale."""

from __future__ import annotations

from telegram import (
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from care.birthdays import Birthday, BirthdayProblem
from care.customers import format_phone
from care.models import BirthdayCalendar, Customer
from handlers.buttons import (
    ConsentChoice,
    FilingStep,
    ForgetAnswer,
    LanguageChoice,
    ProfileField,
    key,
)
from handlers.i18n import N_, current_locale
from handlers.i18n import gettext as _

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}

# Labels of reply-keyboard buttons, matched in every locale when pressed.
SKIP_LABEL = N_("Skip")
SHARE_PHONE_LABEL = N_("Share my phone number")

COMMANDS: list[tuple[str, str]] = [
    ("start", N_("Register or say hello")),
    ("complain", N_("File a complaint")),
    ("status", N_("Where is my complaint?")),
    ("profile", N_("See and change what we hold about you")),
    ("language", N_("Change the language")),
    ("stop", N_("Stop care messages (greetings, follow-ups)")),
    ("forget", N_("Erase your personal data")),
    ("help", N_("What I can do")),
]


def file_button() -> InlineKeyboardMarkup:
    """The "File a complaint" button shown in /help and to returning customers."""
    return InlineKeyboardMarkup([[key(_("File a complaint"), FilingStep("go"))]])


def language_keyboard(selected: str | None) -> InlineKeyboardMarkup:
    buttons = [
        key(("✓ " if code == selected else "") + name, LanguageChoice(code))
        for code, name in LANGUAGE_NAMES.items()
    ]
    return InlineKeyboardMarkup([buttons])


def consent_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                key(_("Yes, please"), ConsentChoice("yes")),
                key(_("No, thanks"), ConsentChoice("no")),
            ]
        ]
    )


def phone_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(_(SHARE_PHONE_LABEL), request_contact=True)], [_(SKIP_LABEL)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def skip_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[_(SKIP_LABEL)]], resize_keyboard=True, one_time_keyboard=True)


def profile_keyboard(customer: Customer) -> InlineKeyboardMarkup:
    consent_label = (
        _("Turn care messages off") if customer.consent_care else _("Turn care messages on")
    )
    return InlineKeyboardMarkup(
        [
            [
                key(_("Language"), ProfileField("language")),
                key(_("Phone"), ProfileField("phone")),
                key(_("Birthday"), ProfileField("birthday")),
            ],
            [key(consent_label, ConsentChoice("no" if customer.consent_care else "yes"))],
        ]
    )


def forget_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                key(_("Yes, erase my data"), ForgetAnswer("yes")),
                key(_("No, keep it"), ForgetAnswer("no")),
            ]
        ]
    )


def greeting(name: str, company: str) -> str:
    return _(
        "Hello {name}! I am the customer care assistant of {company}. Which language do you prefer?"
    ).format(name=name or _("there"), company=company)


def consent_question() -> str:
    return _(
        "May we send you care messages: festival and birthday greetings and follow-ups "
        "after a purchase or a complaint? At most a few a month, never at night, "
        "and /stop ends them at any time."
    )


def phone_question() -> str:
    return _(
        "Would you like to share your phone number, so that our staff can call you back "
        "if needed? Tap the button below, write it, or Skip."
    )


def birthday_question() -> str:
    return _(
        "When is your birthday? We would like to greet you on the day.\n"
        "Write a date such as 1990-05-20 or 05-20, or a lunar date such as "
        "农历八月十五 or lunar 8-15. Or Skip."
    )


def birthday_problem(problem: BirthdayProblem) -> str:
    if problem is BirthdayProblem.NO_SUCH_DATE:
        reason = _("That date does not exist.")
    elif problem is BirthdayProblem.IN_FUTURE:
        reason = _("That date is in the future.")
    elif problem is BirthdayProblem.TOO_OLD:
        reason = _("That year is too long ago.")
    else:
        reason = _("I could not read that as a date.")
    return (
        reason
        + " "
        + _("Please write it like 1990-05-20, 05-20, 农历八月十五 or lunar 8-15, or tap Skip.")
    )


def format_birthday(birthday: Birthday | None) -> str:
    if birthday is None:
        return _("not given")
    if birthday.calendar is BirthdayCalendar.SOLAR:
        if birthday.year:
            return _("{year}-{month:02d}-{day:02d}").format(
                year=birthday.year, month=birthday.month, day=birthday.day
            )
        return _("{month:02d}-{day:02d} (every year)").format(
            month=birthday.month, day=birthday.day
        )
    name = lunar_date_name(birthday.month, birthday.day, birthday.leap_month)
    if birthday.year:
        return _("lunar {date}, {year}").format(date=name, year=birthday.year)
    return _("lunar {date}").format(date=name)


_CN_MONTHS = ["正", "二", "三", "四", "五", "六", "七", "八", "九", "十", "冬", "腊"]
_CN_DIGITS = "一二三四五六七八九"


def lunar_date_name(month: int, day: int, leap: bool) -> str:
    """八月十五 / 闰四月初八 in Chinese; "leap month 4, day 8" in other languages."""
    if current_locale() == "zh_CN":
        if day <= 10:
            day_name = "初" + ("十" if day == 10 else _CN_DIGITS[day - 1])
        elif day < 20:
            day_name = "十" + _CN_DIGITS[day - 11]
        elif day == 20:
            day_name = "二十"
        elif day < 30:
            day_name = "廿" + _CN_DIGITS[day - 21]
        else:
            day_name = "三十"
        return ("闰" if leap else "") + _CN_MONTHS[month - 1] + "月" + day_name
    if leap:
        return _("leap month {month}, day {day}").format(month=month, day=day)
    return _("month {month}, day {day}").format(month=month, day=day)


def profile_summary(customer: Customer, birthday: Birthday | None) -> str:
    lines = [
        _("This is what we hold about you:"),
        _("Name: {name}").format(name=customer.display_name or _("not given")),
        _("Language: {language}").format(
            language=LANGUAGE_NAMES.get(customer.language or "", _("not chosen"))
        ),
        _("Phone: {phone}").format(
            phone=format_phone(customer.phone) if customer.phone else _("not given")
        ),
        _("Birthday: {birthday}").format(birthday=format_birthday(birthday)),
        _("Care messages: {state}").format(state=_("on") if customer.consent_care else _("off")),
    ]
    return "\n".join(lines)


def help_text() -> str:
    lines = [_("Here is what I can do:")]
    lines += [f"/{command} — {_(description)}" for command, description in COMMANDS]
    lines.append(_("You can also just write to us: every message reaches our team."))
    return "\n".join(lines)


def language_label(locale: str) -> str:
    return LANGUAGE_NAMES.get(locale, locale)


# --- long texts ---------------------------------------------------------------------

# Telegram's limit for a message's text.
MESSAGE_LIMIT = 4096
# Where a long line may be broken: after a space or a sentence's end (Chinese has no
# spaces: a break after its punctuation reads best, else between any two characters).
_BREAKS = " \t，。！？；、,.!?;"


def _cut(text: str, limit: int) -> tuple[int, int]:
    """Where to end the first part of a text longer than ``limit``, and where the rest
    starts: at a line end in the second half, else after a space or punctuation in the
    last fifth, else at any line end, else at ``limit``."""
    window = text[: limit + 1]
    line_end = window.rfind("\n")
    if line_end >= limit // 2:
        return line_end, line_end + 1
    for position in range(limit - 1, int(limit * 0.8) - 1, -1):
        if window[position] in _BREAKS:
            return position + 1, position + 1
    if line_end > 0:
        return line_end, line_end + 1
    return limit, limit


def chunks(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split a long text into messages Telegram accepts, each as full as it can be: at a
    line end, a space or punctuation where possible; only the line ends cut at are left
    out, never another character."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        end, start = _cut(rest, limit)
        parts.append(rest[:end])
        rest = rest[start:]
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


def numbered_parts(
    text: str, limit: int = MESSAGE_LIMIT, first_limit: int | None = None
) -> list[str]:
    """A text in as many messages as Telegram needs, each marked "…(1/2)" when there are
    several, so that the reader knows more follows.

    ``first_limit``: the first part's own limit, when it goes where less fits (the
    caption of a photo: 1,024 characters).
    """
    marker_room = 16
    first = limit if first_limit is None else first_limit
    if len(text) <= first:
        return [text]
    end, start = _cut(text, first - marker_room)
    rest = text[start:]
    parts = [text[:end], *(chunks(rest, limit - marker_room) if rest.strip() else [])]
    if len(parts) == 1:
        return parts
    count = len(parts)
    return [
        part + ("\n…" if number < count else "\n") + f"({number}/{count})"
        for number, part in enumerate(parts, start=1)
    ]


def message_link(chat: int, message_id: int) -> str | None:
    """A link to a message of a supergroup (``-100…``), as Telegram's "Copy link" makes
    for a private one; None for other chats, which have no such links."""
    digits = str(chat)
    if not digits.startswith("-100"):
        return None
    return f"https://t.me/c/{digits[4:]}/{message_id}"
