"""What a customer pressed, in words: callback data as staff read it in a contact history.

Buttons are logged with their callback data (``consent:yes``, ``cx:cat:billing``), which
is what the handlers match; staff should read what the customer saw and chose.
"""

from __future__ import annotations

from handlers import complaint_words as words
from handlers import texts
from handlers.buttons import (
    CategoryChoice,
    ConsentChoice,
    FaqFeedback,
    FaqNone,
    FaqPick,
    FilingStep,
    ForgetAnswer,
    LanguageChoice,
    NewProblem,
    ProfileField,
    Rating,
    ReopenRequest,
    SameProblem,
    parse_any,
)
from handlers.i18n import N_
from handlers.i18n import gettext as _

PROFILE_FIELDS = {
    "language": N_("change the language"),
    "phone": N_("change the phone number"),
    "birthday": N_("change the birthday"),
}
FILING_STEPS = {
    "go": N_("file a complaint"),
    "continue": N_("continue (no more attachments)"),
    "noref": N_("no reference"),
    "submit": N_("submit the complaint"),
    "edit": N_("edit the description"),
    "cancel": N_("cancel the complaint"),
}


def button_words(data: str) -> str:
    """What the customer chose with a button, from its callback data, in the current locale.

    Data of no button we make (an old keyboard, a forged press) is named as such, with
    the data, so nothing is hidden from staff.
    """
    return _("pressed “{button}”").format(button=_chosen(data))


def _chosen(data: str) -> str:
    match parse_any(data):
        case ConsentChoice(answer):
            return _("care messages: yes") if answer == "yes" else _("care messages: no")
        case ForgetAnswer(answer):
            return _("erase my data: yes") if answer == "yes" else _("erase my data: no")
        case ProfileField(field):
            return _(PROFILE_FIELDS[field])
        case FilingStep(step):
            return _(FILING_STEPS[step])
        case NewProblem():
            return _("a new problem, not the open complaint")
        case SameProblem():
            return _("the same problem as the open complaint")
        case LanguageChoice(code) if code in texts.LANGUAGE_NAMES:
            return _("language: {language}").format(language=texts.language_label(code))
        case CategoryChoice(code):
            return _("complaint about: {category}").format(category=words.category_label(code))
        case Rating(_complaint, stars):
            return _("rating {rating}/5").format(rating=stars)
        case ReopenRequest():
            return _("reopen my complaint")
        case FaqFeedback("ok", entry_id):
            return _("the FAQ's answer {entry} helped").format(entry=entry_id)
        case FaqFeedback("ask", entry_id):
            return _("ask a person after the FAQ's answer {entry}").format(entry=entry_id)
        case FaqPick(entry_id):
            return _("the FAQ entry {entry}").format(entry=entry_id)
        case FaqNone():
            return _("none of the FAQ's suggestions, ask a person")
    return _("an unknown button ({data})").format(data=data[:64])
