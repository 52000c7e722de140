"""The campaign request use case that /campaign new|edit and carebot campaign new|edit
share: the occasion found, the day defaulted, the name made, the time in the window."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from care import campaign_requests as requests
from care.campaign_requests import CampaignRequest
from care.campaigns import CampaignError, CampaignProblem
from care.clock import ManualClock
from care.engine import EngineConfig

TODAY = date(2026, 9, 1)
CN = ("CN",)


def test_an_occasion_is_found_by_its_name_and_gets_its_day_and_name() -> None:
    resolved = requests.resolve(
        CampaignRequest(occasion="中秋节"), today=TODAY, countries=CN, new=True
    )
    assert (resolved.occasion, resolved.day) == ("mid_autumn", date(2026, 9, 25))
    assert resolved.name == "Mid-Autumn Festival 2026"


def test_a_text_is_named_by_its_first_line_and_keeps_its_day() -> None:
    text = "\n  Autumn sale: everything at half price, this week only!\nCome and see."
    resolved = requests.resolve(
        CampaignRequest(texts={"en": text}, day=date(2026, 9, 10), at=time(10, 30)),
        today=TODAY,
        countries=CN,
        new=True,
    )
    assert resolved.name == "Autumn sale: everything at half price, t"
    assert (resolved.occasion, resolved.day, resolved.at) == (None, date(2026, 9, 10), time(10, 30))
    assert resolved.window(EngineConfig().window).send_at == time(10, 30)


@pytest.mark.parametrize(
    ("request_", "new", "problem"),
    [
        (CampaignRequest(), True, CampaignProblem.NO_MESSAGE),
        (
            CampaignRequest(occasion="christmas", texts={"en": "Hi"}),
            False,
            CampaignProblem.BOTH_MESSAGES,
        ),
        (CampaignRequest(occasion="banana"), True, CampaignProblem.UNKNOWN_OCCASION),
        (CampaignRequest(texts={"en": "Hi"}), True, CampaignProblem.NO_DAY),
    ],
)
def test_what_cannot_be_resolved_is_refused(
    request_: CampaignRequest, new: bool, problem: CampaignProblem
) -> None:
    with pytest.raises(CampaignError) as refused:
        requests.resolve(request_, today=TODAY, countries=CN, new=new)
    assert refused.value.problem is problem


def test_an_edit_asks_for_nothing_it_was_not_given() -> None:
    resolved = requests.resolve(
        CampaignRequest(audience={"kind": "tag", "tag": "vip"}),
        today=TODAY,
        countries=CN,
        new=False,
    )
    assert resolved == requests.ResolvedRequest(
        None, None, {"kind": "tag", "tag": "vip"}, None, None, None
    )


async def test_create_and_edit_through_the_use_case(
    session: AsyncSession, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 9, 1, 2, 0, tzinfo=UTC))
    config = EngineConfig()
    campaign = await requests.create_requested(
        session, CampaignRequest(occasion="mid_autumn", at=time(10, 0)), config, clock.now(),
        timezone="Asia/Shanghai",
    )  # fmt: skip
    assert (campaign.occasion, campaign.send_on, campaign.send_at_local) == (
        "mid_autumn", date(2026, 9, 25), "10:00",
    )  # fmt: skip
    assert campaign.audience == {"kind": "all"}

    await requests.edit_requested(
        session, campaign, CampaignRequest(texts={"zh_CN": "中秋快乐！"}), config, clock.now(),
        timezone="Asia/Shanghai",
    )  # fmt: skip
    assert (campaign.occasion, campaign.name, campaign.send_on) == (
        None, "中秋快乐！", date(2026, 9, 25),
    )  # fmt: skip
