"""``carebot purchase add``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import (
    cli_settings,
    clock,
    fail,
    in_transaction,
    out,
    purchase_app,
)
from care.purchases import (
    MAX_PRODUCT,
    MAX_REFERENCE,
    PurchaseError,
    PurchaseProblem,
    record_purchase,
)
from care.records import find_customer_id

# What --at takes: a day, or a day and a local time.
_MOMENT_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


_PURCHASE_PROBLEMS: dict[PurchaseProblem, str] = {
    PurchaseProblem.NO_SUCH_CUSTOMER: "no such customer",
    PurchaseProblem.FORGOTTEN: "the customer asked to be forgotten",
    PurchaseProblem.IN_THE_FUTURE: "the purchase is in the future",
    PurchaseProblem.BAD_AMOUNT: "the amount must be at least 0 and less than 10^12",
    PurchaseProblem.TOO_LONG: (
        f"the product (at most {MAX_PRODUCT} characters) or the reference "
        f"(at most {MAX_REFERENCE}) is too long"
    ),
}


def _purchase_moment(text: str, timezone: str) -> datetime:
    """A day (taken at noon, so every time zone agrees on the day) or a day and time, in
    CAREBOT_TIMEZONE."""
    for layout in _MOMENT_FORMATS:
        try:
            moment = datetime.strptime(text.strip(), layout)
        except ValueError:
            continue
        if layout == "%Y-%m-%d":
            moment = moment.replace(hour=12)
        return moment.replace(tzinfo=ZoneInfo(timezone))
    raise typer.BadParameter(
        f"{text!r} is not a day (2026-09-18) or a day and time (2026-09-18 14:30)",
        param_hint="--at",
    )


def _amount(text: str) -> Decimal:
    try:
        worth = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        worth = Decimal("NaN")
    if not worth.is_finite():
        raise typer.BadParameter(f"{text!r} is not an amount (1299.00)", param_hint="--amount")
    return worth


@purchase_app.command("add")
def purchase_add(
    customer: Annotated[
        str,
        typer.Argument(
            metavar="CUSTOMER_ID",
            help="Our customer id (17) or, with tg:, a Telegram user id (tg:123456).",
        ),
    ],
    at: Annotated[
        str,
        typer.Option(
            "--at",
            metavar="DATE",
            help="When it was bought: 2026-09-18, or 2026-09-18 14:30 (CAREBOT_TIMEZONE).",
        ),
    ],
    product: Annotated[str | None, typer.Option("--product", "-p", help="What was bought.")] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", "-r", help="An order number or similar.")
    ] = None,
    amount: Annotated[
        str | None,
        typer.Option(
            "--amount", "-a", metavar="AMOUNT", help="What it was worth (1299.00), for segments."
        ),
    ] = None,
) -> None:
    """Record a customer's purchase; the bot asks after it some days later."""
    settings = cli_settings()
    purchased_at = _purchase_moment(at, settings.timezone)
    now = clock().now()
    worth = _amount(amount) if amount is not None else None

    async def work(session: AsyncSession) -> int | None:
        customer_id = await find_customer_id(session, customer)
        if customer_id is None:
            return None
        purchase = await record_purchase(
            session, customer_id, purchased_at, product, reference, now,
            amount=worth, segment_rules=settings.segment_rules(),
        )  # fmt: skip
        return purchase.id

    try:
        purchase_id = in_transaction(settings, work)
    except ValueError as exc:
        if isinstance(exc, PurchaseError):
            fail(f"No purchase recorded: {_PURCHASE_PROBLEMS[exc.problem]}.")
        raise typer.BadParameter(str(exc), param_hint="CUSTOMER_ID") from None
    if purchase_id is None:
        fail(f"No purchase recorded: no customer {customer.strip()}.")
    days = settings.followup_after_purchase_days
    follow_up = f"; the follow-up goes out {days} days later" if days is not None else ""
    out().print(f"Purchase {purchase_id} recorded for customer {customer.strip()}{follow_up}.")
