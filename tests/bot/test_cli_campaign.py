"""``carebot campaign …`` and ``carebot purchase add`` on the test database.

The CLI reads the real clock, so days are chosen relative to today.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from care.models import Campaign, Customer, CustomerTag, Outbox, Purchase
from care.templates import TemplateBook
from tests.bot.test_cli import Carebot, carebot, table_rows

__all__ = ["carebot"]  # the fixture, shared with test_cli

TZ = ZoneInfo("Asia/Shanghai")  # the settings' default
BOOK = TemplateBook.load(None, "zh_CN")


def later(days: int) -> date:
    return datetime.now(TZ).date() + timedelta(days=days)


async def add_customers(sessionmaker: async_sessionmaker[AsyncSession]) -> list[int]:
    """Two customers who accept care messages (Shanghai, Berlin) and one who does not."""
    now = datetime.now(UTC)
    async with sessionmaker.begin() as session:
        people = [
            Customer(telegram_user_id=501, chat_id=501, first_name="小红", consent_care=True,
                     created_at=now),
            Customer(telegram_user_id=502, chat_id=502, first_name="Emma", language="en",
                     timezone="Europe/Berlin", consent_care=True, created_at=now),
            Customer(telegram_user_id=503, chat_id=503, first_name="No", created_at=now),
        ]  # fmt: skip
        session.add_all(people)
        await session.flush()
        return [p.id for p in people]


async def campaigns(sessionmaker: async_sessionmaker[AsyncSession]) -> list[Campaign]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(Campaign).order_by(Campaign.id))).all())


async def outbox(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[int, Outbox]:
    async with sessionmaker() as session:
        return {row.customer_id: row for row in await session.scalars(select(Outbox))}


async def test_help_names_the_campaign_and_purchase_commands(carebot: Carebot) -> None:
    for command, phrase in {
        ("campaign", "new"): "--occasion",
        ("campaign", "edit"): "--audience",
        ("campaign", "approve"): "outbox",
        ("campaign", "status"): "unconfirmed",
        ("purchase", "add"): "CUSTOMER_ID",
    }.items():
        result = await carebot(*command, "--help")
        assert result.exit_code == 0, command
        assert phrase in result.output, command


async def test_an_occasion_campaign_from_draft_to_planned(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    xiaohong, emma, opted_out = await add_customers(sessionmaker)
    christmas = date(later(0).year, 12, 25)
    if christmas < later(0):
        christmas = date(christmas.year + 1, 12, 25)

    made = await carebot("campaign", "new", "--occasion", "圣诞节", "--at", "10:00")

    assert made.exit_code == 0, made.output
    [campaign] = await campaigns(sessionmaker)
    assert (campaign.occasion, campaign.send_on, campaign.send_at_local) == (
        "christmas", christmas, "10:00"
    )  # fmt: skip
    assert campaign.status == "draft"
    assert f"#{campaign.id} Christmas {christmas.year} (occasion christmas)" in made.stdout
    assert "reaches 2 customers now" in made.stdout
    occasion = {"zh_CN": "圣诞节", "en": "Christmas"}
    sample = {"zh_CN": "小明", "en": "Alex"}  # the sample customer, not a raw "{name}"
    for locale in ("zh_CN", "en"):
        values = {"name": sample[locale], "company": "carebot", "occasion": occasion[locale]}
        assert BOOK.render("christmas", locale, values) in made.stdout
        assert f"--- {locale}, as a customer named {sample[locale]} gets it ---" in made.stdout
    assert "{name}" not in made.stdout
    shown = await carebot("campaign", "preview", str(campaign.id))
    assert shown.exit_code == 0, shown.output
    assert BOOK.render("christmas", "zh_CN", {"name": "小明", "company": "carebot"}) in shown.stdout
    assert "{name}" not in shown.stdout
    assert await outbox(sessionmaker) == {}

    preview = await carebot("campaign", "preview", str(campaign.id), "--customer", str(emma))
    assert preview.exit_code == 0, preview.output
    values = {"name": "Emma", "company": "carebot", "occasion": "Christmas"}
    assert BOOK.render("christmas", "en", values) in preview.stdout
    outside = await carebot("campaign", "preview", str(campaign.id), "--customer", "tg:503")
    assert "not in the audience" in outside.stderr

    approved = await carebot("campaign", "approve", str(campaign.id))

    assert approved.exit_code == 0, approved.output
    assert "2 messages planned" in approved.stdout
    rows = await outbox(sessionmaker)
    assert set(rows) == {xiaohong, emma}
    local = datetime(christmas.year, 12, 25, 10, 0)
    assert rows[xiaohong].due_at == local.replace(tzinfo=TZ).astimezone(UTC)
    assert rows[emma].due_at == local.replace(tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
    assert opted_out not in rows

    status = await carebot("campaign", "status", str(campaign.id))
    assert status.exit_code == 0
    counts = {row[0]: row[1] for row in table_rows(status.stdout)}
    assert counts == {
        "planned": "2", "sent": "0", "pending": "2", "failed": "0", "blocked": "0",
        "skipped": "0", "unconfirmed": "0",
    }  # fmt: skip

    listing = await carebot("campaign", "list")
    [row] = table_rows(listing.stdout)
    assert row[0] == str(campaign.id) and row[5] == "approved" and row[6] == "2"

    cancelled = await carebot("campaign", "cancel", str(campaign.id))
    assert "2 messages will not be sent" in cancelled.stdout
    assert {row.state for row in (await outbox(sessionmaker)).values()} == {"cancelled"}
    again = await carebot("campaign", "approve", str(campaign.id))
    assert again.exit_code == 1
    assert again.stderr.strip() == (
        f"Campaign {campaign.id} not approved: the campaign was cancelled; make a new one."
    )


async def test_status_says_why_messages_were_skipped(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    xiaohong, _emma, _opted_out = await add_customers(sessionmaker)
    made = await carebot(
        "campaign", "new", "--text-zh", "周年庆：全场九折！", "--on", str(later(3))
    )
    assert made.exit_code == 0, made.output
    [campaign] = await campaigns(sessionmaker)
    assert (await carebot("campaign", "approve", str(campaign.id))).exit_code == 0
    async with sessionmaker.begin() as session:
        for row in await session.scalars(select(Outbox)):
            row.state = "skipped"
            row.last_error = "opted_out" if row.customer_id == xiaohong else "no_longer_applies"

    status = await carebot("campaign", "status", str(campaign.id))

    assert status.exit_code == 0, status.output
    counts = {row[0]: row[1] for row in table_rows(status.stdout)}
    assert counts["skipped"] == "2"
    assert (counts["opted_out"], counts["no_longer_applies"]) == ("1", "1")


async def test_a_text_campaign_in_one_language_serves_both(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    day = later(10)
    made = await carebot(
        "campaign", "new", "--text-zh", "周年庆：全场九折！", "--audience", "quiet:30",
        "--on", day.isoformat(),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    [campaign] = await campaigns(sessionmaker)
    assert campaign.texts == {"zh_CN": "周年庆：全场九折！", "en": "周年庆：全场九折！"}
    assert campaign.audience == {"kind": "quiet", "days": 30}
    assert campaign.name == "周年庆：全场九折！"


async def test_a_draft_is_edited_then_approved_as_edited_and_no_longer_edited(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    xiaohong, _emma, _opted_out = await add_customers(sessionmaker)
    async with sessionmaker.begin() as session:
        session.add(CustomerTag(customer_id=xiaohong, tag="vip"))
    day = later(5)
    made = await carebot("campaign", "new", "--occasion", "christmas")
    assert made.exit_code == 0, made.output
    [campaign] = await campaigns(sessionmaker)

    edited = await carebot(
        "campaign", "edit", str(campaign.id), "--audience", "tag:vip", "--day", day.isoformat(),
        "--time", "10:30", "--text", "Dear VIPs, thank you!",
    )  # fmt: skip

    assert edited.exit_code == 0, edited.output
    assert f"Changed #{campaign.id} Dear VIPs, thank you! (own text)" in edited.stdout
    assert "audience tag:vip: draft; it reaches 1 customers now" in edited.stdout
    assert edited.stdout.count("Dear VIPs, thank you!") == 3  # the line and both languages
    [campaign] = await campaigns(sessionmaker)
    assert (campaign.occasion, campaign.send_on, campaign.send_at_local) == (None, day, "10:30")
    assert campaign.texts == {"zh_CN": "Dear VIPs, thank you!", "en": "Dear VIPs, thank you!"}
    assert campaign.audience == {"kind": "tag", "tag": "vip"}
    assert campaign.edited_at is not None and campaign.edited_by is None
    assert campaign.status == "draft" and await outbox(sessionmaker) == {}

    approved = await carebot("campaign", "approve", str(campaign.id))
    assert approved.exit_code == 0, approved.output
    rows = await outbox(sessionmaker)
    assert set(rows) == {xiaohong}
    local = datetime(day.year, day.month, day.day, 10, 30, tzinfo=TZ)
    assert rows[xiaohong].due_at == local.astimezone(UTC)

    again = await carebot("campaign", "edit", str(campaign.id), "--audience", "all")
    assert again.exit_code == 1
    assert again.stderr.strip() == (
        f"Campaign {campaign.id} not changed: the campaign is approved and its messages are "
        "planned, so it can no longer be edited; cancel it and make a new one."
    )
    [campaign] = await campaigns(sessionmaker)
    assert campaign.audience == {"kind": "tag", "tag": "vip"}


async def test_an_edit_back_to_an_occasion_and_bad_edits(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    day = later(10)
    made = await carebot("campaign", "new", "--text-en", "Sale!", "--on", day.isoformat())
    assert made.exit_code == 0, made.output
    [campaign] = await campaigns(sessionmaker)
    edit = ("campaign", "edit", str(campaign.id))
    cases = [
        (edit, 2, "Nothing to change"),
        ((*edit, "--time", "9am"), 2, "not a time like 09:00"),
        ((*edit, "--day", "soon"), 2, "not a day like"),
        ((*edit, "--audience", "vip"), 2, "not an audience"),
        ((*edit, "--occasion", "banana"), 2, "no occasion 'banana'"),
        ((*edit, "--occasion", "christmas", "--text", "Hi"), 2, "not both"),
        ((*edit, "--day", "2020-01-01"), 1, "2020-01-01 is already over (today is"),
        ((*edit, "--time", "22:00"), 1, "22:00 is inside the quiet hours (21:00-08:00"),
        (("campaign", "edit", "42", "--time", "10:00"), 1, "No campaign 42."),
    ]
    for args, code, phrase in cases:
        result = await carebot(*args)
        assert result.exit_code == code, (args, result.output)
        assert phrase in result.output.replace("\n", " "), (args, result.output)
    [unchanged] = await campaigns(sessionmaker)
    assert (unchanged.send_on, unchanged.edited_at) == (day, None)

    christmas = await carebot(*edit, "--occasion", "圣诞节", "--on", day.isoformat())

    assert christmas.exit_code == 0, christmas.output
    [campaign] = await campaigns(sessionmaker)
    assert (campaign.occasion, campaign.texts, campaign.send_on) == ("christmas", None, day)
    assert campaign.name == f"Christmas {day.year}"
    values = {"name": "Alex", "company": "carebot", "occasion": "Christmas"}
    assert BOOK.render("christmas", "en", values) in christmas.stdout


async def test_bad_campaign_input_is_one_clear_line(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    cases = [
        (("campaign", "new"), 2, "give --occasion, or the text"),
        (("campaign", "new", "--occasion", "christmas", "--text-en", "Hi"), 2, "not both"),
        (("campaign", "new", "--occasion", "banana"), 2, "no occasion 'banana'"),
        (("campaign", "new", "--text-en", "Hi"), 2, "a text campaign needs its day"),
        (("campaign", "new", "--occasion", "christmas", "--audience", "vip"), 2, "not an audience"),
        (("campaign", "new", "--occasion", "christmas", "--at", "9am"), 2, "not a time like 09:00"),
        (("campaign", "new", "--occasion", "christmas", "--on", "soon"), 2, "not a day like"),
        (("campaign", "new", "--text-en", "Hi", "--on", "2020-01-01"), 1, "already over"),
        (("campaign", "approve", "42"), 1, "No campaign 42."),
        (("campaign", "status", "42"), 1, "No campaign 42."),
        (("campaign", "preview", "42"), 1, "No campaign 42."),
        (("purchase", "add", "42", "--at", "2026-01-01"), 1, "no customer 42"),
        (("purchase", "add", "1", "--at", "yesterday"), 2, "is not a day"),
    ]
    for args, code, phrase in cases:
        result = await carebot(*args)
        assert result.exit_code == code, (args, result.output)
        assert phrase in result.output.replace("\n", " "), (args, result.output)
    assert await campaigns(sessionmaker) == []


async def test_purchase_add_records_it_for_the_follow_up(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    [customer, *_] = await add_customers(sessionmaker)

    added = await carebot(
        "purchase", "add", "tg:501", "--at", "2026-09-18", "--product", "Kettle",
        "--reference", "A-17",
    )  # fmt: skip

    assert added.exit_code == 0, added.output
    assert "follow-up goes out 7 days later" in added.stdout
    async with sessionmaker() as session:
        [purchase] = (await session.scalars(select(Purchase))).all()
    assert purchase.customer_id == customer
    assert (purchase.product, purchase.reference) == ("Kettle", "A-17")
    assert purchase.purchased_at == datetime(2026, 9, 18, 4, 0, tzinfo=UTC)  # noon in Shanghai
    future = await carebot("purchase", "add", str(customer), "--at", later(3).isoformat())
    assert future.exit_code == 1
    assert future.stderr.strip() == "No purchase recorded: the purchase is in the future."


async def test_followups_counts_by_rule_and_lists_the_unconfirmed(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    assert "No follow-ups or greetings are due" in (await carebot("followups")).output
    async with sessionmaker.begin() as session:
        lin = Customer(first_name="林", created_at=now)
        session.add(lin)
        await session.flush()
        for n, (rule, state, reason, days) in enumerate(
            (
                ("after_purchase", "sent", None, -1),
                ("after_purchase", "skipped", "opted_out", -2),
                ("birthday", "unconfirmed", "in flight when the sender stopped", -1),
                ("win_back", "pending", None, 20),  # beyond --days 7
            )
        ):
            session.add(
                Outbox(
                    customer_id=lin.id, rule=rule, template=rule, dedupe_key=f"{rule}:{n}",
                    due_at=now + timedelta(days=days), state=state, last_error=reason,
                )
            )  # fmt: skip
        lin_id = lin.id

    result = await carebot("followups", "--days", "7")

    assert result.exit_code == 0, result.output
    rows = table_rows(result.output)
    # Columns: the states found, in OutboxState's order (sent, skipped, unconfirmed).
    assert ["after_purchase", "1", "1", "0"] in rows
    assert ["birthday", "0", "0", "1"] in rows
    assert "win_back" not in result.output
    assert "skipped, opted_out: 1" in result.output
    assert any(row[1:4] == [str(lin_id), "林", "birthday"] for row in rows), rows
    assert (await carebot("followups", "--days", "0")).exit_code == 2


async def test_a_new_campaign_at_a_quiet_hour_or_on_a_past_day_is_refused_with_the_reason(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """``--at 22:00`` used to move every greeting to the next morning, after the day, and
    a day that had passed in CAREBOT_TIMEZONE was accepted and sent today."""
    late = await carebot("campaign", "new", "--occasion", "mid_autumn", "--at", "22:00")
    assert late.exit_code == 1, late.output
    assert late.stderr.replace("\n", " ").startswith(
        "No campaign made: 22:00 is inside the quiet hours (21:00-08:00, CAREBOT_QUIET_HOURS)"
    )
    yesterday = later(-1).isoformat()
    past = await carebot("campaign", "new", "--text-en", "Sale!", "--on", yesterday)
    assert past.exit_code == 1, past.output
    assert past.stderr.replace("\n", " ").startswith(
        f"No campaign made: {yesterday} is already over (today is {later(0).isoformat()})"
    )
    assert await campaigns(sessionmaker) == []


async def test_followups_shows_the_follow_ups_coming_up(
    carebot: Carebot, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Only a day's follow-ups are in the outbox; the rest are counted from the rules."""
    async with sessionmaker.begin() as session:
        session.add(
            Customer(first_name="林", chat_id=601, consent_care=True, created_at=datetime.now(UTC))
        )
    week = later(7).isoformat()

    result = await carebot("followups", "--days", "7")

    assert result.exit_code == 0, result.output
    assert "No follow-ups or greetings are due" in result.output
    assert f"coming up, after_first_contact: 1 ({week} – {week})" in result.output
    assert "coming up" not in (await carebot("followups", "--days", "6")).output
