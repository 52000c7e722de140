"""What a customer pressed, in words: callback data as staff read it in a contact history.

Buttons are logged with their callback data (``consent:yes``, ``cx:cat:billing``), which
is what the handlers match; staff should read what the customer saw and chose.
"""

from __future__ import annotations

import re

from handlers import complaint_words as words
from handlers import texts
from handlers.i18n import N_
from handlers.i18n import gettext as _

# Buttons whose data names no value of its own: data → what the customer chose.
FIXED = {
    texts.CONSENT_PREFIX + "yes": N_("care messages: yes"),
    texts.CONSENT_PREFIX + "no": N_("care messages: no"),
    texts.PROFILE_PREFIX + "language": N_("change the language"),
    texts.PROFILE_PREFIX + "phone": N_("change the phone number"),
    texts.PROFILE_PREFIX + "birthday": N_("change the birthday"),
    texts.FORGET_PREFIX + "yes": N_("erase my data: yes"),
    texts.FORGET_PREFIX + "no": N_("erase my data: no"),
    words.FILING_PREFIX + "go": N_("file a complaint"),
    words.FILING_PREFIX + "continue": N_("continue (no more attachments)"),
    words.FILING_PREFIX + "noref": N_("no reference"),
    words.FILING_PREFIX + "submit": N_("submit the complaint"),
    words.FILING_PREFIX + "edit": N_("edit the description"),
    words.FILING_PREFIX + "cancel": N_("cancel the complaint"),
    words.DUPLICATE_PREFIX + "new": N_("a new problem, not the open complaint"),
}

_RATING = re.compile(rf"^{re.escape(words.RATING_PREFIX)}\d+:([1-5])$")
_REOPEN = re.compile(rf"^{re.escape(words.REOPEN_PREFIX)}\d+$")
_DUPLICATE_ADD = re.compile(rf"^{re.escape(words.DUPLICATE_PREFIX)}add:\d+$")


def button_words(data: str) -> str:
    """What the customer chose with a button, from its callback data, in the current locale.

    Data of no button we make (an old keyboard, a forged press) is named as such, with
    the data, so nothing is hidden from staff.
    """
    return _("pressed “{button}”").format(button=_chosen(data))


def _chosen(data: str) -> str:
    fixed = FIXED.get(data)
    if fixed is not None:
        return _(fixed)
    if data.startswith(texts.LANGUAGE_PREFIX):
        locale = data.removeprefix(texts.LANGUAGE_PREFIX)
        if locale in texts.LANGUAGE_NAMES:
            return _("language: {language}").format(language=texts.language_label(locale))
    elif data.startswith(words.CATEGORY_PREFIX):
        code = data.removeprefix(words.CATEGORY_PREFIX)
        return _("complaint about: {category}").format(category=words.category_label(code))
    elif rating := _RATING.match(data):
        return _("rating {rating}/5").format(rating=rating[1])
    elif _REOPEN.match(data):
        return _("reopen my complaint")
    elif _DUPLICATE_ADD.match(data):
        return _("the same problem as the open complaint")
    return _("an unknown button ({data})").format(data=data[:64])
