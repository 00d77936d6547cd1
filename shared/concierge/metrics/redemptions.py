"""Orders placed at the storefront, as the KPIs and the offers' report count them.

- An order placed with a discount code the assistant issued: the code is used once, and `discount.redeemed` is
  published so the revenue AI offers bring is counted (POST /v1/discounts/{code}/redemptions, called by the storefront
  for its signed-in customer when the order is placed).
- Any order (POST /v1/orders, called for every order of a signed-in customer): `order.placed`, from which the offers'
  holdout comparison counts conversion, revenue and retention in both groups alike (offers/ledger.py). Without it the
  report shows what was presented, accepted and redeemed, and no lift.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from concierge.offers.issuing import offer_of
from concierge.platform.errors import Conflict, Gone, NotFound
from concierge.platform.events import DiscountRedeemed, EventPublisher, OrderPlaced
from concierge.store.commerce import CommerceBackend, DiscountRefused

# What a redemption is refused with (the HTTP route documents them from here).
UNKNOWN_CODE = "Unknown discount code for this customer."  # also someone else's code: the two are not told apart
CODE_EXPIRED = "This discount code has expired."
CODE_USED = "This discount code was already used."


class RedemptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=64, description="the storefront's order id")
    order_total: Decimal = Field(
        ge=0, max_digits=12, decimal_places=2, description="what the customer paid, after the discount"
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. USD")


class OrderRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=64, description="the storefront's order id")
    order_total: Decimal = Field(ge=0, max_digits=12, decimal_places=2, description="what the customer paid")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. USD")


class OrderRecorded(BaseModel):
    order_id: str
    recorded_at: datetime


def record_order(customer_id: str, request: OrderRequest, events: EventPublisher, at: datetime) -> OrderRecorded:
    """`order.placed` on the bus; the roll-up attributes it, once per customer and order id (its marker is made of
    them, not of the event's id: a storefront calling twice for one order is counted once)."""
    events.publish(
        OrderPlaced(
            occurred_at=at,
            customer_id=customer_id,
            order_id=request.order_id,
            order_total=request.order_total,
            currency=request.currency,
        )
    )
    return OrderRecorded(order_id=request.order_id, recorded_at=at)


class Redemption(BaseModel):
    code: str
    order_id: str
    conversation_id: str = Field(description="the conversation that issued the code (the revenue is attributed to it)")
    percent: int | None = Field(None, description="the percentage off; None for an amount off")
    amount_off: Decimal | None = Field(None, description="the amount off, in the discount's currency")
    free_trial_days: int | None = Field(None, description="a free trial's days; the order is the trial's start")
    redeemed_at: datetime


def redeem(
    code: str,
    customer_id: str,
    request: RedemptionRequest,
    store: CommerceBackend,
    events: EventPublisher,
    at: datetime,
) -> Redemption:
    try:
        discount = store.redeem_discount(code, customer_id, request.order_id, at)
    except DiscountRefused as refused:
        if refused.reason in ("unknown_code", "not_yours"):  # someone else's code reads as unknown, as conversations do
            raise NotFound(UNKNOWN_CODE) from refused
        if refused.reason == "expired":
            raise Gone(CODE_EXPIRED) from refused
        raise Conflict(CODE_USED) from refused
    events.publish(
        DiscountRedeemed(
            occurred_at=at,
            code=code,
            conversation_id=discount.conversation_id,
            customer_id=customer_id,
            order_id=request.order_id,
            order_total=request.order_total,
            currency=request.currency,
            percent=discount.percent,
            amount_off=discount.amount_off,
            free_trial_days=discount.free_trial_days,
            offer_id=offer_of(discount.reason),
        )
    )
    return Redemption(
        code=code,
        order_id=request.order_id,
        conversation_id=discount.conversation_id,
        percent=discount.percent,
        amount_off=discount.amount_off,
        free_trial_days=discount.free_trial_days,
        redeemed_at=at,
    )
