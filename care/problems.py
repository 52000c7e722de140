"""Why a campaign cannot be made or changed: a code and the facts that explain it.

``care.audiences``, ``care.campaigns`` and ``care.campaign_requests`` raise them;
``handlers.campaigns.words`` and the CLI say them in words (``handlers.campaigns.words.
problem_words``, one wording for both).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class CampaignProblem(enum.StrEnum):
    """Why a campaign cannot be made or changed; handlers and the CLI say it in words."""

    UNKNOWN_AUDIENCE = "unknown_audience"  # not one of all, tag, type, stage, quiet
    BAD_AUDIENCE_VALUE = "bad_audience_value"  # e.g. type:banana, quiet:-3
    NO_MESSAGE = "no_message"  # neither an occasion nor a text
    UNKNOWN_OCCASION = "unknown_occasion"  # no occasion by that code or name
    NO_DAY = "no_day"  # a text of our own needs its day (an occasion has one)
    BOTH_MESSAGES = "both_messages"  # an occasion and a text
    TEXT_TOO_LONG = "text_too_long"
    UNKNOWN_LOCALE = "unknown_locale"
    IN_THE_PAST = "in_the_past"  # the send day is over (in the company's time zone)
    # The send time is inside quiet hours: every message would move to their end, for an
    # evening time the next morning, the day after the occasion.
    IN_QUIET_HOURS = "in_quiet_hours"
    CANCELLED = "cancelled"  # cancelled campaigns cannot be approved or edited
    DONE = "done"  # finished campaigns cannot be changed
    NOT_A_DRAFT = "not_a_draft"  # approved campaigns are planned: they cannot be edited


class CampaignError(ValueError):
    """A ``CampaignProblem``, with the facts that explain it (for IN_THE_PAST: ``day``
    and ``today``; for IN_QUIET_HOURS: ``time``, ``quiet_start``, ``quiet_end``; for
    UNKNOWN_OCCASION: ``occasion`` as typed, and ``year`` when a day was given)."""

    def __init__(self, problem: CampaignProblem, facts: Mapping[str, str] | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.facts: dict[str, str] = dict(facts or {})
